"""A small Dask LocalCluster (2 processes, 1 thread each, loopback only) shared by the distributed tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client():
    """A client of a 2-worker LocalCluster started for this test module."""
    pytest.importorskip("distributed")
    from seqdl.distributed import connect

    with connect("local:2") as dask_client:
        dask_client.wait_for_workers(2, timeout=60)
        yield dask_client


def _demo_corpus(path, scale: float, seed: int = 0) -> int:
    """Write the generated demo corpus (planted relations) to ``path``; return its token count."""
    from seqdl_corpora import demo

    with open(path, "w", encoding="utf-8") as out:
        return demo.write_corpus(out, seed=seed, size=demo.DemoSize().scaled(scale))


def _analogy_accuracy(wv) -> float:
    """3CosAdd accuracy on the demo corpus's planted relations (every question's words are in the vocabulary)."""
    import numpy as np
    from seqdl_corpora import demo

    vectors = wv.get_normed_vectors()
    right = total = 0
    for lines in demo.questions().values():
        for line in lines:
            a, b, c, d = (wv.get_index(w) for w in line.split())
            scores = vectors @ (vectors[b] - vectors[a] + vectors[c])
            scores[[a, b, c]] = -np.inf
            right += int(np.argmax(scores)) == d
            total += 1
    return right / total


@pytest.fixture
def demo_corpus():
    """``demo_corpus(path, scale, seed=0)`` writes the demo corpus and returns its token count."""
    return _demo_corpus


@pytest.fixture
def analogy_accuracy():
    """``analogy_accuracy(wv)``: 3CosAdd accuracy on the demo corpus's planted relations."""
    return _analogy_accuracy
