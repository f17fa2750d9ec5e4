"""seqdl's t-SNE plugin: the ``tsne`` and ``pca`` projections and the ``seqdl project`` command.

Written exactly as a third-party plugin: it uses only seqdl's public API and
registers through the ``register_projections`` and ``register_commands``
hooks. Importing it is cheap; scikit-learn and matplotlib load on use.
"""

from __future__ import annotations

import seqdl


@seqdl.hookimpl
def register_projections(register):
    """The built-in projections: ``tsne`` and ``pca``."""
    from .projections import pca, tsne

    register("tsne", tsne)
    register("pca", pca)


@seqdl.hookimpl
def register_commands(cli):
    """``seqdl project``."""
    from .command import project_command

    cli.add_command(project_command)
