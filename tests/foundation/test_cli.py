"""The seqdl command line itself: help, version, start-up cost, error reporting."""

from __future__ import annotations

import subprocess
import sys

import click
from click.testing import CliRunner

import seqdl
from seqdl.cli import make_cli
from seqdl.errors import CorpusError

HEAVY = ("numpy", "numba", "sklearn", "matplotlib", "scipy", "torch", "gensim")


def _probe(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter, then print which HEAVY modules it imported (the last stdout line)."""
    code += f"\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_help_imports_no_heavy_library():
    result = _probe(
        "import sys, runpy\n"
        "sys.argv = ['seqdl', '--help']\n"
        "try:\n"
        "    runpy.run_module('seqdl', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
    )
    assert result.stdout.splitlines()[-1] == "[]", result.stdout
    assert "Commands:" in result.stdout
    assert result.stderr == ""  # no built-in plugin warns


def test_every_command_help_imports_no_heavy_library():
    names = sorted(make_cli().commands)
    result = _probe(
        "from click.testing import CliRunner\n"
        "from seqdl.cli import make_cli\n"
        "cli = make_cli()\n"
        f"for name in {names!r}:\n"
        "    result = CliRunner().invoke(cli, [name, '--help'])\n"
        "    assert result.exit_code == 0, (name, result.output)\n"
    )
    assert result.stdout.strip() == "[]"


def test_command_plugins_import_nothing_heavy_for_help_of_every_subcommand():
    """The analogy, tsne and corpora plugins, down to each subcommand's --help, load no numpy."""
    result = _probe(
        "import os\n"
        "os.environ['SEQDL_LOAD_PLUGINS'] = 'analogy,tsne,corpora'\n"
        "from click.testing import CliRunner\n"
        "from seqdl.cli import make_cli\n"
        "cli = make_cli()\n"
        "for name in ('analogy', 'similar', 'project', 'plugins'):\n"
        "    assert CliRunner().invoke(cli, [name, '--help']).exit_code == 0, name\n"
        "for group in ('evaluate', 'corpus'):\n"
        "    for sub in cli.commands[group].commands:\n"
        "        assert CliRunner().invoke(cli, [group, sub, '--help']).exit_code == 0, (group, sub)\n"
    )
    assert result.stdout.strip() == "[]"


def test_version_from_console_script_and_module(run_seqdl):
    result = run_seqdl("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"seqdl, version {seqdl.__version__}"


def test_unknown_command_is_a_usage_error(run_seqdl):
    result = run_seqdl("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr


def test_seqdl_error_is_one_line_and_exit_1(cli_with):
    @click.command()
    def fail():
        raise CorpusError("not valid UTF-8", path="corpus.txt", offset=1234)

    result = CliRunner().invoke(cli_with(fail), ["fail"])
    assert result.exit_code == 1
    assert result.output == "Error: corpus.txt, byte 1234: not valid UTF-8\n"


def test_missing_file_os_error_is_one_line(tmp_path, cli_with):
    missing = tmp_path / "nowhere" / "out.txt"

    @click.command()
    def write():
        open(missing, "w")

    result = CliRunner().invoke(cli_with(write), ["write"])
    assert result.exit_code == 1
    assert result.output == f"Error: {missing}: No such file or directory\n"


def test_a_bug_keeps_its_traceback(cli_with):
    @click.command()
    def bug():
        raise ZeroDivisionError("a real bug")

    result = CliRunner().invoke(cli_with(bug), ["bug"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ZeroDivisionError)


def test_plugins_table_lists_builtins():
    result = CliRunner().invoke(make_cli(), ["plugins"])
    assert result.exit_code == 0
    names = {line.split()[0] for line in result.output.splitlines()}
    assert {"analogy", "corpora", "tsne"} <= names
