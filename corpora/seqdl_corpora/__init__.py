"""seqdl_corpora: the ``seqdl corpus`` commands (a built-in seqdl plugin).

- ``seqdl corpus demo -o demo.txt``: a generated corpus with planted relations
  (:mod:`seqdl_corpora.demo`), enough for ``seqdl analogy king man woman``;
- ``seqdl corpus list`` / ``seqdl corpus get NAME``: public corpora from a
  checksummed catalog (:mod:`seqdl_corpora.catalog`), downloaded, verified and
  cached (:mod:`seqdl_corpora.download`).

Registered through the ``seqdl`` entry-point group like any third-party plugin.
"""

from __future__ import annotations

from seqdl import hookimpl


@hookimpl
def register_commands(cli):
    """Add the ``corpus`` group."""
    from .cli import corpus

    cli.add_command(corpus)
