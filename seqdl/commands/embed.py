"""``seqdl embed``: train word2vec on a text file and write the vectors in word2vec format.

The hyperparameter options are generated from :mod:`seqdl.embeddings.params`
(the one place they, their defaults, bounds and help are defined).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..embeddings.params import FastTextParams, Word2VecParams, setting_specs
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
    """Add an option per field of :class:`FastTextParams` (word2vec's, then the n-gram ones)."""
    for name, default, meta in reversed(setting_specs(FastTextParams)):
        function = _option_for(name, default, meta)(function)
    return function


#: Options that fix a model's shape: with --init they must agree with the model file.
_SHAPE = ("model", "dim", "minn", "maxn", "bucket")
_SUBWORD_ONLY = ("minn", "maxn", "bucket")


@click.command("embed")
@click.argument("corpus", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("vectors.vec"),
              show_default=True, help="Vectors file to write (word2vec format).")
@click.option("--subwords", is_flag=True,
              help="fastText: vectors from words and their character n-grams (--minn to --maxn), so that "
                   "words never seen get vectors too (save them with --save-model).")
@params_options
@click.option("--model", "model_alias", type=click.Choice(["skipgram", "cbow"]), default=None, hidden=True)
@click.option("--format", "file_format", type=click.Choice(["text", "binary"]), default=None,
              help="Output format  [default: binary for a .bin OUTPUT, else text]")
@click.option("--save-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the trainable model (.npz): continue with --init, or query unknown words "
                   "of a --subwords model with 'similar'/'analogy'.")
@click.option("--init", "init_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Continue training this --save-model file (or a fastText .bin) on CORPUS, adding its new words.")
@click.option("--cluster", default=None, metavar="ADDRESS",
              help="Train on a Dask cluster: a scheduler's tcp://HOST:8786, or local:N worker processes here "
                   "(needs seqdl[distributed]); --workers then sets the threads of each cluster worker "
                   "[default: 1].")
@click.option("--sync-words", type=click.IntRange(min=1), default=None,
              help="With --cluster: words each worker trains between two merges of the weights  "
                   "[default: 200000]")
@json_option
@quiet_option
@click.pass_context
def embed_command(ctx: click.Context, corpus: tuple[str, ...], output: Path, subwords: bool,
                  model_alias: str | None, file_format: str | None, save_model: Path | None,
                  init_path: Path | None, cluster: str | None, sync_words: int | None, as_json: bool,
                  quiet: bool, **settings) -> None:
    """Train word2vec (skip-gram or CBOW), or fastText with --subwords, on CORPUS: UTF-8 text, one sentence per line.

    CORPUS is one or more files, folders (their *.txt, *.gz, *.bz2, *.xz and
    *.zst files), URLs (s3://, gs://, hdfs://, file://) or - for standard
    input. Writes OUTPUT in word2vec text or binary format, which gensim,
    fastText and 'seqdl analogy' read.
    """
    from ..embeddings.formats import guess_binary
    from ..io import check_output, to_json
    from ..progress import Progress
    from ..text.corpus import Corpus
    from ..text.sources import is_url

    if model_alias is not None:
        settings["model"] = model_alias
    given = {name for name in settings
             if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT}
    if model_alias is not None:
        given.add("model")
    if not subwords and init_path is None and given & set(_SUBWORD_ONLY):
        raise click.UsageError(f"--{sorted(given & set(_SUBWORD_ONLY))[0]} needs --subwords")
    _check_cluster_options(cluster, sync_words, subwords, init_path)
    inputs = [c for c in corpus if not is_url(c)] + ([init_path] if init_path else [])
    check_output(output, inputs=inputs)
    if save_model is not None:
        check_output(save_model, inputs=inputs, others=[output])
    binary = guess_binary(output) if file_format is None else file_format == "binary"
    if init_path is not None:
        w2v = _continued(init_path, subwords, settings, given)
    else:
        w2v = _new_model(subwords, settings)
    started = time.perf_counter()
    with Corpus.open(corpus) as text, Progress(unit="words", desc="embed", quiet=quiet) as bar:
        local_files = [s.location for s in text.sources if not is_url(s.location)]  # a folder's files too
        check_output(output, inputs=local_files)
        if save_model is not None:
            check_output(save_model, inputs=local_files, others=[output])
        if init_path is not None:
            w2v.update(text, progress=bar)
        elif cluster is None:
            w2v.train(text, progress=bar)
        else:
            from ..distributed import connect

            with connect(cluster) as client:
                w2v.train(text, progress=bar, client=client, sync_words=sync_words)
    w2v.wv.save_word2vec_format(output, binary=binary)
    if save_model is not None:
        w2v.save(save_model)
    seconds = time.perf_counter() - started
    if not any(w2v.predictions_per_epoch):
        click.echo("Warning: no word had a context word to learn from (one-word sentences, or a corpus so "
                   "small that subsampling kept almost nothing: try --sample 0); the vectors are untrained",
                   err=True)
    dim = w2v.params.dim
    if as_json:
        click.echo(to_json({
            "output": str(output), "format": "binary" if binary else "text", "words": len(w2v.wv),
            "dim": dim, "subwords": subwords or w2v.FORMAT == "seqdl.FastText",
            "model_file": None if save_model is None else str(save_model), "loss_history": w2v.loss_history,
            "words_per_second": w2v.words_per_second, "seconds": seconds}))
    if not quiet:
        click.echo(f"wrote {len(w2v.wv):,} vectors of dimension {dim} to {output} "
                   f"({w2v.words_per_second:,.0f} words/s, final loss {w2v.loss_history[-1]:.4f})", err=True)


def _check_cluster_options(cluster: str | None, sync_words: int | None, subwords: bool, init_path) -> None:
    """Refuse --sync-words without --cluster, and --cluster with what distributed training does not do."""
    if cluster is None and sync_words is not None:
        raise click.UsageError("--sync-words applies to training on a cluster: add --cluster")
    if cluster is not None and (subwords or init_path is not None):
        raise click.UsageError(f"--cluster trains plain word2vec from scratch; it cannot be combined with "
                               f"{'--subwords' if subwords else '--init'}")


def _new_model(subwords: bool, settings: dict):
    """A Word2Vec, or with ``subwords`` a FastText, with the command line's settings."""
    if subwords:
        from ..embeddings.fasttext import FastText

        return FastText(FastTextParams(**settings))
    from ..embeddings.word2vec import Word2Vec

    return Word2Vec(Word2VecParams(**{k: v for k, v in settings.items() if k not in _SUBWORD_ONLY}))


def _continued(path: Path, subwords: bool, settings: dict, given: set[str]):
    """The model in ``path`` with the options given on the command line applied; its shape must agree."""
    from dataclasses import fields, replace

    from ..errors import InputError
    from ..io import load_npz

    from ..embeddings.loading import vectors_kind

    if vectors_kind(path) == "facebook":
        from ..embeddings.fasttext import FastText

        model, kind = FastText.load_facebook(path), "seqdl.FastText"
    else:
        arrays, meta = load_npz(path)
        kind = meta.get("format", meta.get("kind"))
        if kind == "seqdl.FastText":
            from ..embeddings.fasttext import FastText as cls
        elif kind == "seqdl.Word2Vec":
            from ..embeddings.word2vec import Word2Vec as cls
        else:
            raise InputError(f"--init needs a model written by 'seqdl embed --save-model' or a fastText .bin, "
                             f"not a {kind!r} file", path=str(path))
        model = cls.from_npz(arrays, meta, path)
    if subwords and kind != "seqdl.FastText":
        raise InputError("--subwords given, but the --init model is plain word2vec (no n-grams)", path=str(path))
    own = {f.name for f in fields(model.params)}
    for name in sorted(given & set(_SHAPE)):
        if name not in own:
            raise click.UsageError(f"--{name} needs --subwords, and the --init model has no n-grams")
        if settings[name] != getattr(model.params, name):
            flag = "--arch" if name == "model" else f"--{name}"
            raise InputError(f"the --init model has {flag} {getattr(model.params, name)}, not "
                             f"{settings[name]}", path=str(path))
    model.params = replace(model.params, **{k: settings[k] for k in given if k in own})
    return model
