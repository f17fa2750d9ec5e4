"""Vocabulary building and subsampling thresholds."""

from __future__ import annotations

import numpy as np

from seqdl.text.vocab import Vocabulary


def test_build_sorts_by_count_keeps_ties_in_order_and_prunes():
    sentences = [["b", "a", "c", "a"], ["c", "d", "a", "e"], ["b"]]
    vocab = Vocabulary.build(sentences, min_count=2)
    assert vocab.words == ["a", "b", "c"]          # a:3; b and c tie at 2, b seen first
    assert vocab.counts.tolist() == [3, 2, 2]
    assert vocab.total_words == 9                  # unknown words count towards progress
    assert vocab.index["c"] == 2 and vocab.index["zzz"] == -1
    assert Vocabulary.build(sentences, min_count=1, max_vocab=2).words == ["a", "b"]
    assert len(Vocabulary.build(sentences, min_count=4)) == 0


def test_keep_thresholds_follow_word2vec_formula():
    vocab = Vocabulary(["the", "cat", "rare"], [10_000, 100, 1], 10_101)
    thresholds = vocab.keep_thresholds(1e-3)
    t = 1e-3 * 10_101
    expected = [min(1.0, (np.sqrt(c / t) + 1) * t / c) for c in (10_000, 100, 1)]
    np.testing.assert_allclose(thresholds / 2.0**32, expected, rtol=1e-6)
    assert thresholds.dtype == np.uint32 and thresholds[2] == 2**32 - 1
    assert (vocab.keep_thresholds(0) == 2**32 - 1).all()
