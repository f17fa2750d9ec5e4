"""Vocabularies: token counts from a corpus (in bounded memory if asked) and the ids models use.

One counting and ranking path for both halves of seqdl: :class:`WordCounter`
counts, :meth:`Vocabulary.from_counts` ranks (descending count, ties in order
of first appearance) and caps; :class:`Vocabulary` is what word2vec trains on,
:class:`TokenVocabulary` (the same ranking, plus ``<unk>``) what a language
model reads and writes.
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..errors import InputError
from .tokenize import LEVELS, split_tokens

#: The token a language model reads in place of a word outside its vocabulary.
UNKNOWN = "<unk>"


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


def count_pieces(pieces: Iterable, lowercase: bool = True, counter: WordCounter | None = None,
                 level: str | None = None) -> WordCounter:
    """Count the tokens of the text :class:`~seqdl.text.corpus.Piece` s (of a corpus or a shard) into ``counter``.

    By default the same tokens as counting
    :meth:`~seqdl.text.corpus.Corpus.sentences`, a piece at a time rather than
    a sentence at a time; with ``level`` ('char' or 'word'), a language
    model's tokens (:func:`~seqdl.text.tokenize.split_tokens`).
    """
    counter = counter if counter is not None else WordCounter()
    for piece in pieces:
        text = piece.text.lower() if lowercase else piece.text
        counter.update(text.split() if level is None else split_tokens(text, level))
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


class TokenVocabulary:
    """A language model's tokens and their ids, for one ``level`` ('char' or 'word').

    Built from counts, the tokens are ranked as :class:`Vocabulary` ranks
    words (descending count, ties in order of first appearance); at word
    level, words beyond the ``max_words`` most frequent become ``<unk>``,
    which then comes last (as in PyTorch's word_language_model corpora),
    unless the text itself has the token ``<unk>``, which keeps its rank.
    Model files store the token list, so a model keeps the order it was
    trained with.
    """

    def __init__(self, tokens: Sequence[str], level: str):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        self.tokens = list(tokens)
        self.level = level
        self.index = {token: i for i, token in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocabulary tokens must be unique")

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], level: str, max_words: int | None = None) -> "TokenVocabulary":
        """The vocabulary of a token list; at word level at most ``max_words`` plus ``<unk>``."""
        counter = WordCounter()
        counter.update(tokens)
        return cls.from_counts(counter, level, max_words)

    @classmethod
    def from_counts(cls, counts: WordCounter | Mapping[str, int], level: str,
                    max_words: int | None = None) -> "TokenVocabulary":
        """The vocabulary of token counts; at word level at most ``max_words`` plus ``<unk>``."""
        counts = counts.counts if isinstance(counts, WordCounter) else counts
        cap = max_words if level == "word" else None
        ranked = Vocabulary.from_counts(counts, sum(counts.values()), min_count=1, max_vocab=cap)
        tokens = ranked.words
        # <unk> stands for the words the cap dropped (a zero count is no word of the text).
        if len(tokens) < sum(1 for c in counts.values() if c > 0) and UNKNOWN not in ranked.index:
            tokens.append(UNKNOWN)
        return cls(tokens, level)

    def __len__(self) -> int:
        return len(self.tokens)

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """Ids of tokens seen in training; unseen words map to ``<unk>`` where the vocabulary has it."""
        unk = self.index.get(UNKNOWN)
        if unk is None:
            return np.fromiter((self.index[t] for t in tokens), dtype=np.int64, count=len(tokens))
        return np.fromiter((self.index.get(t, unk) for t in tokens), dtype=np.int64, count=len(tokens))

    def encode_prompt(self, text: str, warn: Callable[[str], None] | None = None) -> list[int]:
        """Ids of a prompt.

        A token the model never saw becomes ``<unk>`` when the vocabulary has
        it (word level), reported through ``warn`` (default
        :func:`warnings.warn`); otherwise it is an :class:`InputError`
        listing them all.
        """
        tokens = split_tokens(text, self.level)
        unknown = sorted({t for t in tokens if t not in self.index})
        if unknown:
            noun = "characters" if self.level == "char" else "words"
            listed = ", ".join(repr(t) for t in unknown[:10]) + (", ..." if len(unknown) > 10 else "")
            unk = self.index.get(UNKNOWN)
            if unk is None:
                raise InputError(f"the prompt has {noun} the model never saw in training: {listed}")
            message = f"the prompt has {noun} the model never saw in training, read as {UNKNOWN}: {listed}"
            if warn is None:
                warnings.warn(message, stacklevel=2)
            else:
                warn(message)
            return [self.index.get(t, unk) for t in tokens]
        return [self.index[t] for t in tokens]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids: characters joined, or words joined by spaces with newlines kept."""
        tokens = [self.tokens[i] for i in ids]
        if self.level == "char":
            return "".join(tokens)
        out: list[str] = []
        for token in tokens:
            if out and token != "\n" and out[-1] != "\n":
                out.append(" ")
            out.append(token)
        return "".join(out)
