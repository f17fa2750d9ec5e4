"""The built-in 2-D projections: t-SNE and PCA, both from scikit-learn.

Each takes an (N, D) float array and keyword options and returns an (N, 2)
array; scikit-learn is imported only when one runs. Mistakes a user can make
(a perplexity too large for the number of points, an unknown metric) raise
:class:`seqdl.errors.ParameterError` naming the option, and input with
nothing to map (every vector the same, which crashes scikit-learn's t-SNE
with a segmentation fault) a :class:`seqdl.errors.InputError`, each one line
saying how to fix it.
"""

from __future__ import annotations

import numbers

import numpy as np

from seqdl.errors import InputError, ParameterError, SeqdlError

#: Metrics the built-in projections accept: cosine suits word vectors, whose length mostly tracks frequency.
METRICS = ("cosine", "euclidean")


def _check_points(name: str, vectors: np.ndarray, minimum: int) -> None:
    """Refuse too few points, vectors of one dimension, and points that are all the same (nothing to map)."""
    n, dim = vectors.shape
    if n < minimum:
        raise SeqdlError(f"{name} needs at least {minimum} points, got {n}")
    if dim < 2:
        raise SeqdlError(f"{name} needs vectors of at least 2 dimensions, got {dim}")
    if not np.ptp(vectors, axis=0).any():
        what = "all zeros" if not vectors[0].any() else "all equal"
        raise InputError(f"{name} cannot map these {n} vectors: they are {what}, so there is nothing to "
                         "tell apart (were the vectors trained?)")


def _check_number(name: str, option: str, value, integer: bool = False) -> None:
    """Refuse a value that is not a number (say ``-O max_iter=lots``) before comparing it with one."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real):
        raise ParameterError(option, f"{name} needs {'an integer' if integer else 'a number'}, got {value!r}")


def _check_metric(name: str, metric: str) -> None:
    if metric not in METRICS:
        raise ParameterError("metric", f"unknown metric {metric!r} for {name} (choose from {', '.join(METRICS)})")


def tsne(vectors: np.ndarray, *, perplexity: float = 30.0, metric: str = "cosine", seed: int = 0,
         init: str = "pca", max_iter: int = 1000, learning_rate: float | str = "auto",
         early_exaggeration: float = 12.0, workers: int = 1) -> np.ndarray:
    """t-SNE (scikit-learn, Barnes-Hut); the same ``seed`` gives the same map.

    ``init="pca"`` (the default) starts from the principal components, which
    keeps the global layout stable and makes the result barely depend on
    ``seed``; ``init="random"`` starts from a random layout drawn from
    ``seed``. ``perplexity`` must be below the number of points (about N/3 or
    less suits small sets); ``max_iter`` is at least 250.

    ``workers`` is the number of OpenMP threads for the gradient. One is the
    default because scikit-learn's threads wait for each other by spinning:
    on a busy machine two threads made a 500-word map ten times slower than
    one (42 s against 4.5 s here), while on idle cores more threads pay off
    only for maps of many thousands of words.
    """
    _check_points("t-SNE", vectors, 3)
    _check_metric("t-SNE", metric)
    _check_number("t-SNE", "perplexity", perplexity)
    _check_number("t-SNE", "max_iter", max_iter, integer=True)
    _check_number("t-SNE", "workers", workers, integer=True)
    n = vectors.shape[0]
    if not 0 < perplexity < n:
        hint = max(1, (n - 1) // 3)
        raise ParameterError("perplexity", f"t-SNE needs a perplexity above 0 and below the number of points ({n}), "
                                           f"got {perplexity:g}; try {hint}")
    if init not in ("pca", "random"):
        raise ParameterError("init", f"unknown t-SNE init {init!r} (choose from pca, random)")
    if max_iter < 250:
        raise ParameterError("max_iter", f"t-SNE needs at least 250 iterations, got {max_iter}")
    if workers < 1:
        raise ParameterError("workers", f"t-SNE needs at least 1 worker, got {workers}")
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    model = TSNE(n_components=2, perplexity=perplexity, metric=metric, init=init, random_state=seed,
                 max_iter=max_iter, learning_rate=learning_rate, early_exaggeration=early_exaggeration)
    try:
        with threadpool_limits(limits=workers, user_api="openmp"):
            return model.fit_transform(vectors)
    except ValueError as exc:  # scikit-learn's parameter validation: the user's value, one line
        raise SeqdlError(f"t-SNE: {str(exc).splitlines()[0]}") from None


def pca(vectors: np.ndarray, *, metric: str = "cosine") -> np.ndarray:
    """The first two principal components; with ``metric="cosine"`` the vectors are unit-normed first.

    Deterministic: PCA has no seed.
    """
    _check_points("PCA", vectors, 2)
    _check_metric("PCA", metric)
    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms > 0, norms, 1)
    from sklearn.decomposition import PCA

    return PCA(n_components=2, svd_solver="full").fit_transform(vectors)
