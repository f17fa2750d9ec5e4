"""The plugin contract: the hooks a seqdl plugin may implement.

A plugin is a module (found through the ``seqdl`` entry-point group) with
functions decorated by :data:`seqdl.hookimpl` whose names match the hooks
below. Registration hooks receive a ``register(name, obj)`` callback, so seqdl
owns the registry and can report two plugins that claim the same name.

New hook arguments are only ever added as optional ones: pluggy passes a
hook implementation just the arguments it names, so older plugins keep working.
"""

from __future__ import annotations

import pluggy

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "register_analogy_methods", "register_commands",
           "register_decoders", "register_projections"]

#: The project name pluggy uses to match hooks and implementations.
PROJECT_NAME = "seqdl"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorate a plugin's hook implementations with this.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_commands(cli):
    """Add click commands to the ``seqdl`` group with ``cli.add_command(command)``.

    Import heavy libraries (numba, scikit-learn, matplotlib) inside the
    command's function, not at module level, so ``seqdl --help`` stays fast.
    """


@hookspec
def register_decoders(register):
    """Register decoders: ``register(name, factory)``.

    ``factory(**options)`` returns a :class:`seqdl.decoding.Decoder`, an
    object whose ``decode(model, prompt, max_new_tokens)`` drives any
    :class:`seqdl.decoding.StepModel`; ``name`` selects it (for example
    ``seqdl generate --decoder NAME``).
    """


@hookspec
def register_projections(register):
    """Register 2-D projections: ``register(name, fn)``.

    ``fn(vectors, *, option=default, ...)`` takes an (N, D) float array
    (N >= 2, all finite) and returns an (N, 2) array; built in are
    ``"tsne"`` and ``"pca"``. Options are keyword arguments with defaults:
    :func:`seqdl.project` and ``seqdl project`` pass only those the user sets
    (``--seed``, ``--perplexity``, ``--metric``, ``--max-iter``,
    ``--workers`` and ``-O KEY=VALUE`` on the command line) and report one
    ``fn`` does not name as a one-line error; take ``seed`` if the result is
    random. Raise :class:`seqdl.errors.ParameterError` naming the option for
    an option value the user can fix (``seqdl project`` shows it as the
    matching flag), :class:`seqdl.SeqdlError` for other input the user can fix
    (vectors that are all equal, for example), and import heavy libraries
    inside ``fn``.
    """


@hookspec
def register_analogy_methods(register):
    """Register analogy scoring methods: ``register(name, fn)``.

    ``fn(candidates, positive, negative) -> scores`` scores a batch of queries:
    ``candidates`` is a (V, D) float32 array of unit-length word vectors,
    ``positive`` (B, P, D) and ``negative`` (B, N, D) hold the unit vectors of
    each query's positive and negative words (N may be 0), and ``scores`` is a
    (B, V) array, higher meaning a better answer. The caller excludes the query
    words and takes the top n, so ``fn`` only scores, with matrix products.
    Built in (plugin ``analogy``) are ``"3cosadd"`` and ``"3cosmul"``; choose
    one with ``seqdl analogy --method NAME``.
    """
