"""``seqdl project``: a 2-D map of word vectors as CSV, JSON or a labelled image.

Only click and light seqdl modules are imported here; the vectors, scikit-learn
and matplotlib load when the command runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from seqdl.errors import InputError, ModelFileError

#: Words projected when none of --top, --words, --words-file is given.
DEFAULT_TOP = 500
#: Output suffix -> format; the image formats need matplotlib.
FORMATS = {".csv": "csv", ".json": "json", ".png": "png", ".svg": "svg", ".pdf": "pdf"}
IMAGE_FORMATS = ("png", "svg", "pdf")


def output_format(path: str) -> str | None:
    """The format named by ``path``'s suffix, or None if ``seqdl project`` cannot write it."""
    return FORMATS.get(Path(path).suffix.lower())


def parse_option(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` -> (key, value) with VALUE read as an int, a float, true/false, or else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise click.BadParameter(f"expected KEY=VALUE, got {text!r}", param_hint="--option")
    raw = raw.strip()
    for convert in (int, float):
        try:
            return key, convert(raw)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(raw.lower(), raw)


def read_words_file(path: str) -> list[str]:
    """The words in ``path``, separated by whitespace or newlines."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text", path=path, offset=exc.start) from None
    words = text.split()
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


def choose_words(kv, top: int | None, words: list[str] | None) -> list[str]:
    """The words to project: those named (in order, each once) or the ``top`` most frequent."""
    if words is None:
        return list(kv.index_to_key[:top])
    return list(dict.fromkeys(words))


@click.command("project")
@click.option("--vectors", "vectors_path", default="vectors.vec", show_default=True,
              type=click.Path(dir_okay=False), help="Word vectors, word2vec text or .bin (what 'seqdl embed' writes).")
@click.option("--top", type=click.IntRange(min=1), help=f"Project the N most frequent words [default: {DEFAULT_TOP}].")
@click.option("--words", "words_list", metavar="W1,W2,...", help="Project these words (comma-separated).")
@click.option("--words-file", type=click.Path(dir_okay=False),
              help="Project the words in this file (whitespace-separated).")
@click.option("--method", default="tsne", show_default=True, help="Projection: tsne, pca, or one a plugin registers.")
@click.option("--perplexity", type=float, help="t-SNE perplexity, below the number of words [default: 30].")
@click.option("--metric", help="Distance: cosine or euclidean [default: cosine].")
@click.option("--seed", type=int, help="Random seed: the same seed gives the same map [t-SNE default: 0; "
              "with t-SNE's default PCA start the map barely depends on it, with -O init=random it does].")
@click.option("--max-iter", type=int, help="t-SNE iterations, at least 250 [default: 1000].")
@click.option("--workers", type=int, help="t-SNE threads; more pay off only for many thousands of words [default: 1].")
@click.option("-O", "--option", "extra_options", multiple=True, metavar="KEY=VALUE",
              help="Another option for the projection (repeatable), e.g. -O early_exaggeration=8.")
@click.option("--title", help="Title of an image map [default: method, word count and vectors file].")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file: .csv (word,x,y), .json, or a labelled map .png, .svg or .pdf.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def project_command(vectors_path, top, words_list, words_file, method, perplexity, metric, seed, max_iter,
                    workers, extra_options, title, output, quiet):
    """Map word vectors to 2-D (t-SNE by default) and write a table or a labelled map.

    \b
      seqdl project -o map.png                      # top 500 words of vectors.vec
      seqdl project --words king,queen,man,woman --perplexity 2 -o map.csv
      seqdl project --method pca --top 100 -o map.svg
    """
    fmt = output_format(output)
    if fmt is None:
        raise click.BadParameter(f"{output!r} must end in {', '.join(FORMATS)}", param_hint="-o/--output")
    if not Path(output).parent.is_dir():
        raise InputError(f"folder {str(Path(output).parent)!r} does not exist", path=output)
    if sum(x is not None for x in (top, words_list, words_file)) > 1:
        raise click.UsageError("use only one of --top, --words and --words-file")
    if fmt in IMAGE_FORMATS:
        from .plot import require_matplotlib

        require_matplotlib(f"writing a .{fmt} map")  # before the slow part, so a missing extra costs nothing
    options = {name: value for name, value in
               (("perplexity", perplexity), ("metric", metric), ("seed", seed), ("max_iter", max_iter),
                ("workers", workers))
               if value is not None}
    options.update(parse_option(text) for text in extra_options)
    wanted = named_words(words_list, words_file)
    limit = DEFAULT_TOP if wanted is None and top is None else top

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
    if top is not None and len(words) < top:
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
