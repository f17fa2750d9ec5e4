"""seqdl_analogy: cosine analogies, nearest neighbours and standard evaluations (a built-in seqdl plugin).

Commands: ``seqdl analogy``, ``seqdl similar``, ``seqdl evaluate analogies``,
``seqdl evaluate similarity``. Analogy methods ``3cosadd`` and ``3cosmul``
are registered through ``register_analogy_methods``; any plugin can add
another with the signature described in :mod:`seqdl_analogy.methods`.

Registered through the ``seqdl`` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from seqdl import hookimpl


@hookimpl
def register_commands(cli):
    """Add ``analogy``, ``similar``, and ``analogies``/``similarity`` to seqdl's ``evaluate`` group."""
    import click

    from .cli import analogy_command, evaluate_group, similar_command

    for command in (analogy_command, similar_command):
        cli.add_command(command)
    evaluate = cli.commands.get("evaluate")
    if isinstance(evaluate, click.Group):
        for command in evaluate_group.commands.values():
            evaluate.add_command(command)
    else:  # an older seqdl without the core group
        cli.add_command(evaluate_group)


@hookimpl
def register_analogy_methods(register):
    """Register ``3cosadd`` and ``3cosmul``."""
    from .methods import METHODS

    for name, method in METHODS.items():
        register(name, method)
