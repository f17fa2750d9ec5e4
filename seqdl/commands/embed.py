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
@click.argument("corpus", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("vectors.vec"),
              show_default=True, help="Vectors file to write (word2vec format).")
@params_options
@click.option("--model", "model_alias", type=click.Choice(["skipgram", "cbow"]), default=None, hidden=True)
@click.option("--format", "file_format", type=click.Choice(["text", "binary"]), default=None,
              help="Output format  [default: binary for a .bin OUTPUT, else text]")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="Train on a Dask cluster: a scheduler's tcp://HOST:8786, or local:N worker processes here "
                   "(needs seqdl[distributed]); --workers then sets the threads of each cluster worker "
                   "[default: 1].")
@click.option("--sync-words", type=click.IntRange(min=1), default=None,
              help="With --cluster: words each worker trains between two merges of the weights  "
                   "[default: 200000]")
@json_option
@quiet_option
def embed_command(corpus: tuple[str, ...], output: Path, model_alias: str | None, file_format: str | None,
                  cluster: str | None, sync_words: int | None, as_json: bool, quiet: bool, **settings) -> None:
    """Train word2vec (skip-gram or CBOW) on CORPUS: UTF-8 text, one sentence per line.

    CORPUS is one or more files, folders (their *.txt, *.gz, *.bz2, *.xz and
    *.zst files), URLs (s3://, gs://, hdfs://, file://) or - for standard
    input. Writes OUTPUT in word2vec text or binary format, which gensim,
    fastText and 'seqdl analogy' read.
    """
    from ..embeddings.formats import guess_binary
    from ..embeddings.word2vec import Word2Vec
    from ..io import check_output, to_json
    from ..progress import Progress
    from ..text.corpus import Corpus
    from ..text.sources import is_url

    if model_alias is not None:
        settings["model"] = model_alias
    params = Word2VecParams(**settings)
    _check_cluster_options(cluster, sync_words)
    check_output(output, inputs=[c for c in corpus if not is_url(c)])
    binary = guess_binary(output) if file_format is None else file_format == "binary"
    w2v = Word2Vec(params)
    started = time.perf_counter()
    with Corpus.open(corpus) as text, Progress(unit="words", desc="embed", quiet=quiet) as bar:
        check_output(output, inputs=[s.location for s in text.sources if not is_url(s.location)])  # a folder's files
        if cluster is None:
            w2v.train(text, progress=bar)
        else:
            from ..distributed import connect

            with connect(cluster) as client:
                w2v.train(text, progress=bar, client=client, sync_words=sync_words)
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


def _check_cluster_options(cluster: str | None, sync_words: int | None) -> None:
    """Refuse --sync-words without --cluster: it would mean nothing."""
    if cluster is None and sync_words is not None:
        raise click.UsageError("--sync-words applies to training on a cluster: add --cluster")
