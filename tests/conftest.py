"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN_ENV_VARS = ("SEQDL_LOAD_PLUGINS", "SEQDL_DISABLE_PLUGINS", "SEQDL_PLUGIN_ERRORS")


@pytest.fixture(autouse=True)
def _clean_plugin_env(monkeypatch):
    """Tests start from the default plugin settings whatever the caller's shell has."""
    for name in PLUGIN_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def _make_distribution(root: Path, dist_name: str, version: str, modules: dict[str, str],
                      entry_points: dict[str, str]) -> Path:
    """Lay out an installed distribution in ``root``: modules plus a ``*.dist-info``.

    This is what ``pip install`` leaves in site-packages, so putting ``root`` on
    the path makes importlib.metadata find its ``seqdl`` entry points.
    """
    root.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{dist_name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n", encoding="utf-8")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[seqdl]\n{lines}", encoding="utf-8")
    return root


def _run_seqdl(*args: str, env_extra: dict[str, str] | None = None, cwd: Path | None = None,
              pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m seqdl ARGS`` in a fresh interpreter and capture its output."""
    env = {k: v for k, v in os.environ.items() if k not in PLUGIN_ENV_VARS}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "seqdl", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def _cli_with(*commands, name: str = "test", host=None):
    """A seqdl command line whose plugin ``name`` adds ``commands`` (to ``host``, or to a new one)."""
    import seqdl
    from seqdl.cli import make_cli
    from seqdl.plugins import PluginHost

    class CommandPlugin:
        @seqdl.hookimpl
        def register_commands(self, cli):
            for command in commands:
                cli.add_command(command)

    host = PluginHost() if host is None else host
    host.register(CommandPlugin(), name=name)
    return make_cli(host)


def _cli_with_plugins(**plugins):
    """A seqdl command line whose host has exactly ``plugins`` registered, each under its keyword's name.

    ``cli_with_plugins(analogy=seqdl_analogy, extra=SomePluginObject())``: no
    installed plugin is loaded, nothing is reloaded.
    """
    from seqdl.cli import make_cli
    from seqdl.plugins import PluginHost

    host = PluginHost()
    for name, plugin in plugins.items():
        host.register(plugin, name=name)
    return make_cli(host)


@pytest.fixture
def cli_with_plugins():
    """Factory fixture: ``cli_with_plugins(name=plugin, ...)`` builds a CLI with just those plugins."""
    return _cli_with_plugins


@pytest.fixture
def cli_with():
    """Factory fixture: ``cli_with(*commands, name="test", host=None)`` builds a CLI with those commands."""
    return _cli_with


@pytest.fixture
def make_distribution():
    """Factory fixture: lay out a throwaway installed distribution (see :func:`_make_distribution`)."""
    return _make_distribution


@pytest.fixture
def run_seqdl():
    """Factory fixture: run seqdl in a subprocess (see :func:`_run_seqdl`)."""
    return _run_seqdl


def assert_one_line_error(result, *fragments: str, code: int | None = None) -> str:
    """Check a click ``CliRunner`` result is a user's-mistake error: non-zero exit, one ``Error:`` line, no traceback.

    Each of ``fragments`` must appear in that line; ``code`` is the expected
    exit status if given (1 for a SeqdlError, 2 for a usage error). Returns the line.
    """
    output = result.output  # click >= 8.2 gives stdout and stderr together here
    assert result.exit_code != 0, f"expected a failure, got exit 0 with output {result.output!r}"
    if code is not None:
        assert result.exit_code == code, (result.exit_code, output)
    assert "Traceback" not in output, output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(name="assert_one_line_error")
def _assert_one_line_error_fixture():
    """Fixture form of :func:`assert_one_line_error`, for test modules that take it as an argument."""
    return assert_one_line_error
