"""The public API is what seqdl and its public modules export in __all__; built-in plugins use nothing else."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import seqdl

ROOT = Path(__file__).resolve().parents[2]
#: Modules plugin authors may import from (docs/plugins.md), besides ``seqdl`` itself.
PUBLIC_MODULES = ("seqdl.errors", "seqdl.io", "seqdl.progress", "seqdl.options", "seqdl.plugins",
                  "seqdl.resources", "seqdl.hookspecs", "seqdl.projection", "seqdl.decoding", "seqdl.logits")
#: Every built-in plugin.
PLUGIN_DIRS = ("plugins/seqdl_analogy", "plugins/seqdl_tsne", "corpora/seqdl_corpora", "plugins/seqdl_beam",
               "plugins/seqdl_sampling")


def _exported(module: str) -> set[str]:
    return set(importlib.import_module(module).__all__)


@pytest.mark.parametrize("module", ["seqdl", *PUBLIC_MODULES])
def test_public_modules_declare_all_and_every_name_exists(module):
    mod = importlib.import_module(module)
    assert mod.__all__, module
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing, (module, missing)


def _seqdl_uses(path: Path):
    """(module, name, line) for every name a file takes from seqdl: imports and ``seqdl.NAME`` attributes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "seqdl":
            for alias in node.names:
                yield node.module, alias.name, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("seqdl.") and not alias.name.startswith("seqdl_"):
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "seqdl":
            yield "seqdl", node.attr, node.lineno


@pytest.mark.parametrize("folder", PLUGIN_DIRS)
def test_builtin_plugins_use_only_the_public_api(folder):
    public = {"seqdl": set(seqdl.__all__), **{m: _exported(m) for m in PUBLIC_MODULES}}
    wrong = []
    for path in sorted((ROOT / folder).glob("*.py")):
        for module, name, line in _seqdl_uses(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module not in public:
                wrong.append(f"{where} imports from private module {module}")
            elif name is not None and name not in public[module]:
                wrong.append(f"{where} uses {module}.{name}, which {module}.__all__ does not export")
    assert not wrong, "\n".join(wrong)


def test_docs_name_every_public_module():
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert all(f"`{module}`" in text for module in PUBLIC_MODULES)
