"""A third-party plugin installed beside seqdl adds a command and a decoder; a broken one is contained."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from seqdl.cli import make_cli
from seqdl.plugins import PluginHost

GOOD_PLUGIN = '''
    """A third-party seqdl plugin: a command and a decoder."""
    import click
    import numpy as np

    import seqdl


    @click.command()
    @click.argument("name")
    def hello(name):
        """Greet NAME."""
        click.echo(f"hello {name}")


    class Argmax:
        """Always pick the most likely token."""

        def decode(self, model, prompt, max_new_tokens):
            log_probs, state = model.start(prompt)
            out = []
            for _ in range(max_new_tokens):
                token = int(np.argmax(log_probs))
                out.append(token)
                log_probs, state = model.step(state, token)
            return out


    @seqdl.hookimpl
    def register_commands(cli):
        cli.add_command(hello)


    @seqdl.hookimpl
    def register_decoders(register):
        register("argmax", Argmax)
'''

BROKEN_ON_IMPORT = '''
    raise RuntimeError("this plugin is broken on purpose")
'''

BROKEN_IN_HOOK = '''
    import click
    import seqdl

    @click.command()
    def half():
        """Never reached."""

    @seqdl.hookimpl
    def register_commands(cli):
        cli.add_command(half)
        raise ValueError("oops in the hook")
'''


@pytest.fixture
def plugin_dir(tmp_path, make_distribution):
    root = tmp_path / "site"
    make_distribution(root, "seqdl-hello", "1.2.3", {"seqdl_hello": GOOD_PLUGIN}, {"hello": "seqdl_hello"})
    make_distribution(root, "seqdl-broken", "0.0.1", {"seqdl_broken": BROKEN_ON_IMPORT}, {"broken": "seqdl_broken"})
    make_distribution(root, "seqdl-halfway", "0.1", {"seqdl_halfway": BROKEN_IN_HOOK}, {"halfway": "seqdl_halfway"})
    return root


def test_third_party_command_runs_in_a_fresh_interpreter(plugin_dir, run_seqdl):
    result = run_seqdl("hello", "world", pythonpath=plugin_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello world\n"


def test_broken_plugins_are_named_and_the_cli_keeps_working(plugin_dir, run_seqdl):
    result = run_seqdl("hello", "again", pythonpath=plugin_dir)
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("seqdl: warning")]
    assert len(warnings) == 2
    assert any("'broken'" in w and "this plugin is broken on purpose" in w for w in warnings)
    assert any("'halfway'" in w and "oops in the hook" in w for w in warnings)
    assert "Traceback" not in result.stderr


def test_a_command_from_a_plugin_that_raised_is_withdrawn(plugin_dir, run_seqdl):
    result = run_seqdl("half", pythonpath=plugin_dir)
    assert result.returncode == 2
    assert "No such command 'half'" in result.stderr


def test_strict_mode_makes_a_broken_plugin_fatal(plugin_dir, run_seqdl):
    result = run_seqdl("hello", "x", pythonpath=plugin_dir, env_extra={"SEQDL_PLUGIN_ERRORS": "raise"})
    assert result.returncode == 1
    assert "broken" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_plugins_json_reports_versions_hooks_and_errors(plugin_dir, run_seqdl):
    result = run_seqdl("plugins", "--json", pythonpath=plugin_dir)
    assert result.returncode == 0
    infos = {p["name"]: p for p in json.loads(result.stdout)}
    assert infos["hello"]["distribution"] == "seqdl-hello"
    assert infos["hello"]["version"] == "1.2.3"
    assert infos["hello"]["hooks"] == ["register_commands", "register_decoders"]
    assert infos["hello"]["error"] is None
    assert "this plugin is broken on purpose" in infos["broken"]["error"]
    assert "oops in the hook" in infos["halfway"]["error"]
    # The built-in plugins come through the same entry-point group.
    assert {"analogy", "tsne", "corpora"} <= set(infos)
    assert infos["analogy"]["distribution"] == "seqdl"


def test_load_and_disable_controls(plugin_dir, run_seqdl):
    only = run_seqdl("plugins", "--json", pythonpath=plugin_dir, env_extra={"SEQDL_LOAD_PLUGINS": "hello"})
    loaded = {p["name"] for p in json.loads(only.stdout) if not p["disabled"]}
    assert loaded == {"hello"}
    assert only.stderr == ""  # the broken ones were not even imported

    none = run_seqdl("plugins", "--json", pythonpath=plugin_dir, env_extra={"SEQDL_LOAD_PLUGINS": ""})
    assert all(p["disabled"] for p in json.loads(none.stdout))

    blocked = run_seqdl("hello", "x", pythonpath=plugin_dir,
                        env_extra={"SEQDL_DISABLE_PLUGINS": "hello,broken,halfway"})
    assert blocked.returncode == 2 and blocked.stderr.count("seqdl: warning") == 0


def test_third_party_decoder_is_selectable_by_name(plugin_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setenv("SEQDL_LOAD_PLUGINS", "hello")
    host = PluginHost()
    host.load_entry_points()
    decoders = host.registry("decoders")
    assert host.owner("decoders", "argmax") == "hello"

    import numpy as np

    class Cycle:
        """Next token is always (last + 1) mod 4."""

        vocab_size = 4

        def _dist(self, last):
            logp = np.full(4, -10.0)
            logp[(last + 1) % 4] = 0.0
            return logp

        def start(self, prompt):
            return self._dist(prompt[-1]), prompt[-1]

        def step(self, state, token):
            return self._dist(token), token

    assert decoders["argmax"]().decode(Cycle(), [2], 5) == [3, 0, 1, 2, 3]


def test_in_process_host_with_cli_runner(plugin_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setenv("SEQDL_LOAD_PLUGINS", "hello")
    host = PluginHost()
    host.load_entry_points()
    result = CliRunner().invoke(make_cli(host), ["hello", "runner"])
    assert result.exit_code == 0
    assert result.output == "hello runner\n"
