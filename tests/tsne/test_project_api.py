"""seqdl.project: dispatch by name, row selection, determinism and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

import seqdl
from seqdl.errors import InputError, ShapeError, VocabularyError


def nearest_neighbour_agreement(xy: np.ndarray, labels: np.ndarray) -> float:
    """Share of points whose nearest other point in ``xy`` has the same label."""
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return float(np.mean(labels[d.argmin(axis=1)] == labels))


@pytest.mark.parametrize("method", ["tsne", "pca"])
def test_projection_keeps_clusters_apart(method, clusters, fast_tsne):
    _, vectors, labels = clusters
    xy = seqdl.project(vectors, method=method, **(fast_tsne if method == "tsne" else {}))
    assert xy.shape == (len(vectors), 2) and xy.dtype == np.float64
    assert nearest_neighbour_agreement(xy, labels) == 1.0


@pytest.mark.parametrize("init", ["pca", "random"])
def test_same_seed_same_coordinates(init, clusters, fast_tsne):
    first = seqdl.project(clusters[1], seed=3, init=init, **fast_tsne)
    again = seqdl.project(clusters[1], seed=3, init=init, **fast_tsne)
    np.testing.assert_array_equal(first, again)


def test_thread_count_does_not_change_the_map(clusters):
    one = seqdl.project(clusters[1][:20], perplexity=5, max_iter=250)
    two = seqdl.project(clusters[1][:20], perplexity=5, max_iter=250, workers=2)
    np.testing.assert_array_equal(one, two)


def test_seed_draws_the_random_start(clusters, fast_tsne):
    first = seqdl.project(clusters[1], seed=3, init="random", **fast_tsne)
    other = seqdl.project(clusters[1], seed=4, init="random", **fast_tsne)
    assert not np.allclose(first, other)


def test_words_pick_rows_of_keyed_vectors_in_order(kv):
    words = [kv.index_to_key[i] for i in (7, 2, 30, 11, 5)]
    rows = kv.vectors[[7, 2, 30, 11, 5]]
    np.testing.assert_array_equal(seqdl.project(kv, words, method="pca"), seqdl.project(rows, method="pca"))
    assert seqdl.project(kv, method="pca").shape == (len(kv), 2)


def test_every_missing_word_is_named(kv):
    with pytest.raises(VocabularyError) as err:
        seqdl.project(kv, ["ant0", "zebra", "bee1", "yak"], method="pca")
    assert err.value.words == ["zebra", "yak"]
    assert str(err.value) == "words not in vocabulary: 'zebra', 'yak'"


def test_cosine_pca_ignores_vector_length_euclidean_does_not(clusters):
    vectors = clusters[1]
    scaled = vectors * np.linspace(0.5, 3.0, len(vectors), dtype=np.float32)[:, None]
    np.testing.assert_allclose(seqdl.project(scaled, method="pca"), seqdl.project(vectors, method="pca"),
                               rtol=1e-5, atol=1e-6)
    assert not np.allclose(seqdl.project(scaled, method="pca", metric="euclidean"),
                           seqdl.project(vectors, method="pca", metric="euclidean"), atol=1e-3)


def test_perplexity_must_be_below_the_number_of_points(clusters):
    vectors = clusters[1][:10]
    with pytest.raises(seqdl.SeqdlError, match=r"perplexity: .* below the number of points \(10\), got 10; try"):
        seqdl.project(vectors, perplexity=10, max_iter=250)
    assert seqdl.project(vectors, perplexity=9, max_iter=250).shape == (10, 2)


@pytest.mark.parametrize("rows, method, message", [
    (1, "pca", "need at least 2 points to project, got 1"),
    (2, "tsne", "t-SNE needs at least 3 points, got 2"),
])
def test_too_few_points(rows, method, message, clusters):
    with pytest.raises(seqdl.SeqdlError, match=message):
        seqdl.project(clusters[1][:rows], method=method)


@pytest.mark.parametrize("options, message", [
    ({"metric": "manhattan"}, "metric: unknown metric 'manhattan' for t-SNE (choose from cosine, euclidean)"),
    ({"max_iter": 10}, "max_iter: t-SNE needs at least 250 iterations, got 10"),
    ({"init": "spectral"}, "init: unknown t-SNE init 'spectral' (choose from pca, random)"),
    ({"workers": 0}, "workers: t-SNE needs at least 1 worker, got 0"),
    ({"perplexity": "abc"}, "perplexity: t-SNE needs a number, got 'abc'"),
    ({"max_iter": "lots"}, "max_iter: t-SNE needs an integer, got 'lots'"),
    ({"workers": 1.5}, "workers: t-SNE needs an integer, got 1.5"),
    ({"learning_rate": -1.0}, "t-SNE: The 'learning_rate' parameter of TSNE must be"),
    ({"perplexity": 5, "n_neighbours": 3}, "projection 'tsne' has no option 'n_neighbours' (it takes: perplexity,"),
])
def test_bad_tsne_options_are_one_line_errors(options, message, clusters):
    with pytest.raises(seqdl.SeqdlError) as err:
        seqdl.project(clusters[1], **options)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_unknown_method_lists_the_registered_ones(clusters):
    with pytest.raises(seqdl.SeqdlError, match=r"unknown projection 'umap' \(available: .*pca, .*tsne"):
        seqdl.project(clusters[1], method="umap")


def test_pca_takes_no_seed(clusters):
    with pytest.raises(seqdl.SeqdlError, match="projection 'pca' has no option 'seed' \\(it takes: metric\\)"):
        seqdl.project(clusters[1], method="pca", seed=1)


def test_bad_arrays(clusters):
    vectors = clusters[1].copy()
    with pytest.raises(ShapeError, match=r"2-D \(N, D\) array, got shape \(12,\)"):
        seqdl.project(vectors[0], method="pca")
    vectors[[3, 8]] = np.nan
    with pytest.raises(InputError, match=r"NaN or infinity \(rows 3, 8\)"):
        seqdl.project(vectors, method="pca")
    with pytest.raises(TypeError, match="words selects rows"):
        seqdl.project(vectors, ["ant0"], method="pca")
    with pytest.raises(seqdl.SeqdlError, match="PCA needs vectors of at least 2 dimensions, got 1"):
        seqdl.project(vectors[10:15, :1], method="pca")
