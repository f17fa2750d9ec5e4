"""A generated corpus with planted structure, so tests can check that training learns."""

from __future__ import annotations

import numpy as np
import pytest

TOPICS = 6
TOPIC_WORDS = 8


def planted_sentences(n_sentences: int = 600, length: int = 12, seed: int = 0) -> list[list[str]]:
    """Sentences each drawn from one topic's words (``t3w5``), with frequent filler words mixed in.

    Words of one topic share their contexts, so they must end up closer to
    each other than to words of other topics.
    """
    rng = np.random.default_rng(seed)
    fillers = ["the", "of", "and", "a"]
    sentences = []
    for _ in range(n_sentences):
        topic = rng.integers(TOPICS)
        words = [f"t{topic}w{i}" if rng.random() < 0.8 else fillers[rng.integers(len(fillers))]
                 for i in rng.integers(TOPIC_WORDS, size=length)]
        sentences.append(words)
    return sentences


def topic_separation(wv) -> float:
    """Mean cosine within topics minus mean cosine across topics."""
    same, other = [], []
    for t in range(TOPICS):
        for u in range(TOPICS):
            for i in range(0, TOPIC_WORDS, 2):
                a, b = f"t{t}w{i}", f"t{u}w{i + 1}"
                (same if t == u else other).append(wv.similarity(a, b))
    return float(np.mean(same) - np.mean(other))


@pytest.fixture(scope="session")
def planted():
    """The default planted corpus (7,200 tokens)."""
    return planted_sentences()


@pytest.fixture
def planted_file(tmp_path, planted):
    """The planted corpus written as a text file, one sentence per line."""
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in planted) + "\n", encoding="utf-8")
    return path
