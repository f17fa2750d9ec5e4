"""One loader for every vectors file a user may hold, told apart by content, never by name.

:func:`load_vectors` reads word2vec text and binary files, GloVe files (no
header line), seqdl ``.npz`` files (``KeyedVectors``, ``FastTextKeyedVectors``
and saved ``Word2Vec``/``FastText`` models) and Facebook fastText ``.bin``
models. Files with subword information give a
:class:`~seqdl.embeddings.subwordvectors.FastTextKeyedVectors`, which has
vectors for words outside the vocabulary.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelFileError

__all__ = ["load_vectors", "vectors_kind"]

_ZIP = b"PK\x03\x04"


def vectors_kind(path: str | os.PathLike) -> str:
    """``"npz"``, ``"facebook"`` or ``"word2vec"`` (text, binary or GloVe), from the first bytes of ``path``."""
    from .facebook import is_facebook_bin

    path = Path(path)
    if not path.is_file():
        raise ModelFileError("no such vectors file (train one with 'seqdl embed CORPUS')", path=str(path))
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(_ZIP):
        return "npz"
    if is_facebook_bin(head):
        return "facebook"
    return "word2vec"


def load_vectors(path: str | os.PathLike, *, limit: int | None = None, no_header: bool | None = None,
                 binary: bool | None = None):
    """The word vectors in ``path``: a :class:`KeyedVectors` (or :class:`FastTextKeyedVectors`).

    ``limit`` keeps the first (most frequent) ``limit`` words. ``no_header``
    and ``binary`` force how a word2vec/GloVe file is read (None: from the
    content). Raises :class:`ModelFileError` naming the file for anything
    that is not a vectors file this loader knows, and for NaN or infinite
    values.
    """
    if limit is not None and int(limit) < 0:
        from ..errors import ParameterError

        raise ParameterError("limit", f"must not be negative, got {limit}")
    kind = vectors_kind(path)
    if kind == "facebook":
        from .facebook import read_facebook

        return read_facebook(path, limit=limit)
    if kind == "npz":
        return _limited(_load_npz_vectors(path), limit)
    from .keyedvectors import KeyedVectors

    return KeyedVectors.load_word2vec_format(path, binary=binary, limit=limit, no_header=no_header)


def _load_npz_vectors(path: str | os.PathLike):
    """The vectors of a seqdl npz file of any vectors-bearing format (models load without numba)."""
    from ..io import load_npz

    arrays, meta = load_npz(path)
    kind = meta.get("format", meta.get("kind"))
    if kind == "seqdl.KeyedVectors":
        from .keyedvectors import KeyedVectors

        return KeyedVectors.from_npz(arrays, meta, path)
    if kind == "seqdl.FastTextKeyedVectors":
        from .subwordvectors import FastTextKeyedVectors

        return FastTextKeyedVectors.from_npz(arrays, meta, path)
    if kind == "seqdl.Word2Vec":
        from .word2vec import Word2Vec

        return Word2Vec.from_npz(arrays, meta, path).wv
    if kind == "seqdl.FastText":
        from .fasttext import FastText

        return FastText.from_npz(arrays, meta, path).wv
    raise ModelFileError(f"not a vectors file (a seqdl file of format {kind!r})", path=str(path))


def _limited(kv, limit: int | None):
    """``kv`` cut to its first ``limit`` words (all n-gram rows kept)."""
    if limit is None or limit >= len(kv):
        return kv
    from .subwordvectors import FastTextKeyedVectors

    n = int(limit)
    counts = None if kv.counts is None else kv.counts[:n]
    if isinstance(kv, FastTextKeyedVectors):
        return FastTextKeyedVectors(kv.index_to_key[:n], kv.vectors_vocab[:n], kv.vectors_ngrams, kv.minn, kv.maxn,
                                    counts)
    return type(kv)(kv.index_to_key[:n], kv.vectors[:n], counts)
