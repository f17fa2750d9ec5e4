"""FastTextKeyedVectors: word vectors that also answer for words outside the vocabulary, as gensim's do.

A vocabulary word's vector is the mean of its own row and the rows of its
character n-grams' buckets; an out-of-vocabulary word's is the mean of its
n-grams' rows alone (gensim's ``FastTextKeyedVectors.get_vector``, Facebook's
``getWordVector``). A word with no n-gram at all has no vector.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from ..errors import ModelFileError, ShapeError, VocabularyError
from ..io import check_finite_arrays, load_npz, save_npz
from .keyedvectors import KeyedVectors
from .subwords import ngram_buckets, subword_table

FORMAT = "seqdl.FastTextKeyedVectors"
VERSION = 1

#: Words composed at a time (bounds the gathered n-gram rows held at once).
_CHUNK_WORDS = 1024


class FastTextKeyedVectors(KeyedVectors):
    """Vocabulary words' composed vectors, plus the word and n-gram rows they come from.

    ``vectors_vocab`` holds each word's own row, ``vectors_ngrams`` one row
    per hash bucket; ``minn``/``maxn`` are the n-gram lengths. ``vectors``
    (what similarity queries search) are the composed vocabulary vectors.
    """

    def __init__(self, keys: Sequence[str], vectors_vocab: np.ndarray, vectors_ngrams: np.ndarray, minn: int,
                 maxn: int, counts: np.ndarray | None = None, table: tuple[np.ndarray, np.ndarray] | None = None):
        vectors_vocab = np.ascontiguousarray(vectors_vocab, dtype=np.float32)
        vectors_ngrams = np.ascontiguousarray(vectors_ngrams, dtype=np.float32)
        if vectors_ngrams.ndim != 2 or vectors_ngrams.shape[0] < 1 or vectors_vocab.ndim != 2 \
                or vectors_ngrams.shape[1] != vectors_vocab.shape[1]:
            raise ShapeError(f"n-gram vectors of shape {vectors_ngrams.shape} do not fit word vectors of shape "
                             f"{vectors_vocab.shape}")
        keys = list(keys)
        self.minn, self.maxn = int(minn), int(maxn)
        self.vectors_vocab = vectors_vocab
        self.vectors_ngrams = vectors_ngrams
        if len(keys) != len(vectors_vocab):
            raise ShapeError(f"{len(keys)} keys need word vectors of shape ({len(keys)}, dim), got "
                             f"{vectors_vocab.shape}")
        if table is None:
            table = subword_table(keys, self.minn, self.maxn, self.bucket)
        super().__init__(keys, compose(vectors_vocab, vectors_ngrams, *table), counts)

    @property
    def bucket(self) -> int:
        """Number of n-gram hash buckets."""
        return self.vectors_ngrams.shape[0]

    def __repr__(self) -> str:
        return (f"<FastTextKeyedVectors: {len(self)} words, dim {self.vector_size}, n-grams {self.minn}-{self.maxn}"
                f" in {self.bucket} buckets>")

    def __contains__(self, word: object) -> bool:
        """Whether ``word`` has a vector: any word with an n-gram does (gensim's semantics)."""
        return isinstance(word, str) and self.has_vector(word)

    def has_vector(self, word: str) -> bool:
        """Whether ``word`` is in the vocabulary or has at least one character n-gram."""
        return word in self.key_to_index or bool(ngram_buckets(word, self.minn, self.maxn, self.bucket))

    def _vector_for_unknown(self, word: str) -> np.ndarray:
        buckets = ngram_buckets(word, self.minn, self.maxn, self.bucket)
        if not buckets:
            raise VocabularyError(word)
        return self.vectors_ngrams[buckets].mean(axis=0, dtype=np.float32)

    def save(self, path: str | os.PathLike) -> None:
        """Save words, word rows, n-gram rows and counts to a seqdl ``.npz`` (no pickle), atomically."""
        arrays = {"vectors_vocab": self.vectors_vocab, "vectors_ngrams": self.vectors_ngrams,
                  "keys": np.array(self.index_to_key, dtype=np.str_)}
        if self.counts is not None:
            arrays["counts"] = self.counts
        save_npz(path, arrays, {"format": FORMAT, "version": VERSION, "minn": self.minn, "maxn": self.maxn})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FastTextKeyedVectors":
        """Load a file written by :meth:`save`."""
        arrays, meta = load_npz(path)
        return cls.from_npz(arrays, meta, path)

    @classmethod
    def from_npz(cls, arrays: dict, meta: dict, path: str | os.PathLike) -> "FastTextKeyedVectors":
        """The vectors in arrays and meta read from a :meth:`save` file (or a FastText model's)."""
        if meta.get("format") != FORMAT or not {"vectors_vocab", "vectors_ngrams", "keys"} <= set(arrays):
            raise ModelFileError("not a seqdl FastTextKeyedVectors file", path=str(path))
        check_finite_arrays({k: arrays[k] for k in ("vectors_vocab", "vectors_ngrams")}, path)
        try:
            return cls(arrays["keys"].tolist(), arrays["vectors_vocab"], arrays["vectors_ngrams"],
                       int(meta["minn"]), int(meta["maxn"]), arrays.get("counts"))
        except (KeyError, ValueError, ShapeError) as exc:
            raise ModelFileError(f"inconsistent FastTextKeyedVectors file ({exc})", path=str(path)) from None


def compose(vectors_vocab: np.ndarray, vectors_ngrams: np.ndarray, ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each word's row averaged with its n-grams' rows (gensim's ``adjust_vectors``).

    ``ptr``/``rows`` is :func:`subword_table`'s word -> rows table (rows below
    the vocabulary size are word rows, the others n-gram buckets after them).
    """
    words = len(vectors_vocab)
    out = np.empty_like(vectors_vocab)
    for start in range(0, words, _CHUNK_WORDS):
        stop = min(start + _CHUNK_WORDS, words)
        chunk = rows[ptr[start]:ptr[stop]]
        own = chunk < words
        gathered = np.empty((len(chunk), vectors_vocab.shape[1]), dtype=np.float64)
        gathered[own] = vectors_vocab[chunk[own]]
        gathered[~own] = vectors_ngrams[chunk[~own] - words]
        sums = np.add.reduceat(gathered, ptr[start:stop] - ptr[start], axis=0)
        out[start:stop] = sums / np.diff(ptr[start:stop + 1])[:, None]
    return out
