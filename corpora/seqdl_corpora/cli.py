"""The ``seqdl corpus`` command group: ``demo``, ``list`` and ``get``."""

from __future__ import annotations

import json

import click


@click.group("corpus")
def corpus() -> None:
    """Corpora to train on: a generated demo corpus and a catalog of public ones."""


@corpus.command("demo")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="demo.txt",
              show_default=True, help="File to write the corpus to.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: the same seed gives the same file.")
@click.option("--scale", type=click.FloatRange(min=0.001, max=100.0), default=1.0, show_default=True,
              help="Multiply the number of sentences (1.0: 120,000 sentences, 1.1M words).")
@click.option("--questions", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the planted relations as a questions-words file for 'seqdl evaluate analogies'.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr.")
def demo_command(output: str, seed: int, scale: float, questions: str | None, quiet: bool) -> None:
    """Write a generated English-like corpus with planted relations (gender, plural, tense, capitals).

    \b
    seqdl corpus demo -o demo.txt && seqdl embed demo.txt && seqdl analogy king man woman
    """
    from seqdl.io import atomic_write

    from .demo import DemoSize, write_corpus, write_questions

    size = DemoSize().scaled(scale)
    with atomic_write(output) as out:
        tokens = write_corpus(out, seed=seed, size=size)
    if not quiet:
        click.echo(f"wrote {size.total():,} sentences, {tokens:,} words to {output}", err=True)
    if questions:
        with atomic_write(questions) as out:
            count = write_questions(out)
        if not quiet:
            click.echo(f"wrote {count:,} analogy questions to {questions}", err=True)


@corpus.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def list_command(as_json: bool) -> None:
    """List the public corpora 'seqdl corpus get' can download."""
    from .catalog import load_catalog

    entries = sorted(load_catalog().values(), key=lambda e: e.name)
    if as_json:
        click.echo(json.dumps([e.as_dict() for e in entries], indent=2))
        return
    for entry in entries:
        click.echo(f"{entry.name:<18} {entry.size / 1e6:8.1f} MB  {entry.description}")
        click.echo(f"{'':<18} licence: {entry.licence}")


@corpus.command("get")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Folder to keep corpora in [default: $SEQDL_CACHE/corpora or ~/.cache/seqdl/corpora].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the entry and its local paths as JSON.")
def get_command(name: str, directory: str | None, quiet: bool, as_json: bool) -> None:
    """Download corpus NAME (see 'seqdl corpus list'), verify its sha256, and print its file paths.

    A corpus already in the cache is checked and reused, not downloaded again.
    """
    from .catalog import find
    from .download import fetch, stderr_progress

    entry = find(name)
    paths = fetch(entry, directory, progress=stderr_progress(quiet))
    if as_json:
        click.echo(json.dumps({**entry.as_dict(), "paths": [str(p) for p in paths]}, indent=2))
        return
    for path in paths:
        click.echo(str(path))
