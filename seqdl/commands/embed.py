"""``seqdl embed``: train word2vec on a text file and write the vectors in word2vec format.

The hyperparameter options are generated from :mod:`seqdl.embeddings.params`
(the one place they, their defaults, bounds and help are defined).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..embeddings.params import Word2VecParams, setting_specs
from ..options import MAX_SEED, MAX_WORKERS, FiniteFloat, json_option, quiet_option


def _option_for(name: str, default, meta: dict):
    """The click option for one params field."""
    flag = meta["flag"] or "--" + name.replace("_", "-")
    kind = meta["kind"]
    extra: dict = {"help": meta["help"], "default": default, "show_default": default is not None}
    bounds = {k: meta[k] for k in ("min", "max") if meta[k] is not None}
    if kind == "bool":
        return click.option(f"{flag}/--no-{flag[2:]}", name, **extra)
    if kind == "choice":
        extra["type"] = click.Choice(meta["choices"])
    elif kind == "float":
        extra["type"] = FiniteFloat(**bounds, min_open=meta["min_open"])
    elif kind == "seed":
        extra["type"] = click.IntRange(0, MAX_SEED)
    elif kind == "workers":
        extra["type"] = click.IntRange(1, MAX_WORKERS)
    else:
        extra["type"] = click.IntRange(**bounds)
    if "[default:" in meta["help"]:
        extra["show_default"] = False
    return click.option(flag, name, **extra)


def params_options(function):
    """Add an option per field of :class:`Word2VecParams`."""
    for name, default, meta in reversed(setting_specs(Word2VecParams)):
        function = _option_for(name, default, meta)(function)
    return function


@click.command("embed")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("vectors.vec"),
              show_default=True, help="Vectors file to write (word2vec format).")
@params_options
@click.option("--model", "model_alias", type=click.Choice(["skipgram", "cbow"]), default=None, hidden=True)
@click.option("--format", "file_format", type=click.Choice(["text", "binary"]), default=None,
              help="Output format  [default: binary for a .bin OUTPUT, else text]")
@json_option
@quiet_option
def embed_command(corpus: Path, output: Path, model_alias: str | None, file_format: str | None, as_json: bool,
                  quiet: bool, **settings) -> None:
    """Train word2vec (skip-gram or CBOW) on CORPUS, a UTF-8 text file with one sentence per line.

    Writes OUTPUT in word2vec text or binary format, which gensim, fastText
    and 'seqdl analogy' read.
    """
    from ..embeddings.formats import guess_binary
    from ..embeddings.word2vec import Word2Vec
    from ..io import check_output, to_json
    from ..progress import Progress

    if model_alias is not None:
        settings["model"] = model_alias
    params = Word2VecParams(**settings)
    check_output(output, inputs=[corpus])
    binary = guess_binary(output) if file_format is None else file_format == "binary"
    w2v = Word2Vec(params)
    started = time.perf_counter()
    with Progress(unit="words", desc="embed", quiet=quiet) as bar:
        w2v.train(corpus, progress=bar)
    w2v.wv.save_word2vec_format(output, binary=binary)
    seconds = time.perf_counter() - started
    if not any(w2v.predictions_per_epoch):
        click.echo("Warning: no word had a context word to learn from (one-word sentences, or a corpus so "
                   "small that subsampling kept almost nothing: try --sample 0); the vectors are untrained",
                   err=True)
    if as_json:
        click.echo(to_json({
            "output": str(output), "format": "binary" if binary else "text", "words": len(w2v.wv),
            "dim": params.dim, "loss_history": w2v.loss_history, "words_per_second": w2v.words_per_second,
            "seconds": seconds}))
    if not quiet:
        click.echo(f"wrote {len(w2v.wv):,} vectors of dimension {params.dim} to {output} "
                   f"({w2v.words_per_second:,.0f} words/s, final loss {w2v.loss_history[-1]:.4f})", err=True)
