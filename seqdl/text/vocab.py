"""Vocabulary: word counts from a corpus, pruned by --min-count and --max-vocab."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np


class WordIndex(dict):
    """Word -> index, with -1 for an unknown word (so ``map(index.__getitem__, tokens)`` never fails)."""

    def __missing__(self, word: str) -> int:
        return -1


class Vocabulary:
    """Words sorted by descending count (ties in order of first appearance), with their counts.

    ``total_words`` is the number of tokens in the corpus, including those
    outside the vocabulary; it measures training progress.
    """

    def __init__(self, words: Sequence[str], counts: Sequence[int], total_words: int):
        self.words: list[str] = list(words)
        self.counts: np.ndarray = np.asarray(counts, dtype=np.int64)
        self.total_words: int = int(total_words)
        self.index: WordIndex = WordIndex((w, i) for i, w in enumerate(self.words))

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 5,
              max_vocab: int | None = None) -> "Vocabulary":
        """Count the tokens of ``sentences``; keep words seen at least ``min_count`` times.

        ``max_vocab`` then keeps only that many of the most frequent words.
        """
        counter: Counter[str] = Counter()
        for sentence in sentences:
            counter.update(sentence)
        total = sum(counter.values())
        kept = [(w, c) for w, c in counter.items() if c >= min_count]
        kept.sort(key=lambda item: -item[1])  # stable: ties stay in order of first appearance
        if max_vocab is not None:
            kept = kept[: max(0, int(max_vocab))]
        return cls([w for w, _ in kept], [c for _, c in kept], total)

    def keep_thresholds(self, sample: float) -> np.ndarray:
        """Subsampling: per word, a uint32 threshold; a word is kept if a uniform uint32 is at most it.

        The keep probability is word2vec's and gensim's
        ``(sqrt(f / t) + 1) * t / f`` with ``f`` the word's count and ``t =
        sample * (sum of vocabulary counts)``, capped at 1. ``sample <= 0``
        keeps every word.
        """
        counts = self.counts.astype(np.float64)
        if sample <= 0 or len(counts) == 0:
            keep = np.ones_like(counts)
        else:
            threshold = sample * counts.sum()
            keep = np.minimum((np.sqrt(counts / threshold) + 1) * (threshold / counts), 1.0)
        return np.minimum(np.round(keep * 2.0**32), 2.0**32 - 1).astype(np.uint32)
