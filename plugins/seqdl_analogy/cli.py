"""The commands ``seqdl analogy``, ``seqdl similar`` and ``seqdl evaluate analogies|similarity``.

Only click is imported at module level; numpy and the vectors load when a
command runs.
"""

from __future__ import annotations

import math

import click

from seqdl.io import to_json
from seqdl.options import json_option, quiet_option

DEFAULT_VECTORS = "vectors.vec"

vectors_option = click.option(
    "--vectors", "vectors_path", type=click.Path(dir_okay=False), default=DEFAULT_VECTORS, show_default=True,
    help="word2vec text/binary vectors (as 'seqdl embed' writes) or a seqdl .npz KeyedVectors file.")
topn_option = click.option("--topn", type=click.IntRange(min=1), default=10, show_default=True,
                           help="How many answers to print.")


def _restrict_option(default: int | None):
    return click.option("--restrict-vocab", type=click.IntRange(min=1), default=default, show_default=True,
                        help="Only consider the N most frequent words (the first N rows of the vectors file).")


def _method_option():
    return click.option("--method", default="3cosadd", show_default=True, metavar="NAME",
                        help="Analogy method: 3cosadd, 3cosmul, or one a plugin registers.")


def _method(name: str):
    """The analogy method ``name`` from the plugins of the command line being run."""
    from seqdl.plugins import lookup

    return lookup("analogy_methods", name)


def _print_ranked(answers: list[tuple[str, float]], as_json: bool) -> None:
    """Print ranked answers, best first (:func:`~seqdl_analogy.ranking.analogy` and ``similar`` leave NaN out)."""
    if as_json:
        click.echo(to_json([{"word": word, "score": score} for word, score in answers]))
        return
    width = max((len(word) for word, _ in answers), default=0)
    for word, score in answers:
        click.echo(f"{word:<{width}}  {score:.4f}")


@click.command("analogy")
@click.argument("word")
@click.argument("minus")
@click.argument("plus")
@vectors_option
@topn_option
@_method_option()
@_restrict_option(None)
@json_option
def analogy_command(word: str, minus: str, plus: str, vectors_path: str, topn: int, method: str,
                    restrict_vocab: int | None, as_json: bool) -> None:
    """Answer WORD - MINUS + PLUS: 'MINUS is to WORD as PLUS is to ?'.

    \b
    seqdl analogy king man woman      # queen
    seqdl analogy paris france italy  # rome
    """
    from .ranking import analogy, load_vectors

    fn = _method(method)
    kv = load_vectors(vectors_path)
    _print_ranked(analogy(kv, [word, plus], [minus], fn, topn=topn, restrict_vocab=restrict_vocab), as_json)


@click.command("similar")
@click.argument("word")
@vectors_option
@topn_option
@_restrict_option(None)
@json_option
def similar_command(word: str, vectors_path: str, topn: int, restrict_vocab: int | None, as_json: bool) -> None:
    """Print the nearest neighbours of WORD by cosine similarity."""
    from .ranking import load_vectors, similar

    _print_ranked(similar(load_vectors(vectors_path), word, topn=topn, restrict_vocab=restrict_vocab), as_json)


def _correlation(value: float) -> str:
    """A correlation for people: undefined (NaN) when one side of the pairs is constant."""
    return f"{value:.4f}" if math.isfinite(value) else "undefined (the scores of one side are all equal)"


@click.group("evaluate")
def evaluate_group() -> None:
    """Evaluate word vectors on analogy or similarity test sets."""


@evaluate_group.command("analogies")
@click.argument("questions_file", metavar="FILE", type=click.Path(dir_okay=False))
@vectors_option
@_restrict_option(300_000)
@_method_option()
@json_option
@quiet_option
def analogies_command(questions_file: str, vectors_path: str, restrict_vocab: int, method: str, as_json: bool,
                      quiet: bool) -> None:
    """Accuracy on a questions-words FILE (': section' lines, then 'a b c d': a is to b as c is to d).

    Words are matched case-insensitively among the --restrict-vocab most
    frequent; questions with other words are skipped and counted.
    """
    from seqdl.progress import Progress

    from .evaluate import evaluate_analogies, read_questions
    from .ranking import load_vectors

    fn = _method(method)
    sections = read_questions(questions_file)
    kv = load_vectors(vectors_path)
    total = sum(len(s.questions) for s in sections)
    with Progress(total, unit="questions", desc="evaluate", quiet=quiet) as progress:
        score = evaluate_analogies(kv, sections, fn, method, restrict_vocab, progress=progress)
    if as_json:
        click.echo(to_json(score.as_dict(), indent=2))
        return
    width = max(len("total"), *(len(s.section) for s in score.sections))
    for row in [*score.sections, score.total]:
        skipped = f"  {row.skipped} skipped (out of vocabulary)" if row.skipped else ""
        click.echo(f"{row.section:<{width}}  {100 * row.accuracy:5.1f}%  ({row.correct}/{row.answered}){skipped}")
    summary = score.as_dict()
    click.echo(f"skipped {summary['skipped_oov']} of {summary['questions']} questions "
               f"({100 * summary['oov_ratio']:.1f}%) with a word outside the {restrict_vocab:,} most frequent")


@evaluate_group.command("similarity")
@click.argument("pairs_file", metavar="FILE", type=click.Path(dir_okay=False))
@vectors_option
@_restrict_option(300_000)
@json_option
def similarity_command(pairs_file: str, vectors_path: str, restrict_vocab: int, as_json: bool) -> None:
    """Spearman and Pearson correlation with a word-pair FILE (wordsim353 or SimLex-999 format)."""
    from .evaluate import evaluate_pairs, read_pairs
    from .ranking import load_vectors

    pairs = read_pairs(pairs_file)
    score = evaluate_pairs(load_vectors(vectors_path), pairs, restrict_vocab)
    if as_json:
        click.echo(to_json(score.as_dict(), indent=2))
        return
    click.echo(f"spearman  {_correlation(score.spearman)}")
    click.echo(f"pearson   {_correlation(score.pearson)}")
    click.echo(f"pairs     {score.pairs} used, {score.skipped} skipped (out of vocabulary: "
               f"{100 * score.oov_ratio:.1f}%)")
