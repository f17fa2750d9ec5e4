"""PluginHost: registries, conflicts and errors, with plugins registered in-process."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

import seqdl
from seqdl.cli import make_cli
from seqdl.errors import PluginError
from seqdl.plugins import PluginHost


class Projections:
    """A plugin object registering two projections."""

    def __init__(self, *names):
        self.names = names

    @seqdl.hookimpl
    def register_projections(self, register):
        for name in self.names:
            register(name, lambda vectors, _n=name: _n)


def test_registry_collects_from_every_plugin():
    host = PluginHost()
    host.register(Projections("a", "b"), name="first")
    host.register(Projections("c"), name="second")
    assert sorted(host.registry("projections")) == ["a", "b", "c"]
    assert host.owner("projections", "c") == "second"
    assert host.registry("decoders") == {}


def test_same_name_from_two_plugins_is_an_error_naming_both(capsys):
    host = PluginHost()
    host.register(Projections("tsne"), name="first")
    host.register(Projections("tsne", "other"), name="second")
    registry = host.registry("projections")
    assert host.owner("projections", "tsne") == "first"
    assert "other" in registry
    err = capsys.readouterr().err
    assert "'tsne'" in err and "'first'" in err and "'second'" in err
    assert "'first'" in err.splitlines()[0]


def test_conflict_is_fatal_in_strict_mode(monkeypatch):
    monkeypatch.setenv("SEQDL_PLUGIN_ERRORS", "raise")
    host = PluginHost()
    host.register(Projections("tsne"), name="first")
    host.register(Projections("tsne"), name="second")
    with pytest.raises(PluginError, match="both plugin 'first' and plugin 'second'"):
        host.registry("projections")


def test_plugin_raising_in_a_registration_hook_contributes_nothing(capsys):
    class Bad:
        @seqdl.hookimpl
        def register_projections(self, register):
            register("half", object())
            raise RuntimeError("boom")

    host = PluginHost()
    host.register(Bad(), name="bad")
    host.register(Projections("good"), name="fine")
    assert list(host.registry("projections")) == ["good"]
    assert "plugin 'bad' raised in register_projections: RuntimeError: boom" in capsys.readouterr().err
    assert "boom" in {p.name: p for p in host.plugins()}["bad"].error


def test_command_name_clash_keeps_the_original(capsys, cli_with):
    @click.command("plugins")
    def impostor():
        """Pretends to be the core command."""
        click.echo("impostor")

    cli = cli_with(impostor, name="clash")
    assert "command 'plugins' is registered by both plugin 'seqdl' and plugin 'clash'" in capsys.readouterr().err
    result = CliRunner().invoke(cli, ["plugins"])
    assert "impostor" not in result.output


def test_bad_hook_signature_is_reported_not_raised(capsys):
    class WrongArgs:
        @seqdl.hookimpl
        def register_commands(self, cli, surprise):
            pass

    host = PluginHost()
    host.register(WrongArgs(), name="wrong")
    assert "plugin 'wrong' failed to register" in capsys.readouterr().err
    assert host.plugins()[0].error.startswith("failed to register")


def test_old_plugin_taking_fewer_arguments_still_works():
    calls = []

    class NoArgs:
        @seqdl.hookimpl
        def register_commands(self):
            calls.append("called")

    host = PluginHost()
    host.register(NoArgs(), name="old")
    make_cli(host)
    assert calls == ["called"]


def test_unknown_registry_kind():
    with pytest.raises(KeyError, match="unknown registry"):
        PluginHost().registry("nonsense")


def test_lookup_inside_a_command_uses_the_host_that_built_the_cli(cli_with):
    from seqdl.plugins import lookup

    @click.command()
    def show():
        click.echo(lookup("projections", "only-in-this-host")(None))

    host = PluginHost()
    host.register(Projections("only-in-this-host"), name="local")
    result = CliRunner().invoke(cli_with(show, host=host), ["show"])
    assert result.exit_code == 0, result.output
    assert result.output == "only-in-this-host\n"


def test_lookup_of_an_unknown_name_lists_the_choices(cli_with):
    from seqdl.plugins import lookup

    @click.command()
    def show():
        lookup("projections", "nope")

    host = PluginHost()
    host.register(Projections("a", "b"), name="local")
    result = CliRunner().invoke(cli_with(show, host=host), ["show"])
    assert result.exit_code == 1
    assert result.output == "Error: unknown projection 'nope' (available: a, b)\n"
