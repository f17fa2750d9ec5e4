"""Read Facebook fastText's ``.bin`` models (what ``fasttext`` and gensim's ``save_facebook_model`` write).

Layout (little-endian, fastText >= 0.9, format version 12):

- int32 magic 793712314, int32 version;
- the arguments: 12 int32 (dim, ws, epoch, minCount, neg, wordNgrams, loss,
  model, bucket, minn, maxn, lrUpdateRate) and a float64 (t);
- the dictionary: int32 size, nwords, nlabels; int64 ntokens, pruneidx_size;
  per entry the word's UTF-8 bytes, a NUL, int64 count, int8 type; then
  ``pruneidx_size`` pairs of int32;
- the input matrix: bool quantised, int64 rows (nwords + bucket), int64 dim,
  rows x dim float32; then the output matrix the same way.

Only unsupervised, unquantised models are read; anything else, a wrong
magic number or a truncated file is a :class:`ModelFileError` naming the
file and the byte offset. Sizes from the header are checked against the
file's size and the machine's memory before anything is allocated.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import ModelFileError
from ..resources import check_memory
from .subwordvectors import FastTextKeyedVectors

__all__ = ["MAGIC", "FacebookModel", "is_facebook_bin", "read_facebook", "read_facebook_model"]

MAGIC = 793712314
_ARGS = struct.Struct("<12id")
_ARG_NAMES = ("dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model", "bucket", "minn", "maxn",
              "lr_update_rate", "t")
#: A word longer than this means the dictionary is not what it claims to be.
_MAX_WORD_BYTES = 1 << 16


def is_facebook_bin(head: bytes) -> bool:
    """Whether the first bytes of a file are fastText's magic number."""
    return len(head) >= 4 and struct.unpack("<i", head[:4])[0] == MAGIC


class _Reader:
    """Reads little-endian fields from a file, naming the file and offset of a short read."""

    def __init__(self, fh, path: Path):
        self.fh, self.path = fh, path
        self.size = os.fstat(fh.fileno()).st_size

    def fail(self, message: str, offset: int | None = None) -> ModelFileError:
        return ModelFileError(message, path=str(self.path), offset=self.fh.tell() if offset is None else offset)

    def read(self, n: int, what: str) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise self.fail(f"truncated: the file ends inside {what}")
        return data

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt), what))


class FacebookModel(NamedTuple):
    """The parts of a fastText ``.bin``: arguments, vocabulary and matrices."""

    args: dict  # dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket, minn, maxn, lr_update_rate, t
    words: list[str]
    counts: list[int]
    ntokens: int
    input: np.ndarray  # float32 (words + bucket, dim)
    output: np.ndarray | None  # float32 (words, dim), if read


def read_facebook(path: str | os.PathLike, limit: int | None = None) -> FastTextKeyedVectors:
    """The word and n-gram vectors of a fastText ``.bin`` as :class:`FastTextKeyedVectors`.

    ``limit`` keeps only the first ``limit`` words (fastText stores them most
    frequent first); every n-gram row is kept, since unknown words need them.
    """
    model = read_facebook_model(path, output=False)
    words, matrix = model.words, model.input
    keep = len(words) if limit is None else max(0, min(int(limit), len(words)))
    try:
        return FastTextKeyedVectors(words[:keep], matrix[:keep], matrix[len(words):], model.args["minn"],
                                    model.args["maxn"], np.asarray(model.counts[:keep], dtype=np.int64))
    except ValueError as exc:  # a word twice
        raise ModelFileError(f"bad dictionary ({exc})", path=str(path)) from None


def read_facebook_model(path: str | os.PathLike, output: bool = True) -> FacebookModel:
    """Everything in a fastText ``.bin``; the output matrix (what continued training needs) if ``output``."""
    path = Path(path)
    with open(path, "rb") as fh:
        r = _Reader(fh, path)
        magic, version = r.unpack("<2i", "the header")
        if magic != MAGIC:
            raise r.fail(f"not a Facebook fastText .bin (magic number {magic}, expected {MAGIC})", 0)
        if version > 12:
            raise r.fail(f"fastText format version {version} is newer than the 12 this reader knows", 4)
        args = dict(zip(_ARG_NAMES, r.unpack(_ARGS.format, "the arguments")))
        words, counts, ntokens = _read_dictionary(r)
        if not 1 <= args["minn"] <= args["maxn"]:
            raise r.fail(f"bad n-gram lengths minn {args['minn']}, maxn {args['maxn']}")
        matrix = _read_matrix(r, len(words) + args["bucket"], args["dim"], "input", args["bucket"] >= 1)
        hidden = _read_matrix(r, len(words), args["dim"], "output", True) if output else None
    for name, array in (("input", matrix), ("output", hidden)):
        if array is None:
            continue
        bad = ~np.isfinite(array).all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            what = f"word {words[row]!r}" if row < len(words) else f"n-gram bucket {row - len(words)}"
            raise ModelFileError(f"the {name} vector of {what} holds NaN or infinity", path=str(path))
    return FacebookModel(args, words, counts, ntokens, matrix, hidden)


def _read_matrix(r: _Reader, rows: int, dim: int, what: str, valid: bool) -> np.ndarray:
    """A (quantised flag, int64 rows, int64 dim, float32 values) matrix that must be ``rows`` x ``dim``."""
    quantised = r.read(1, f"the {what} matrix header")[0]
    if quantised:
        raise r.fail("quantised fastText models (.ftz) are not supported; use the full .bin")
    found_rows, found_dim = r.unpack("<2q", f"the {what} matrix header")
    if (found_rows, found_dim) != (rows, dim) or not valid:
        raise r.fail(f"the {what} matrix is {found_rows} x {found_dim}, but the header and dictionary say "
                     f"{rows} x {dim}")
    start = r.fh.tell()
    needed = rows * dim * 4
    if start + needed > r.size:
        raise r.fail(f"truncated: the {what} matrix ({rows:,} x {dim}) needs {needed:,} bytes after offset {start}, "
                     f"the file has {r.size - start:,}")
    check_memory(needed, f"the fastText {what} matrix ({rows:,} x {dim})")
    return np.fromfile(r.fh, dtype="<f4", count=rows * dim).reshape(rows, dim).astype(np.float32)


def _read_dictionary(r: _Reader) -> tuple[list[str], list[int], int]:
    size, nwords, nlabels = r.unpack("<3i", "the dictionary header")
    ntokens, prune_size = r.unpack("<2q", "the dictionary header")
    if nlabels > 0:
        raise r.fail(f"a supervised (classifier) model with {nlabels} labels; only word-vector models are read")
    if not 0 <= nwords == size:
        raise r.fail(f"bad dictionary header: {size} entries, {nwords} words")
    if size * 10 > r.size:  # each entry takes at least 10 bytes
        raise r.fail(f"truncated: the dictionary claims {size:,} words")
    words: list[str] = []
    counts: list[int] = []
    buffered = r.fh.read(min(r.size, 1 << 20))
    base = r.fh.tell() - len(buffered)  # file offset of buffered[0]
    pos = 0
    for _ in range(size):
        end = buffered.find(b"\0", pos)
        while end < 0 or end + 10 > len(buffered):
            if end < 0 and len(buffered) - pos > _MAX_WORD_BYTES:
                raise r.fail("malformed dictionary entry: no NUL after a word", base + pos)
            more = r.fh.read(1 << 20)
            if not more:
                raise r.fail("truncated: the file ends inside the dictionary", base + pos)
            buffered, base, pos = buffered[pos:] + more, base + pos, 0
            end = buffered.find(b"\0", pos)
        try:
            words.append(buffered[pos:end].decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise r.fail(f"invalid UTF-8 in a word ({exc.reason})", base + pos) from None
        count, kind = struct.unpack_from("<qb", buffered, end + 1)
        if kind != 0:
            raise r.fail("a label entry in the dictionary; only word-vector models are read", base + pos)
        counts.append(count)
        pos = end + 10
    r.fh.seek(base + pos)
    if prune_size > 0:  # n-gram rows renumbered by a pruning index: found only in quantised models
        raise r.fail("pruned fastText models are not supported; use the full .bin")
    return words, counts, ntokens
