"""Project word vectors to 2-D through the projections plugins register.

:func:`project` is the one entry point: it picks the rows to project, checks
them, calls the projection registered under ``method`` (``"tsne"`` and
``"pca"`` are built in; a plugin adds others with the ``register_projections``
hook) and checks what comes back.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import InputError, PluginError, ShapeError, VocabularyError
from .plugins import PluginHost, check_options, lookup

__all__ = ["project"]


def project(vectors: Any, words: Sequence[str] | None = None, method: str = "tsne", *,
            host: PluginHost | None = None, **options: Any) -> np.ndarray:
    """Map vectors to 2-D with the projection registered as ``method``; returns an (N, 2) float64 array.

    ``vectors`` is either word vectors with ``key_to_index`` and ``vectors``
    attributes (:class:`seqdl.KeyedVectors`, or gensim's) — then ``words``
    picks the rows, in order, and defaults to every word — or an (N, D) array
    whose rows are all projected (``words`` must then be None).

    ``options`` go to the projection as keyword arguments, for example
    ``perplexity=10, seed=1`` for ``"tsne"``; an option the projection does
    not take is a :class:`~seqdl.SeqdlError` naming the ones it does.
    ``host`` is the :class:`~seqdl.plugins.PluginHost` whose projections to
    use (default: the installed plugins).

    >>> xy = seqdl.project(kv, ["king", "queen", "man", "woman"], method="pca")
    """
    matrix = _rows(vectors, words)
    function = lookup("projections", method, host)
    check_options(f"projection {method!r}", function, options, skip=1)
    result = np.asarray(function(matrix, **options), dtype=np.float64)
    if result.shape != (matrix.shape[0], 2):
        raise PluginError(f"projection {method!r} returned shape {result.shape}, expected ({matrix.shape[0]}, 2)")
    if not np.isfinite(result).all():
        raise PluginError(f"projection {method!r} returned NaN or infinite coordinates")
    return result


def _rows(vectors: Any, words: Sequence[str] | None) -> np.ndarray:
    """The (N, D) float matrix to project, checked."""
    if hasattr(vectors, "key_to_index") and hasattr(vectors, "vectors"):
        table = np.asarray(vectors.vectors)
        if words is None:
            matrix = table
        else:
            if isinstance(words, str):
                raise TypeError("words must be a sequence of words, not one string")
            # has_vector: a fastText model also builds vectors for words it never saw.
            known = getattr(vectors, "has_vector", lambda w: w in vectors.key_to_index)
            missing = [w for w in words if not known(w)]
            if missing:
                raise VocabularyError(missing)
            if all(w in vectors.key_to_index for w in words):
                matrix = table[[vectors.key_to_index[w] for w in words]]
            else:
                matrix = np.stack([np.asarray(vectors.get_vector(w)) for w in words])
    else:
        if words is not None:
            raise TypeError("words selects rows of word vectors (KeyedVectors); pass an array's rows directly")
        matrix = np.asarray(vectors)
    if matrix.ndim != 2:
        raise ShapeError(f"vectors to project must be a 2-D (N, D) array, got shape {matrix.shape}")
    if not np.issubdtype(matrix.dtype, np.floating):
        matrix = matrix.astype(np.float64)
    if matrix.shape[0] < 2:
        raise InputError(f"need at least 2 points to project, got {matrix.shape[0]}")
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if bad.size:
        where = ", ".join(map(str, bad[:5])) + (", ..." if bad.size > 5 else "")
        raise InputError(f"vectors contain NaN or infinity (rows {where})")
    return matrix
