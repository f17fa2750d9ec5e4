"""seqdl's own commands, one module each.

Each module imports only click (and light seqdl modules) at import time, so
building the command line stays fast; the work imports numba and friends.
"""

from __future__ import annotations

import click


def core_commands() -> list[click.Command]:
    """The commands seqdl itself provides, in the order they are added."""
    from .convert import convert_command
    from .embed import embed_command
    from .evaluate import make_evaluate_group
    from .generate import generate_command
    from .train import train_command

    commands: list[click.Command] = [embed_command, convert_command, train_command, generate_command,
                                      make_evaluate_group()]
    return commands
