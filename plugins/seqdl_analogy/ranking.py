"""Loading vectors, finding query words, and ranking method scores into answers."""

from __future__ import annotations

import numbers
import os
from typing import Callable, Sequence

import numpy as np

from seqdl.errors import ParameterError, VocabularyError

#: (candidates, positive, negative) -> scores; see :mod:`seqdl_analogy.methods`.
AnalogyMethod = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

#: Score cells held at once when scoring a batch of queries (about 64 MB of float32).
BATCH_CELLS = 1 << 24


def load_vectors(path: str | os.PathLike):
    """The vectors in ``path``, in any format :func:`seqdl.load_vectors` reads (chosen from the content)."""
    import seqdl

    return seqdl.load_vectors(path)


def check_restrict_vocab(restrict_vocab: int | None, allow_none: bool = False) -> None:
    """Refuse a ``restrict_vocab`` that is not a whole number of at least 1 (None allowed if ``allow_none``)."""
    if restrict_vocab is None and allow_none:
        return
    if isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, numbers.Integral) or restrict_vocab < 1:
        raise ParameterError("restrict_vocab", f"must be a whole number of at least 1, got {restrict_vocab!r}")


def check_topn(topn: int) -> None:
    """Refuse a ``topn`` that is not a whole number of at least 1."""
    if isinstance(topn, bool) or not isinstance(topn, numbers.Integral) or topn < 1:
        raise ParameterError("topn", f"must be a whole number of at least 1, got {topn!r}")


def word_indices(kv, words: Sequence[str], subwords: bool = False) -> list[int | None]:
    """Row of each word: the exact word, else its most frequent case variant.

    With ``subwords``, a word in neither form that ``kv`` can still build a
    vector for (a fastText model's character n-grams) gets None instead of a
    row. Raises :class:`VocabularyError` naming every other word found in
    neither form.
    """
    folded: dict[str, int] | None = None
    rows, missing = [], []
    for word in words:
        row = kv.key_to_index.get(word)
        if row is None:
            if folded is None:
                folded = case_insensitive_vocab(kv.index_to_key)
            row = folded.get(word.upper())
        if row is None and not (subwords and kv.has_vector(word)):
            missing.append(word)
        rows.append(row)
    if missing:
        raise VocabularyError(missing)
    return rows


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def case_insensitive_vocab(keys: Sequence[str]) -> dict[str, int]:
    """Upper-cased word -> row of its first (most frequent) case variant, as gensim's evaluations use."""
    vocab: dict[str, int] = {}
    for row, key in enumerate(keys):
        vocab.setdefault(key.upper(), row)
    return vocab


def batch_size(vocab_size: int, words_per_query: int = 3) -> int:
    """Queries per batch so that a batch's score matrices stay near :data:`BATCH_CELLS` cells."""
    return max(1, min(4096, BATCH_CELLS // max(1, vocab_size * words_per_query)))


def top_n(scores: np.ndarray, exclude: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best columns of each row of ``scores`` (best first), never those in ``exclude``.

    ``scores`` is (B, V) and modified in place; ``exclude`` is (B, k) column
    indices (negative entries ignored). Returns (columns, scores), each
    (B, min(n, V)); slots with nothing left to fill hold column -1 and -inf.
    """
    from .kernels import top_k_rows

    scores = np.ascontiguousarray(scores)
    batch, width = scores.shape
    rows = np.repeat(np.arange(batch), exclude.shape[1])
    cols = exclude.ravel()
    keep = (cols >= 0) & (cols < width)
    scores[rows[keep], cols[keep]] = -np.inf
    n = max(0, min(int(n), width))
    best = np.empty((batch, n), dtype=np.int64)
    values = np.empty((batch, n), dtype=scores.dtype)
    if n:
        top_k_rows(scores, n, best, values)
    return best, values


def analogy(kv, positive: Sequence[str], negative: Sequence[str], method: AnalogyMethod, topn: int = 10,
            restrict_vocab: int | None = None) -> list[tuple[str, float]]:
    """Rank words for ``positive - negative`` with ``method``, the query words excluded (gensim semantics).

    Answers whose score is NaN (vectors holding NaN) are left out.
    """
    if not positive:
        raise ParameterError("positive", "an analogy needs at least one positive word")
    check_topn(topn)
    check_restrict_vocab(restrict_vocab, allow_none=True)
    words = [*positive, *negative]
    rows = word_indices(kv, words, subwords=True)
    normed = kv.get_normed_vectors()
    query = np.stack([normed[row] if row is not None else _unit(kv.get_vector(word))
                      for word, row in zip(words, rows)]).astype(normed.dtype, copy=False)
    limit = len(kv) if restrict_vocab is None else min(int(restrict_vocab), len(kv))
    scores = np.asarray(method(normed[:limit], query[None, :len(positive)], query[None, len(positive):]))
    exclude = [row if row is not None else -1 for row in rows]  # a word built from n-grams has no row to exclude
    rows, values = top_n(scores, np.array([exclude]), topn)
    return [(kv.index_to_key[r], float(v)) for r, v in zip(rows[0], values[0]) if np.isfinite(v)]


def similar(kv, word: str, topn: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
    """Nearest neighbours of ``word`` by cosine (found case-insensitively if need be); NaN scores are left out."""
    check_topn(topn)
    check_restrict_vocab(restrict_vocab, allow_none=True)
    (row,) = word_indices(kv, [word], subwords=True)
    key = word if row is None else kv.index_to_key[row]  # None: a fastText model builds it from n-grams
    answers = kv.most_similar(positive=[key], topn=topn, restrict_vocab=restrict_vocab)
    return [(key, score) for key, score in answers if np.isfinite(score)]
