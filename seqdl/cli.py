"""The ``seqdl`` command line: a click group built by :func:`make_cli`.

Core commands live in :mod:`seqdl.commands`; plugins add theirs through the
``register_commands`` hook. Nothing here imports numba, scikit-learn or
matplotlib: commands import what they need when they run.
"""

from __future__ import annotations

import errno
import signal
import sys

import click

from . import __version__
from .commands import core_commands
from .errors import ParameterError, SeqdlError
from .io import to_json
from .options import json_option
from .plugins import CORE_OWNER, PluginHost, default_host


class SeqdlGroup(click.Group):
    """A click group that shows a :class:`SeqdlError` as one line and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ParameterError as exc:
            command = self.get_command(ctx, ctx.invoked_subcommand) if ctx.invoked_subcommand else None
            raise click.ClickException(exc.with_name(_flag_for(command, exc.param))) from None
        except SeqdlError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            # A file the user named could not be read or written: their mistake, not our bug.
            if exc.filename is None or exc.errno not in _USER_ERRNOS:
                raise
            raise click.ClickException(f"{exc.filename}: {exc.strerror}") from None


def _flag_for(command: click.Command | None, param: str) -> str:
    """The option of ``command`` (or of a subcommand of it) that sets library parameter ``param``.

    Falls back to ``-O param`` when no option is named so but the command
    takes ``-O KEY=VALUE`` options (the parameter came from one of them), and
    to ``param`` itself otherwise.
    """
    stack = [command] if command is not None else []
    keyed = False
    while stack:
        current = stack.pop()
        for option in current.params:
            if option.name == param and isinstance(option, click.Option):
                return max(option.opts, key=len)
            keyed = keyed or (isinstance(option, click.Option) and "-O" in option.opts)
        if isinstance(current, click.Group):
            stack.extend(current.commands.values())
    return f"-O {param}" if keyed else param


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
    @json_option
    def plugins_command(as_json: bool) -> None:
        """List installed plugins: name, version, distribution, hooks, load error."""
        infos = host.plugins()
        if as_json:
            click.echo(to_json([info.as_dict() for info in infos], indent=2))
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


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread so cleanup runs exactly as for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated(signum)


def handle_termination() -> None:
    """Make SIGTERM and SIGHUP raise :class:`Terminated` (a KeyboardInterrupt) in the main thread.

    Every ``finally`` and ``except BaseException`` then runs for them as it
    does for Ctrl-C: temporary files are removed and a training run writes
    its resumable checkpoint.
    """
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _raise_terminated)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seqdl`` console script and ``python -m seqdl``."""
    handle_termination()
    try:
        cli = make_cli()
        status = cli.main(args=argv, prog_name="seqdl", standalone_mode=False)
    except SeqdlError as exc:  # SEQDL_PLUGIN_ERRORS=raise and a plugin failed
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        cause = exc if isinstance(exc, Terminated) else exc.__cause__
        if isinstance(cause, Terminated):
            click.echo(f"Stopped by {signal.Signals(cause.signum).name}.", err=True)
            sys.exit(128 + cause.signum)
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    if isinstance(status, int) and status:  # ctx.exit(N) inside a command
        sys.exit(status)
