"""The ``seqdl`` command line: a click group built by :func:`make_cli`.

Core commands live in :mod:`seqdl.commands`; plugins add theirs through the
``register_commands`` hook. Nothing here imports numba, scikit-learn or
matplotlib: commands import what they need when they run.
"""

from __future__ import annotations

import errno
import sys

import click

from . import __version__
from .commands import core_commands
from .errors import SeqdlError
from .plugins import CORE_OWNER, PluginHost, default_host


class SeqdlGroup(click.Group):
    """A click group that shows a :class:`SeqdlError` as one line and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SeqdlError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            # A file the user named could not be read or written: their mistake, not our bug.
            if exc.filename is None or exc.errno not in _USER_ERRNOS:
                raise
            raise click.ClickException(f"{exc.filename}: {exc.strerror}") from None


_USER_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR,
                errno.ENOSPC, errno.EROFS, errno.EEXIST, errno.ENAMETOOLONG}


def make_cli(host: PluginHost | None = None) -> click.Group:
    """Build the ``seqdl`` group with the core commands and those of ``host``'s plugins.

    ``host`` defaults to the installed plugins (:func:`seqdl.plugins.default_host`);
    tests pass their own to add a plugin without reloading any module. The
    host is the context object, so a command reaches the registries it was
    built with through :func:`seqdl.plugins.current_host` (and ``lookup``).
    """
    host = default_host() if host is None else host

    @click.group(cls=SeqdlGroup, context_settings={"help_option_names": ["-h", "--help"], "obj": host})
    @click.version_option(__version__, "-V", "--version", prog_name="seqdl")
    def cli():
        """seqdl: word embeddings, neural nets and sequence models, extensible with plugins.

        Run 'seqdl COMMAND --help' for a command's options.
        """

    @cli.command("plugins")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    def plugins_command(as_json: bool) -> None:
        """List installed plugins: name, version, distribution, hooks, load error."""
        infos = host.plugins()
        if as_json:
            import json

            click.echo(json.dumps([info.as_dict() for info in infos], indent=2))
            return
        if not infos:
            click.echo("no plugins installed")
        for info in infos:
            origin = f"{info.distribution or '?'} {info.version or ''}".strip()
            status = "disabled" if info.disabled else ("ERROR: " + info.error if info.error else ", ".join(info.hooks))
            click.echo(f"{info.name:<16} {origin:<24} {status}")

    owners = {name: CORE_OWNER for name in cli.commands}
    for command in core_commands():
        cli.add_command(command)
        owners[command.name] = CORE_OWNER
    host.add_commands(cli, owners)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seqdl`` console script and ``python -m seqdl``."""
    try:
        cli = make_cli()
    except SeqdlError as exc:  # SEQDL_PLUGIN_ERRORS=raise and a plugin failed
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    cli.main(args=argv, prog_name="seqdl")
