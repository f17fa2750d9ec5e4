"""``seqdl embed``: train word2vec on a text file and write the vectors in word2vec format."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.command("embed")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("vectors.vec"),
              show_default=True, help="Vectors file to write (word2vec format).")
@click.option("--model", type=click.Choice(["skipgram", "cbow"]), default="skipgram", show_default=True)
@click.option("--loss", type=click.Choice(["negative", "sampled-softmax", "softmax"]), default="negative",
              show_default=True, help="Output layer; full softmax is a reference for small vocabularies.")
@click.option("--dim", type=click.IntRange(min=1), default=100, show_default=True, help="Vector dimension.")
@click.option("--window", type=click.IntRange(min=1), default=5, show_default=True,
              help="Largest distance to a context word.")
@click.option("--negative", type=click.IntRange(min=1), default=5, show_default=True,
              help="Noise words per prediction, or the candidate-set size of the sampled softmax.")
@click.option("--min-count", type=click.IntRange(min=1), default=5, show_default=True,
              help="Ignore words seen fewer times.")
@click.option("--max-vocab", type=click.IntRange(min=1), default=None, help="Keep only the N most frequent words.")
@click.option("--sample", type=click.FloatRange(min=0), default=1e-3, show_default=True,
              help="Subsampling threshold for frequent words (0: off).")
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Starting learning rate  [default: 0.025 skip-gram, 0.05 CBOW]")
@click.option("--min-alpha", type=click.FloatRange(min=0), default=1e-4, show_default=True,
              help="Final learning rate (linear decay over all epochs).")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Training threads  [default: all cores]")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Random seed; with --workers 1 the vectors are identical run to run.")
@click.option("--lowercase/--no-lowercase", default=True, show_default=True, help="Lowercase the text.")
@click.option("--format", "file_format", type=click.Choice(["text", "binary"]), default=None,
              help="Output format  [default: binary for a .bin OUTPUT, else text]")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def embed_command(corpus: Path, output: Path, model: str, loss: str, dim: int, window: int, negative: int,
                  min_count: int, max_vocab: int | None, sample: float, alpha: float | None, min_alpha: float,
                  epochs: int, workers: int | None, seed: int, lowercase: bool, file_format: str | None,
                  as_json: bool, quiet: bool) -> None:
    """Train word2vec (skip-gram or CBOW) on CORPUS, a UTF-8 text file with one sentence per line.

    Writes OUTPUT in word2vec text or binary format, which gensim, fastText
    and 'seqdl analogy' read.
    """
    from ..embeddings.formats import guess_binary
    from ..embeddings.word2vec import Word2Vec
    from ..errors import InputError

    if not output.parent.is_dir():  # checked now, not after training
        raise InputError("the output folder does not exist", path=str(output.parent))
    binary = guess_binary(output) if file_format is None else file_format == "binary"
    w2v = Word2Vec(model=model, loss=loss, dim=dim, window=window, negative=negative, min_count=min_count,
                   max_vocab=max_vocab, sample=sample, alpha=alpha, min_alpha=min_alpha, epochs=epochs,
                   workers=workers, seed=seed, lowercase=lowercase)
    bar = None if quiet else ProgressLine()
    started = time.perf_counter()
    w2v.train(corpus, progress=bar)
    if bar is not None:
        bar.close()
    w2v.wv.save_word2vec_format(output, binary=binary)
    seconds = time.perf_counter() - started
    if not any(w2v.predictions_per_epoch):
        click.echo("Warning: no word had a context word to learn from (one-word sentences, or a corpus so "
                   "small that subsampling kept almost nothing: try --sample 0); the vectors are untrained",
                   err=True)
    if as_json:
        import json

        click.echo(json.dumps({
            "output": str(output), "format": "binary" if binary else "text", "words": len(w2v.wv),
            "dim": dim, "loss_history": w2v.loss_history, "words_per_second": w2v.words_per_second,
            "seconds": seconds}))
    if not quiet:
        click.echo(f"wrote {len(w2v.wv):,} vectors of dimension {dim} to {output} "
                   f"({w2v.words_per_second:,.0f} words/s, final loss {w2v.loss_history[-1]:.4f})", err=True)


class ProgressLine:
    """Progress on stderr: a bar redrawn in place on a terminal, else a line per 10%."""

    WIDTH = 24

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.last_decile = -1
        self.loss = float("nan")

    def __call__(self, progress) -> None:
        if progress.loss == progress.loss:
            self.loss = progress.loss
        fraction = progress.words_done / max(progress.words_total, 1)
        filled = int(fraction * self.WIDTH)
        line = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%}  epoch {progress.epoch}/{progress.epochs}"
        if progress.words_done:  # before the first job finishes there is no rate, loss or ETA to show
            remaining = (progress.words_total - progress.words_done) / max(progress.words_per_second, 1e-9)
            line += f"  {progress.words_per_second:,.0f} words/s  loss {self.loss:.4f}  ETA {remaining:.0f}s"
        if self.tty:
            self.stream.write("\r" + line)
            self.stream.flush()
        elif int(fraction * 10) > self.last_decile:
            self.last_decile = int(fraction * 10)
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line on a terminal."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
