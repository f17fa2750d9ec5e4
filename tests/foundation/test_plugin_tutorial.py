"""docs/plugins.md works as written: its files build a package that pip installs and seqdl loads."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def tutorial_files() -> dict[str, str]:
    """The files the tutorial tells the reader to write: ``<!-- file: NAME -->`` then a fenced block."""
    pattern = re.compile(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", re.S)
    return dict(pattern.findall(DOC.read_text(encoding="utf-8")))


def tutorial_snippet(heading: str) -> str:
    """The first python block under the section whose heading starts with ``heading``."""
    section = DOC.read_text(encoding="utf-8").split(f"## {heading}", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def installed_tutorial(tmp_path_factory):
    pytest.importorskip("setuptools", reason="building the tutorial package needs setuptools")
    project = tmp_path_factory.mktemp("seqdl-shout")
    for name, text in tutorial_files().items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(project)], check=True, timeout=300)
    return target


def test_tutorial_has_the_files_it_promises():
    assert set(tutorial_files()) == {"pyproject.toml", "seqdl_shout/__init__.py"}


def test_pip_installed_tutorial_plugin_adds_its_command(installed_tutorial, run_seqdl):
    result = run_seqdl("shout", "hello", "world", pythonpath=installed_tutorial)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "HELLO WORLD!\n"

    listing = run_seqdl("plugins", "--json", pythonpath=installed_tutorial)
    shout = {p["name"]: p for p in json.loads(listing.stdout)}["shout"]
    assert (shout["distribution"], shout["version"]) == ("seqdl-shout", "0.1.0")
    assert shout["hooks"] == ["register_commands", "register_decoders"]


def test_the_testing_snippet_runs(installed_tutorial, monkeypatch):
    monkeypatch.syspath_prepend(str(installed_tutorial))
    exec(compile(tutorial_snippet("5."), str(DOC), "exec"), {})
