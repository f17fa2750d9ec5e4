"""``seqdl train``: train a character- or word-level language model on a text file, resumably."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..options import FiniteFloat, json_option, quiet_option, seed_option, workers_option

#: Architecture options: model keyword -> flag. On --resume they must match the checkpoint.
ARCH_FLAGS = {"embedding_dim": "--embedding", "hidden_size": "--hidden", "num_layers": "--layers", "cell": "--cell",
              "dropout": "--dropout", "tie_weights": "--tie-weights"}
#: Training options that fix the data order and optimiser state: on --resume they must match too.
FIXED_FLAGS = {"seq_len": "--seq-len", "batch_size": "--batch-size", "optimizer": "--optimizer", "loss": "--loss",
               "negative": "--negative"}
#: Training options a resumed run may change (the rest come from the checkpoint unless given).
FREE_FLAGS = {"lr": "--lr", "clip": "--clip", "epochs": "--epochs", "steps": "--steps", "weight_decay": "--weight-decay",
              "lr_schedule": "--lr-schedule", "warmup": "--warmup", "eval_every": "--eval-every",
              "patience": "--patience", "sample_every": "--sample-every"}


@click.command("train")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("model.npz"),
              show_default=True, help="Model file to write (rewritten after every epoch).")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Resumable checkpoint, written after every epoch and on Ctrl-C/SIGTERM  "
                   "[default: OUTPUT with .ckpt.npz]")
@click.option("--resume", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Continue the run saved in this checkpoint (same corpus; --steps/--epochs count from its start).")
@click.option("--level", type=click.Choice(["char", "word"]), default="char", show_default=True,
              help="Model characters, or words and newlines.")
@click.option("--cell", type=click.Choice(["lstm", "gru", "rnn"]), default="lstm", show_default=True,
              help="Recurrent cell.")
@click.option("--hidden", type=click.IntRange(min=1), default=256, show_default=True, help="Recurrent hidden size.")
@click.option("--embedding", type=click.IntRange(min=1), default=64, show_default=True, help="Embedding size.")
@click.option("--layers", type=click.IntRange(min=1), default=1, show_default=True, help="Stacked recurrent layers.")
@click.option("--dropout", type=FiniteFloat(min=0, max=1, max_open=True), default=0.0, show_default=True,
              help="Dropout between layers while training, in [0, 1).")
@click.option("--tie-weights", is_flag=True, help="Share the embedding and output weights (needs --embedding = --hidden).")
@click.option("--seq-len", type=click.IntRange(min=1), default=64, show_default=True,
              help="Tokens per truncated-BPTT window.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Parallel streams through the corpus.")
@click.option("--optimizer", type=click.Choice(["adam", "adamw", "sgd", "rmsprop"]), default="adam",
              show_default=True, help="Update rule (torch.optim's, with its defaults).")
@click.option("--loss", type=click.Choice(["full", "sampled-softmax"]), default="full", show_default=True,
              help="Word level: sampled-softmax scores the targets and --negative noise words per update "
                   "(validation stays the full softmax).")
@click.option("--negative", type=click.IntRange(min=1), default=None,
              help="Noise words per update for --loss sampled-softmax.")
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=2e-3, show_default=True,
              help="Peak learning rate.")
@click.option("--weight-decay", type=FiniteFloat(min=0), default=None,
              help="Weight decay  [default: the optimiser's, 0.01 for adamw, else 0]")
@click.option("--lr-schedule", type=click.Choice(["constant", "cosine", "step"]), default="constant",
              show_default=True, help="cosine: nanoGPT's, down to lr/10; step: x0.1 after each third of the run.")
@click.option("--warmup", type=click.IntRange(min=0), default=0, show_default=True,
              help="Updates of linear learning-rate warmup.")
@click.option("--clip", type=FiniteFloat(min=0, min_open=True), default=5.0, show_default=True,
              help="Clip gradients to this global norm.")
@click.option("--epochs", type=click.IntRange(min=1), default=5, show_default=True,
              help="Passes over the corpus (ignored with --steps).")
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Stop after this many updates instead.")
@click.option("--eval-every", type=click.IntRange(min=1), default=None,
              help="Also compute the validation loss every N updates.")
@click.option("--patience", type=click.IntRange(min=1), default=None,
              help="Stop after K validations in a row without a new best; OUTPUT is the best model.")
@click.option("--sample-every", type=click.IntRange(min=1), default=None,
              help="Show a 100-token sample (temperature 0.8, from the start of a line) every N updates.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the training and validation loss curves to this .png (needs matplotlib).")
@click.option("--val-fraction", type=FiniteFloat(min=0, max=1, max_open=True), default=0.1, show_default=True,
              help="Tail of the corpus held out for the validation loss.")
@click.option("--max-vocab", "--max-words", "max_vocab", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Word level: keep the N most frequent words, the rest become <unk>.")
@workers_option("Training threads (batch rows split between them)  [default: all cores]")
@seed_option("Random seed: initial weights, dropout masks, noise words, --sample-every's samples.")
@json_option
@quiet_option
@click.pass_context
def train_command(ctx: click.Context, corpus: Path, output: Path, checkpoint: Path | None, resume: Path | None,
                  level: str, cell: str, hidden: int, embedding: int, layers: int, dropout: float, tie_weights: bool,
                  seq_len: int, batch_size: int, optimizer: str, loss: str, negative: int | None, lr: float,
                  weight_decay: float | None,
                  lr_schedule: str, warmup: int, clip: float, epochs: int, steps: int | None,
                  eval_every: int | None, patience: int | None, sample_every: int | None, plot: Path | None,
                  val_fraction: float,
                  max_vocab: int, workers: int | None,
                  seed: int | None, as_json: bool, quiet: bool) -> None:
    """Train a recurrent language model on CORPUS, a UTF-8 text file, and save it to OUTPUT.

    Truncated BPTT over contiguous streams with gradient clipping; progress
    with loss and tokens/s on stderr. A checkpoint is kept so that an
    interrupted run (Ctrl-C, SIGTERM) continues exactly with --resume. Then
    'seqdl generate' writes text with the model and 'seqdl evaluate
    perplexity' scores it.
    """
    from ..io import check_input, check_output, to_json
    from ..lm.checkpoint import Checkpoint
    from ..lm.pipeline import fit_corpus
    from ..lm.training import TrainConfig
    from ..progress import Progress

    given = {name for name in ctx.params
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}
    check_input(corpus, "corpus file")
    checkpoint = checkpoint or output.with_name(output.name.removesuffix(".npz") + ".ckpt.npz")
    extra = [plot] if plot is not None else []
    check_output(output, inputs=[corpus] + ([resume] if resume else []), others=[checkpoint, *extra])
    check_output(checkpoint, inputs=[corpus], others=[output, *extra])
    if plot is not None:
        _check_plot(plot, inputs=[corpus] + ([resume] if resume else []), others=[output, checkpoint])
    params = dict(ctx.params)
    arch = {"embedding_dim": embedding, "hidden_size": hidden, "num_layers": layers, "cell": cell,
            "dropout": dropout, "tie_weights": tie_weights}
    resumed = None
    if resume is not None:
        resumed = Checkpoint(resume)
        _merge_resume(resumed, params, arch, given, level, val_fraction)
    _check_loss(params, level if resumed is None else resumed.header["model"].get("level"))
    model_options = _model_options(arch)
    config = TrainConfig(seq_len=params["seq_len"], batch_size=params["batch_size"], lr=params["lr"],
                         clip=params["clip"], epochs=params["epochs"], steps=params["steps"],
                         workers=workers or os.cpu_count() or 1, optimizer=params["optimizer"],
                         weight_decay=params["weight_decay"], lr_schedule=params["lr_schedule"],
                         warmup=params["warmup"], eval_every=params["eval_every"],
                         patience=params["patience"], sample_every=params["sample_every"],
                         sample_seed=_sample_seed(seed, resumed), loss=params["loss"],
                         negative=params["negative"])
    if config.sample_every:
        from ..generation import make_decoder

        make_decoder("sample", {})  # the sampling plugin is there, before any training
    run = {}
    with Progress(unit="steps", desc="train", quiet=quiet) as progress:
        try:
            model, history = fit_corpus(corpus, output, level=level, model_options=model_options, config=config,
                                        val_fraction=params["val_fraction"], max_words=max_vocab, seed=seed,
                                        progress=progress, checkpoint=checkpoint, resume=resumed,
                                        on_ready=lambda trainer: run.update(trainer=trainer))
        except KeyboardInterrupt:
            if "trainer" in run and plot is not None:
                _write_plot(plot, run["trainer"].history, corpus)
            if "trainer" in run:
                click.echo(f"Saved the run at step {run['trainer'].steps} to {checkpoint}; continue it with: "
                           f"seqdl train {corpus} -o {output} --resume {checkpoint}", err=True)
            raise
    if plot is not None:
        _write_plot(plot, history, corpus)
    if as_json:
        click.echo(to_json({"output": str(output), "checkpoint": str(checkpoint),
                            "plot": None if plot is None else str(plot), "level": model.vocab.level,
                            "vocab_size": model.vocab_size, "steps": history.steps,
                            "train_loss": history.train_loss, "val_loss": history.val_loss,
                            "best_val_loss": history.best_val_loss, "best_step": history.best_step,
                            "stopped_early": history.stopped_early,
                            "tokens_per_second": history.tokens_per_second}))
    if not quiet:
        val = (f", best val loss {history.best_val_loss:.4f} (step {history.best_step}, the model saved)"
               if history.best_val_loss is not None else "")
        click.echo(f"wrote {output}: {model.vocab.level} model, vocabulary {model.vocab_size}, {history.steps} "
                   f"steps, train loss {history.train_loss[-1]:.4f}{val}, {history.tokens_per_second:,.0f} tokens/s", err=True)


def _check_loss(params: dict, level: str | None) -> None:
    """--negative goes with --loss sampled-softmax, which is for word-level models."""
    if params["loss"] == "sampled-softmax":
        if level != "word":
            raise click.UsageError("--loss sampled-softmax is for word-level models (--level word)")
        if params["negative"] is None:
            raise click.UsageError("--loss sampled-softmax needs --negative K (noise words per update)")
    elif params["negative"] is not None:
        raise click.UsageError("--negative is for --loss sampled-softmax")


def _check_plot(plot: Path, inputs: list, others: list) -> None:
    """Before training: --plot names a writable .png that is no other file of the run, and matplotlib is there."""
    from ..io import check_output
    from ..lm.plot import require_matplotlib

    if plot.suffix.lower() != ".png":
        raise click.UsageError(f"--plot writes a PNG image: give a file name ending in .png, not {plot.name!r}")
    check_output(plot, inputs=inputs, others=others)
    require_matplotlib("--plot")


def _write_plot(plot: Path, history, corpus: Path) -> None:
    from ..lm.plot import write_loss_plot

    write_loss_plot(plot, history, title=f"seqdl train {corpus.name}")


def _sample_seed(seed: int | None, resumed) -> int:
    """The seed of the samples shown while training: --seed, else the resumed run's, else a fresh one."""
    if seed is not None:
        return seed
    if resumed is not None and isinstance(resumed.options.get("sample_seed"), int):
        return resumed.options["sample_seed"]
    import secrets

    return secrets.randbits(32)


def _model_options(arch: dict) -> dict:
    """The architecture keywords this build's LanguageModel takes; a non-default one it lacks is an error."""
    import inspect

    from ..lm.model import LanguageModel

    if arch["tie_weights"] and arch["embedding_dim"] != arch["hidden_size"]:
        raise click.UsageError(f"--tie-weights needs --embedding equal to --hidden "
                               f"(got {arch['embedding_dim']} and {arch['hidden_size']})")
    accepted = inspect.signature(LanguageModel).parameters
    defaults = {"cell": "lstm", "dropout": 0.0, "tie_weights": False}
    options = {}
    for name, value in arch.items():
        if name in accepted:
            options[name] = value
        elif value != defaults.get(name, value):
            raise click.UsageError(f"{ARCH_FLAGS[name]} is not supported by this build's language model")
    return options


def _merge_resume(resumed, params: dict, arch: dict, given: set, level: str, val_fraction: float) -> None:
    """Take the checkpoint's options, refusing given ones that contradict its architecture or data order."""
    def mismatch(flag, ours, theirs):
        raise click.UsageError(f"{flag} {ours} does not match the checkpoint {resumed.path} ({flag} {theirs})")

    saved_arch = resumed.model_config
    for name, flag in ARCH_FLAGS.items():
        option = flag.lstrip("-").replace("-", "_")
        if name in saved_arch:
            if option in given and arch[name] != saved_arch[name]:
                mismatch(flag, arch[name], saved_arch[name])
            arch[name] = saved_arch[name]
    saved_level = resumed.header["model"].get("level")
    if "level" in given and level != saved_level:
        mismatch("--level", level, saved_level)
    saved_val = resumed.data.get("val_fraction")
    if "val_fraction" in given and val_fraction != saved_val:
        mismatch("--val-fraction", val_fraction, saved_val)
    params["val_fraction"] = saved_val
    options = resumed.options
    older = {"loss": "full", "negative": None}  # what checkpoints from before these options trained with
    for name, flag in FIXED_FLAGS.items():
        saved = options.get(name, older.get(name, params[name]))
        if name in given and params[name] != saved:
            mismatch(flag, params[name], saved)
        params[name] = saved
    for name in FREE_FLAGS:
        if name not in given and name in options:
            params[name] = options[name]
