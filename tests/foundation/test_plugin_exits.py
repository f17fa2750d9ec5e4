"""A plugin cannot end the process: SystemExit and its own KeyboardInterrupt are plugin failures.

The user's Ctrl-C while plugins load still stops seqdl, and naming a plugin
that is not installed in SEQDL_LOAD_PLUGINS / SEQDL_DISABLE_PLUGINS warns.
"""

from __future__ import annotations

import json

import pytest

from seqdl.plugins import PluginHost

EXITS_ON_IMPORT = '''
    import sys
    sys.exit("this plugin calls sys.exit at import")
'''

INTERRUPTS_ON_IMPORT = '''
    raise KeyboardInterrupt("this plugin raises KeyboardInterrupt at import")
'''

EXITS_IN_HOOK = '''
    import seqdl

    @seqdl.hookimpl
    def register_commands(cli):
        raise SystemExit(3)
'''

SIGNALLED_DURING_IMPORT = '''
    import os, signal, time
    os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C arriving while this plugin loads
    time.sleep(5)
'''


@pytest.fixture
def exiting_plugins(tmp_path, make_distribution):
    root = tmp_path / "site"
    make_distribution(root, "seqdl-exits", "1.0", {"seqdl_exits": EXITS_ON_IMPORT}, {"exits": "seqdl_exits"})
    make_distribution(root, "seqdl-interrupts", "1.0", {"seqdl_interrupts": INTERRUPTS_ON_IMPORT},
                      {"interrupts": "seqdl_interrupts"})
    make_distribution(root, "seqdl-hookexit", "1.0", {"seqdl_hookexit": EXITS_IN_HOOK}, {"hookexit": "seqdl_hookexit"})
    return root


def test_plugins_that_exit_or_interrupt_are_named_warnings(exiting_plugins, run_seqdl):
    result = run_seqdl("plugins", "--json", pythonpath=exiting_plugins)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("seqdl: warning")]
    assert len(warnings) == 3, result.stderr
    assert any("'exits'" in w and "SystemExit: this plugin calls sys.exit at import" in w for w in warnings)
    assert any("'interrupts'" in w and "KeyboardInterrupt" in w for w in warnings)
    assert any("'hookexit'" in w and "register_commands" in w and "SystemExit" in w for w in warnings)
    strict = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"not strict JSON: {name}"))
    infos = {p["name"]: p for p in strict}
    assert "SystemExit" in infos["exits"]["error"]
    assert "analogy" in infos and infos["analogy"]["error"] is None


def test_ctrl_c_while_a_plugin_loads_still_stops(tmp_path, make_distribution, monkeypatch):
    root = make_distribution(tmp_path / "site", "seqdl-slow", "1.0", {"seqdl_slow": SIGNALLED_DURING_IMPORT},
                             {"slow": "seqdl_slow"})
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("SEQDL_LOAD_PLUGINS", "slow")
    with pytest.raises(KeyboardInterrupt):
        PluginHost().load_entry_points()


def test_load_plugins_naming_nothing_installed_warns_with_the_names_that_exist(run_seqdl):
    result = run_seqdl("plugins", env_extra={"SEQDL_LOAD_PLUGINS": "analogyy"})
    assert result.returncode == 0
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("seqdl: warning")]
    assert "SEQDL_LOAD_PLUGINS names no installed plugin 'analogyy'" in warning
    assert "installed: analogy, " in warning


def test_disable_plugins_naming_an_unknown_plugin_warns(capsys, monkeypatch):
    monkeypatch.setenv("SEQDL_DISABLE_PLUGINS", "tsne,nosuch")
    host = PluginHost()
    host.load_entry_points()
    err = capsys.readouterr().err
    assert "SEQDL_DISABLE_PLUGINS names no installed plugin 'nosuch'" in err
    assert "'tsne'" not in err
    assert {p.name: p for p in host.plugins()}["tsne"].disabled
