"""KeyedVectors: words and their vectors, with gensim's similarity queries."""

from __future__ import annotations

import os
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..errors import ModelFileError, ShapeError, VocabularyError
from ..io import check_finite_arrays, load_npz, save_npz
from .formats import read_word2vec, write_word2vec

FORMAT = "seqdl.KeyedVectors"


class KeyedVectors:
    """Word vectors addressed by word, in the spirit of gensim's ``KeyedVectors``.

    ``keys`` are the words (row ``i`` of ``vectors`` belongs to ``keys[i]``),
    usually sorted from most to least frequent; ``counts`` optionally holds
    each word's corpus count.
    """

    def __init__(self, keys: Sequence[str], vectors: np.ndarray, counts: np.ndarray | None = None):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        keys = list(keys)
        if vectors.ndim != 2 or vectors.shape[0] != len(keys):
            raise ShapeError(f"{len(keys)} keys need vectors of shape ({len(keys)}, dim), got {vectors.shape}")
        key_to_index = {key: i for i, key in enumerate(keys)}
        if len(key_to_index) != len(keys):
            raise ValueError("keys must be unique")
        if counts is not None:
            counts = np.asarray(counts, dtype=np.int64)
            if counts.shape != (len(keys),):
                raise ShapeError(f"{len(keys)} keys need counts of shape ({len(keys)},), got {counts.shape}")
        #: The words, row order of :attr:`vectors`.
        self.index_to_key: list[str] = keys
        #: Word -> row index.
        self.key_to_index: dict[str, int] = key_to_index
        #: float32 array of shape (len(self), vector_size).
        self.vectors: np.ndarray = vectors
        #: Corpus count of each word, or None if unknown.
        self.counts: np.ndarray | None = counts
        self._normed: np.ndarray | None = None

    @property
    def vector_size(self) -> int:
        """Dimension of the vectors."""
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.index_to_key)

    def __contains__(self, word: object) -> bool:
        return word in self.key_to_index

    def __repr__(self) -> str:
        return f"<KeyedVectors: {len(self)} words, dim {self.vector_size}>"

    def get_index(self, word: str) -> int:
        """Row index of ``word``; :class:`VocabularyError` if it is unknown."""
        try:
            return self.key_to_index[word]
        except KeyError:
            raise VocabularyError(word) from None

    def has_vector(self, word: str) -> bool:
        """Whether :meth:`get_vector` can give ``word`` a vector (here: whether it is in the vocabulary)."""
        return word in self.key_to_index

    def get_vector(self, word: str, norm: bool = False) -> np.ndarray:
        """``word``'s vector (scaled to unit length with ``norm``); :class:`VocabularyError` if it has none."""
        row = self.key_to_index.get(word)
        if row is not None:
            return self.get_normed_vectors()[row] if norm else self.vectors[row]
        vector = self._vector_for_unknown(word)
        if norm:
            length = np.linalg.norm(vector)
            return vector / length if length > 0 else vector
        return vector

    def _vector_for_unknown(self, word: str) -> np.ndarray:
        """The vector of a word outside the vocabulary; plain vectors have none."""
        raise VocabularyError(word)

    def __getitem__(self, words: str | Iterable[str]) -> np.ndarray:
        """The vector of one word, or a (len(words), dim) array for a list of words."""
        if isinstance(words, str):
            return self.get_vector(words)
        words = list(words)
        missing = [w for w in words if not self.has_vector(w)]
        if missing:
            raise VocabularyError(missing)
        return np.stack([self.get_vector(w) for w in words]) if words else np.empty((0, self.vector_size),
                                                                                       dtype=np.float32)

    def get_normed_vectors(self) -> np.ndarray:
        """The vectors scaled to unit length (zero vectors stay zero); computed once."""
        if self._normed is None:
            norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
            self._normed = self.vectors / np.where(norms > 0, norms, 1).astype(np.float32)
        return self._normed

    def unit_vector(self, word: str) -> np.ndarray:
        """``word``'s vector scaled to unit length."""
        return self.get_vector(word, norm=True)

    def similarity(self, word1: str, word2: str) -> float:
        """Cosine similarity of two words."""
        return float(np.dot(self.unit_vector(word1), self.unit_vector(word2)))

    def most_similar(self, positive=(), negative=(), topn: int | None = 10,
                     restrict_vocab: int | None = None) -> list[tuple[str, float]] | np.ndarray:
        """Words nearest by cosine to the mean of ``positive`` minus ``negative``, like gensim.

        Each entry of ``positive``/``negative`` is a word or a vector (a single
        word may be passed as a string). Every entry is scaled to unit length
        and weighted +1 (positive) or -1 (negative); the mean is compared with
        the unit vectors of the first ``restrict_vocab`` words. Input words
        are never returned. Returns ``topn`` ``(word, similarity)`` pairs, best
        first, or with ``topn=None`` the similarities to every word.
        """
        positive = [positive] if isinstance(positive, (str, np.ndarray)) else list(positive)
        negative = [negative] if isinstance(negative, (str, np.ndarray)) else list(negative)
        entries = [(e, 1.0) for e in positive] + [(e, -1.0) for e in negative]
        if not entries:
            raise ValueError("most_similar needs at least one positive or negative word or vector")
        missing = [e for e, _ in entries if isinstance(e, str) and not self.has_vector(e)]
        if missing:
            raise VocabularyError(missing)
        mean = np.zeros(self.vector_size, dtype=np.float64)
        exclude = []
        for entry, weight in entries:
            if isinstance(entry, str):
                mean += weight * self.unit_vector(entry)
                if entry in self.key_to_index:
                    exclude.append(self.key_to_index[entry])
            else:
                vector = np.asarray(entry, dtype=np.float64)
                if vector.shape != (self.vector_size,):
                    raise ShapeError(f"a query vector must have shape ({self.vector_size},), got {vector.shape}")
                norm = np.linalg.norm(vector)
                mean += weight * (vector / norm if norm > 0 else vector)
        return self.similar_by_vector(mean / len(entries), topn=topn, restrict_vocab=restrict_vocab,
                                      exclude=exclude)

    def similar_by_vector(self, vector: np.ndarray, topn: int | None = 10, restrict_vocab: int | None = None,
                          exclude: Iterable[int] = ()) -> list[tuple[str, float]] | np.ndarray:
        """Words nearest by cosine to ``vector``, skipping the row indices in ``exclude``.

        ``topn=None`` returns the cosine similarity to each of the first
        ``restrict_vocab`` words.
        """
        vector = np.asarray(vector, dtype=np.float32)
        norm = np.linalg.norm(vector)
        unit = vector / norm if norm > 0 else vector
        limit = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        sims = self.get_normed_vectors()[:limit] @ unit
        if topn is None:
            return sims
        exclude = [i for i in set(exclude) if i < limit]
        wanted = min(int(topn) + len(exclude), limit)
        if wanted <= 0:
            return []
        best = np.argpartition(-sims, wanted - 1)[:wanted]
        best = best[np.argsort(-sims[best], kind="stable")]
        skip = set(exclude)
        return [(self.index_to_key[i], float(sims[i])) for i in best if i not in skip][: int(topn)]

    def save_word2vec_format(self, path: str | os.PathLike, binary: bool = False) -> None:
        """Write the vectors as a word2vec text (or ``binary``) file, atomically.

        A word containing whitespace is refused with :class:`seqdl.errors.InputError`.
        """
        write_word2vec(path, self.index_to_key, self.vectors, binary=binary)

    @classmethod
    def load_word2vec_format(cls, path: str | os.PathLike, binary: bool | None = None,
                             limit: int | None = None, no_header: bool | None = None) -> "KeyedVectors":
        """Read a word2vec text or binary file, or a GloVe file (no header line).

        ``binary=None`` and ``no_header=None`` tell the format from the
        content. ``limit`` keeps only the first ``limit`` vectors. Raises
        :class:`seqdl.errors.ModelFileError` naming the file and line or byte
        offset of a malformed or truncated file.
        """
        words, vectors = read_word2vec(path, binary=binary, limit=limit, no_header=no_header)
        return cls(words, vectors)

    def save(self, path: str | os.PathLike) -> None:
        """Save words, vectors and counts to a seqdl ``.npz`` file (no pickle), atomically."""
        arrays = {"vectors": self.vectors, "keys": np.array(self.index_to_key, dtype=np.str_)}
        if self.counts is not None:
            arrays["counts"] = self.counts
        save_npz(path, arrays, {"format": FORMAT, "version": 1})

    @classmethod
    def load(cls, path: str | os.PathLike) -> "KeyedVectors":
        """Load a file written by :meth:`save`."""
        arrays, meta = load_npz(path)
        return cls.from_npz(arrays, meta, path)

    @classmethod
    def from_npz(cls, arrays: dict, meta: dict, path: str | os.PathLike) -> "KeyedVectors":
        """The vectors in the arrays and header of a :meth:`save` file."""
        if meta.get("format", meta.get("kind")) != FORMAT or "vectors" not in arrays or "keys" not in arrays:
            raise ModelFileError("not a seqdl KeyedVectors file", path=str(path))
        check_finite_arrays({"vectors": arrays["vectors"]}, path)
        try:
            return cls(arrays["keys"].tolist(), arrays["vectors"], arrays.get("counts"))
        except (ValueError, ShapeError) as exc:
            raise ModelFileError(f"inconsistent KeyedVectors file ({exc})", path=str(path)) from None
