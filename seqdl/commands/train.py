"""``seqdl train``: train a character- or word-level LSTM language model on a text file."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command("train")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("model.npz"),
              show_default=True, help="Model file to write (rewritten after every epoch).")
@click.option("--level", type=click.Choice(["char", "word"]), default="char", show_default=True,
              help="Model characters, or words and newlines.")
@click.option("--hidden", type=click.IntRange(min=1), default=256, show_default=True, help="LSTM hidden size.")
@click.option("--embedding", type=click.IntRange(min=1), default=64, show_default=True, help="Embedding size.")
@click.option("--layers", type=click.IntRange(min=1), default=1, show_default=True, help="Stacked LSTM layers.")
@click.option("--seq-len", type=click.IntRange(min=1), default=64, show_default=True,
              help="Tokens per truncated-BPTT window.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Parallel streams through the corpus.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-3, show_default=True,
              help="Adam learning rate.")
@click.option("--clip", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Clip gradients to this global norm.")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True,
              help="Passes over the corpus (ignored with --steps).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Stop after this many updates instead.")
@click.option("--val-fraction", type=click.FloatRange(min=0, max=1, max_open=True), default=0.1, show_default=True,
              help="Tail of the corpus held out for the validation loss.")
@click.option("--max-words", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Word level: keep the N most frequent words, the rest become <unk>.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Training threads (batch rows split between them)  [default: all cores]")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed for the initial weights.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def train_command(corpus: Path, output: Path, level: str, hidden: int, embedding: int, layers: int, seq_len: int,
                  batch_size: int, lr: float, clip: float, epochs: int, steps: int | None, val_fraction: float,
                  max_words: int, workers: int | None, seed: int | None, as_json: bool, quiet: bool) -> None:
    """Train an LSTM language model on CORPUS, a UTF-8 text file, and save it to OUTPUT.

    Truncated BPTT over contiguous streams with Adam and gradient clipping;
    progress with loss and tokens/s on stderr. Then 'seqdl generate' writes
    text with it.
    """
    from ..errors import InputError
    from ..lm.fit import fit_corpus
    from ..lm.training import TrainConfig

    if not output.parent.is_dir():
        raise InputError("the output folder does not exist", path=str(output.parent))
    workers = workers or os.cpu_count() or 1
    config = TrainConfig(seq_len=seq_len, batch_size=batch_size, lr=lr, clip=clip, epochs=epochs, steps=steps,
                         workers=workers)
    report = None if quiet else (lambda line: click.echo(line, err=True))
    model, history = fit_corpus(corpus, output, level=level, embedding_dim=embedding, hidden_size=hidden,
                                num_layers=layers, config=config, val_fraction=val_fraction, max_words=max_words,
                                seed=seed, report=report)
    if as_json:
        import json

        click.echo(json.dumps({"output": str(output), "level": level, "vocab_size": model.vocab_size,
                               "steps": history.steps, "train_loss": history.train_loss,
                               "val_loss": history.val_loss, "tokens_per_second": history.tokens_per_second}))
    if not quiet:
        val = f", val loss {history.val_loss[-1]:.4f}" if history.val_loss else ""
        click.echo(f"wrote {output}: {level} model, vocabulary {model.vocab_size}, {history.steps} steps, "
                   f"train loss {history.train_loss[-1]:.4f}{val}", err=True)
