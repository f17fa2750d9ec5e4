"""``seqdl project``: a 2-D map of word vectors as CSV, JSON or a labelled image.

Only click and light seqdl modules are imported here; the vectors, scikit-learn
and matplotlib load when the command runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from seqdl.errors import InputError, ModelFileError
from seqdl.options import FiniteFloat, parse_key_values, quiet_option, seed_option, workers_option

#: Words projected when none of --limit, --words, --words-file is given.
DEFAULT_LIMIT = 500
#: Output suffix -> format; the image formats need matplotlib.
FORMATS = {".csv": "csv", ".json": "json", ".png": "png", ".svg": "svg", ".pdf": "pdf"}
IMAGE_FORMATS = ("png", "svg", "pdf")


def output_format(path: str) -> str | None:
    """The format named by ``path``'s suffix, or None if ``seqdl project`` cannot write it."""
    return FORMATS.get(Path(path).suffix.lower())


#: Projection options the command passes itself, with the flag that sets each (None: not settable); -O may not name them.
RESERVED_OPTIONS = {"vectors": "--vectors", "words": "--words", "method": "--method", "host": None,
                    "perplexity": "--perplexity", "metric": "--metric", "seed": "--seed", "max_iter": "--max-iter",
                    "workers": "--workers"}


def read_words_file(path: str) -> list[str]:
    """The words in ``path``, separated by whitespace or newlines."""
    from seqdl.io import read_text

    words = read_text(path, "words file").split()
    if not words:
        raise InputError("no words in the file", path=path)
    return words


def named_words(words_list: str | None, words_file: str | None) -> list[str] | None:
    """The words given by --words or --words-file, or None if neither was."""
    if words_list is not None:
        words = [w.strip() for w in words_list.split(",") if w.strip()]
        if not words:
            raise click.BadParameter("no words given", param_hint="--words")
        return words
    return read_words_file(words_file) if words_file is not None else None


def choose_words(kv, limit: int | None, words: list[str] | None) -> list[str]:
    """The words to project: those named (in order, each once) or the ``limit`` most frequent."""
    if words is None:
        return list(kv.index_to_key[:limit])
    return list(dict.fromkeys(words))


@click.command("project")
@click.option("--vectors", "vectors_path", default="vectors.vec", show_default=True,
              type=click.Path(dir_okay=False), help="Word vectors, word2vec text or .bin (what 'seqdl embed' writes).")
@click.option("--limit", type=click.IntRange(min=1),
              help=f"Project the first N words of the vectors file (the most frequent) [default: {DEFAULT_LIMIT}].")
@click.option("--top", "top_alias", type=click.IntRange(min=1), hidden=True)  # the old name of --limit
@click.option("--words", "words_list", metavar="W1,W2,...", help="Project these words (comma-separated).")
@click.option("--words-file", type=click.Path(dir_okay=False),
              help="Project the words in this file (whitespace-separated).")
@click.option("--method", default="tsne", show_default=True, help="Projection: tsne, pca, or one a plugin registers.")
@click.option("--perplexity", type=FiniteFloat(min=0, min_open=True),
              help="t-SNE perplexity, below the number of words [default: 30].")
@click.option("--metric", help="Distance: cosine or euclidean [default: cosine].")
@seed_option(help="Random seed: the same seed gives the same map [t-SNE default: 0; "
             "with t-SNE's default PCA start the map barely depends on it, with -O init=random it does].")
@click.option("--max-iter", type=click.IntRange(min=1), help="t-SNE iterations, at least 250 [default: 1000].")
@workers_option(help="t-SNE threads; more pay off only for many thousands of words [default: 1].")
@click.option("-O", "--option", "extra_options", multiple=True, metavar="KEY=VALUE",
              help="Another option for the projection (repeatable), e.g. -O early_exaggeration=8.")
@click.option("--title", help="Title of an image map [default: method, word count and vectors file].")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file: .csv (word,x,y), .json, or a labelled map .png, .svg or .pdf.")
@quiet_option
def project_command(vectors_path, limit, top_alias, words_list, words_file, method, perplexity, metric, seed,
                    max_iter, workers, extra_options, title, output, quiet):
    """Map word vectors to 2-D (t-SNE by default) and write a table or a labelled map.

    \b
      seqdl project -o map.png                      # top 500 words of vectors.vec
      seqdl project --words king,queen,man,woman --perplexity 2 -o map.csv
      seqdl project --method pca --limit 100 -o map.svg
    """
    from seqdl.io import check_output

    fmt = output_format(output)
    if fmt is None:
        raise click.BadParameter(f"{output!r} must end in {', '.join(FORMATS)}", param_hint="-o/--output")
    if limit is not None and top_alias is not None:
        raise click.UsageError("--top is the old name of --limit; give only --limit")
    limit = top_alias if limit is None else limit
    if sum(x is not None for x in (limit, words_list, words_file)) > 1:
        raise click.UsageError("use only one of --limit, --words and --words-file")
    check_output(output, inputs=[p for p in (vectors_path, words_file) if p is not None])
    if fmt in IMAGE_FORMATS:
        from .plot import require_matplotlib

        require_matplotlib(f"writing a .{fmt} map")  # before the slow part, so a missing extra costs nothing
    options = {name: value for name, value in
               (("perplexity", perplexity), ("metric", metric), ("seed", seed), ("max_iter", max_iter),
                ("workers", workers))
               if value is not None}
    options.update(parse_key_values(extra_options, option="-O", reserved=RESERVED_OPTIONS))
    wanted = named_words(words_list, words_file)
    requested = limit
    limit = DEFAULT_LIMIT if wanted is None and limit is None else limit

    import seqdl
    from seqdl.plugins import current_host, lookup

    host = current_host()  # the host this command line was built with
    lookup("projections", method, host)  # an unknown method fails before the vectors load

    def say(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    if not Path(vectors_path).is_file():
        raise ModelFileError("no such vectors file (write one with 'seqdl embed CORPUS')", path=vectors_path)
    kv = seqdl.load_vectors(vectors_path, limit=limit)
    words = choose_words(kv, limit, wanted)
    if requested is not None and len(words) < requested:
        say(f"{vectors_path} has only {len(words)} words; projecting all of them")
    say(f"projecting {len(words)} words from {vectors_path} with {method}...")
    started = time.perf_counter()
    xy = seqdl.project(kv, words, method=method, host=host, **options)
    say(f"projected in {time.perf_counter() - started:.1f} s")
    _write(output, fmt, words, xy, method, options, vectors_path, title, say)


def _write(output, fmt, words, xy, method, options, vectors_path, title, say) -> None:
    """Write the projected words to ``output`` in ``fmt``, atomically."""
    if fmt == "csv":
        from .output import write_csv

        write_csv(output, words, xy)
    elif fmt == "json":
        from .output import write_json

        write_json(output, words, xy, {"method": method, "options": options, "vectors": str(vectors_path)})
    else:
        from .plot import write_map

        if title is None:
            title = f"{method} map of {len(words)} words from {Path(vectors_path).name}"
        labelled = write_map(output, words, xy, fmt, title=title)
        if labelled < len(words):
            say(f"labelled {labelled} of {len(words)} words; the others would overlap (CSV/JSON output has them all)")
    say(f"wrote {output}")
