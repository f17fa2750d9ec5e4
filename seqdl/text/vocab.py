"""Vocabulary: word counts from a corpus (in bounded memory if asked), pruned by --min-count and --max-vocab."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, Sequence

import numpy as np


#: The share of a capped counter's room that a pruning frees at least (pruning costs a pass over the counter).
HEADROOM = 0.2


class WordCounter:
    """Word counts that never hold more than ``max_entries`` distinct words (None: no limit).

    As gensim's ``max_vocab_size``: whenever the counter passes
    ``max_entries`` words, the rarest are pruned (every word counted fewer
    than ``floor`` times, starting at 2), so a corpus with tens of millions
    of distinct tokens counts in a fixed budget. Unlike gensim, which raises
    its floor at every pruning (so that after many prunings a fairly frequent
    word is dropped while the last singletons stay) and may stay over the
    cap, the floor rises only when pruning at it leaves less than
    :data:`HEADROOM` of the cap free, and the counter always ends within it. The result is **approximate** once a pruning has
    happened (``pruned`` is then true): a word pruned and seen again restarts
    from zero, so a count may be too low by up to ``floor - 1`` per pruning,
    and a word that was always rare may be missing. ``total`` (the number of
    tokens) is always exact.

    Counters of shards of a corpus merge with :meth:`merge`; without pruning,
    merging the shards' counters in corpus order gives exactly the counter of
    the whole corpus, word order (first appearance) included.
    """

    def __init__(self, max_entries: int | None = None):
        if max_entries is not None and max_entries < 1:
            from ..errors import ParameterError

            raise ParameterError("max_vocab_memory", "must be at least 1")
        self.max_entries = max_entries
        self.counts: Counter[str] = Counter()
        self.total = 0
        self.floor = 2
        self.pruned = False

    def __len__(self) -> int:
        return len(self.counts)

    def update(self, tokens: Sequence[str]) -> None:
        """Count ``tokens`` (one sentence, or all the tokens of a piece of text), then prune if over the cap."""
        self.counts.update(tokens)
        self.total += len(tokens)
        self._check_cap()

    def merge(self, other: "WordCounter") -> "WordCounter":
        """Add ``other``'s counts and total (words new to this counter go after its own); returns self."""
        self.counts.update(other.counts)
        self.total += other.total
        self.floor = max(self.floor, other.floor)
        self.pruned = self.pruned or other.pruned
        self._check_cap()
        return self

    def _check_cap(self) -> None:
        if self.max_entries is None or len(self.counts) <= self.max_entries:
            return
        room = int(self.max_entries * (1 - HEADROOM))  # so that the next pruning is many new words away
        while True:
            self.counts = Counter({w: c for w, c in self.counts.items() if c >= self.floor})
            if len(self.counts) <= room:
                break
            self.floor += 1
        self.pruned = True


class WordIndex(dict):
    """Word -> index, with -1 for an unknown word (so ``map(index.__getitem__, tokens)`` never fails)."""

    def __missing__(self, word: str) -> int:
        return -1


def count_pieces(pieces: Iterable, lowercase: bool = True, counter: WordCounter | None = None) -> WordCounter:
    """Count the tokens of the text :class:`~seqdl.text.corpus.Piece` s (of a corpus or a shard) into ``counter``.

    The same tokens as counting :meth:`~seqdl.text.corpus.Corpus.sentences`,
    a piece at a time rather than a sentence at a time.
    """
    counter = counter if counter is not None else WordCounter()
    for piece in pieces:
        counter.update((piece.text.lower() if lowercase else piece.text).split())
    return counter


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
              max_vocab: int | None = None, max_vocab_memory: int | None = None) -> "Vocabulary":
        """Count the tokens of ``sentences``; keep words seen at least ``min_count`` times.

        ``max_vocab`` then keeps only that many of the most frequent words.
        ``max_vocab_memory`` bounds the distinct words held while counting
        (approximate counts; see :class:`WordCounter`).
        """
        counter = WordCounter(max_vocab_memory)
        for sentence in sentences:
            counter.update(sentence)
        return cls.from_counts(counter.counts, counter.total, min_count, max_vocab)

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], total_words: int, min_count: int = 5,
                    max_vocab: int | None = None) -> "Vocabulary":
        """The vocabulary of words counted at least ``min_count`` times in ``counts`` (in first-appearance order).

        ``max_vocab`` then keeps only that many of the most frequent words.
        """
        total = int(total_words)
        kept = [(w, c) for w, c in counts.items() if c >= min_count]
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
