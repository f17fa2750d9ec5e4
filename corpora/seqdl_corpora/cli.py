"""The ``seqdl corpus`` command group: ``demo``, ``list`` and ``get``."""

from __future__ import annotations

import click

from seqdl.options import FiniteFloat, json_option, quiet_option, seed_option


@click.group("corpus")
def corpus() -> None:
    """Corpora to train on: a generated demo corpus and a catalog of public ones."""


@corpus.command("demo")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="demo.txt",
              show_default=True, help="File to write the corpus to.")
@seed_option(help="Random seed: the same seed gives the same file.", default=0)
@click.option("--scale", type=FiniteFloat(min=0.001, max=100.0), default=1.0, show_default=True,
              help="Multiply the number of sentences (1.0: 120,000 sentences, 1.1M words).")
@click.option("--questions", type=click.Path(dir_okay=False), default=None,
              help="Also write the planted relations as a questions-words file for 'seqdl evaluate analogies'.")
@quiet_option
def demo_command(output: str, seed: int, scale: float, questions: str | None, quiet: bool) -> None:
    """Write a generated English-like corpus with planted relations (gender, plural, tense, capitals).

    \b
    seqdl corpus demo -o demo.txt && seqdl embed demo.txt && seqdl analogy king man woman
    """
    from seqdl.io import atomic_write, check_output
    from seqdl.progress import Progress

    from .demo import DemoSize, write_corpus, write_questions

    check_output(output)
    if questions:
        check_output(questions, others=[output])
    size = DemoSize().scaled(scale)
    with Progress(size.total(), unit="sentences", desc="demo", quiet=quiet) as progress, \
            atomic_write(output) as out:
        tokens = write_corpus(out, seed=seed, size=size, progress=progress)
    if not quiet:
        click.echo(f"wrote {size.total():,} sentences, {tokens:,} words to {output}", err=True)
    if questions:
        with atomic_write(questions) as out:
            count = write_questions(out)
        if not quiet:
            click.echo(f"wrote {count:,} analogy questions to {questions}", err=True)


@corpus.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """List the public corpora 'seqdl corpus get' can download."""
    from seqdl.io import to_json

    from .catalog import load_catalog

    entries = sorted(load_catalog().values(), key=lambda e: e.name)
    if as_json:
        click.echo(to_json([e.as_dict() for e in entries], indent=2))
        return
    for entry in entries:
        click.echo(f"{entry.name:<18} {entry.size / 1e6:8.1f} MB  {entry.description}")
        click.echo(f"{'':<18} licence: {entry.licence}")


@corpus.command("get")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Folder to keep corpora in [default: $SEQDL_CACHE/corpora or ~/.cache/seqdl/corpora].")
@quiet_option
@json_option
def get_command(name: str, directory: str | None, quiet: bool, as_json: bool) -> None:
    """Download corpus NAME (see 'seqdl corpus list'), verify its sha256, and print its file paths.

    A corpus already in the cache is checked and reused, not downloaded again.
    """
    from seqdl.io import to_json
    from seqdl.progress import Progress

    from .catalog import find
    from .download import fetch

    entry = find(name)
    with Progress(entry.size, unit="bytes", desc=f"downloading {entry.name}", quiet=quiet) as progress:
        paths = fetch(entry, directory, progress=progress)
    if as_json:
        click.echo(to_json({**entry.as_dict(), "paths": [str(p) for p in paths]}, indent=2))
        return
    for path in paths:
        click.echo(str(path))
