"""Word vectors with known structure for the projection tests: three far-apart clusters."""

from __future__ import annotations

import numpy as np
import pytest

import seqdl

CLUSTERS = ("ant", "bee", "cat")
PER_CLUSTER = 16
DIM = 12
FAST_TSNE = {"perplexity": 8, "max_iter": 400}


def _clustered_vectors() -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(len(CLUSTERS), DIM)) * 4
    words, rows, labels = [], [], []
    for c, stem in enumerate(CLUSTERS):
        for i in range(PER_CLUSTER):
            words.append(f"{stem}{i}")
            rows.append(centres[c] + rng.normal(scale=0.3, size=DIM))
            labels.append(c)
    order = rng.permutation(len(words))  # interleave clusters in "frequency" order
    return [words[i] for i in order], np.array(rows, dtype=np.float32)[order], np.array(labels)[order]


@pytest.fixture
def clusters() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(words, float32 vectors, cluster of each word): 48 words in three tight, far-apart clusters."""
    return _clustered_vectors()


@pytest.fixture
def fast_tsne() -> dict:
    """t-SNE options small enough for ~50 points to run in a fraction of a second."""
    return dict(FAST_TSNE)


@pytest.fixture
def kv(clusters):
    """The clusters as KeyedVectors, in the (shuffled) order of ``clusters``."""
    words, vectors, _ = clusters
    return seqdl.KeyedVectors(words, vectors)


@pytest.fixture
def vectors_file(tmp_path, kv):
    """``kv`` saved as a word2vec text file, as 'seqdl embed' writes it."""
    path = tmp_path / "vectors.vec"
    kv.save_word2vec_format(path)
    return path
