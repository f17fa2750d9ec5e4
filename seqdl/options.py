"""Click parameter types and options shared by every seqdl command.

One meaning per option name (docs/conventions.md): commands take their
``--json``, ``--quiet``, ``--seed`` and ``--workers`` from here, and every
float option is a :class:`FiniteFloat`, so NaN and infinity never reach the
library. Importing this module imports click only.
"""

from __future__ import annotations

import math
from typing import Mapping

import click

#: The largest seed numpy's generators and word2vec's LCG accept alike.
MAX_SEED = 2**32 - 1
#: A generous cap on threads: more than any machine seqdl runs on, fewer than a typo's 10**9.
MAX_WORKERS = 1024


class FiniteFloat(click.FloatRange):
    """A float option that refuses NaN and infinity, with optional bounds as :class:`click.FloatRange`.

    ``click.FloatRange`` lets ``nan`` through (every comparison with it is
    false); a NaN learning rate or temperature would silently disable what it
    controls.
    """

    name = "float"

    def _describe_range(self) -> str:
        # click would show "[x<=None]" for a range with no bounds.
        return "" if self.min is None and self.max is None else super()._describe_range()

    def convert(self, value, param, ctx):
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


def json_option(function):
    """``--json``: print machine-readable output on stdout (passed as ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


def quiet_option(function):
    """``-q/--quiet``: no progress or summary on stderr (passed as ``quiet``)."""
    return click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")(function)


def seed_option(help: str = "Random seed: the same result every run.", default: int | None = None):
    """``--seed N`` in [0, 2**32 - 1] (passed as ``seed``)."""
    return click.option("--seed", type=click.IntRange(0, MAX_SEED), default=default, show_default=default is not None,
                        help=help)


def workers_option(help: str = "Threads to use  [default: all cores]", default: int | None = None):
    """``--workers N`` in [1, 1024] (passed as ``workers``; None means all cores)."""
    return click.option("--workers", type=click.IntRange(1, MAX_WORKERS), default=default,
                        show_default=default is not None, help=help)


def parse_key_values(pairs: tuple[str, ...] | list[str], option: str = "-O",
                     reserved: Mapping[str, str | None] | None = None) -> dict[str, object]:
    """``KEY=VALUE`` strings (``-O`` options for a plugin) as a dict.

    Keys may use ``-`` for ``_``; each value is read as an int, a float,
    true/false/none, or else kept as text. A malformed pair, a repeated key,
    a non-finite number, or a key in ``reserved`` (what the command passes
    itself, mapped to the flag that sets it, or None) is a
    :class:`click.BadParameter` naming ``option``.
    """
    reserved = reserved or {}
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        if key in options:
            raise click.BadParameter(f"{key!r} given twice", param_hint=option)
        if key in reserved:
            flag = reserved[key]
            use = f"use {flag}" if flag else "the command sets it itself"
            raise click.BadParameter(f"{key!r} cannot be given here ({use})", param_hint=option)
        options[key] = _parse_value(raw.strip(), option)
    return options


def _parse_value(raw: str, option: str) -> object:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            value = kind(raw)
        except ValueError:
            continue
        if kind is float and not math.isfinite(value):
            raise click.BadParameter(f"{raw!r} is not a finite number", param_hint=option)
        return value
    return raw
