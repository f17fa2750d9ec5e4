"""A command line with just the corpora plugin, for the corpus command tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def run_corpus(cli_with_plugins):
    """``run_corpus(args, env=None)``: invoke ``seqdl ARGS`` in-process with only the corpora plugin."""
    from click.testing import CliRunner

    import seqdl_corpora

    def run(args, env=None):
        return CliRunner().invoke(cli_with_plugins(corpora=seqdl_corpora), args, env=env)

    return run
