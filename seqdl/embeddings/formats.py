"""word2vec text and binary vector files, as word2vec.c, gensim and fastText write them.

Both formats start with a header line ``"<count> <dim>\\n"``. In the text
format each further line is a word followed by ``dim`` numbers, separated by
single spaces. In the binary format each entry is the word's UTF-8 bytes, one
space, ``dim`` little-endian float32 values and (word2vec.c, fastText and
seqdl, but not gensim) a newline; readers skip whitespace before a word, so
either layout loads.

Words are separated from numbers by whitespace, so a word containing
whitespace cannot be stored: :func:`write_word2vec` refuses it rather than
writing a file that every reader would misparse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError, ModelFileError
from ..io import atomic_write

#: Bytes read at a time from a binary file.
_CHUNK = 1 << 20
#: Longer "words" in a binary file mean the file is not what it claims to be.
_MAX_WORD_BYTES = 1 << 16


def guess_binary(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a binary vectors file: a ``.bin`` suffix means binary."""
    return Path(path).suffix.lower() == ".bin"


def check_words_writable(words: Sequence[str]) -> None:
    """Raise :class:`InputError` for the first word a word2vec file cannot hold.

    A word must be non-empty and contain no whitespace (space, tab, newline or
    any other Unicode whitespace that ``str.split`` splits on).
    """
    for index, word in enumerate(words):
        if not isinstance(word, str) or word.split() != [word]:
            raise InputError(
                f"cannot write word {word!r} (index {index}) to a word2vec file: "
                "words must be non-empty and contain no whitespace"
            )


def write_word2vec(path: str | os.PathLike, words: Sequence[str], vectors: np.ndarray, binary: bool = False) -> None:
    """Write ``words`` and their rows of ``vectors`` to ``path`` atomically.

    Text values are written with 9 significant digits, enough to read back
    the exact float32 values.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"{len(words)} words but vectors of shape {vectors.shape}")
    check_words_writable(words)
    count, dim = vectors.shape
    with atomic_write(path, "wb") as fh:
        fh.write(f"{count} {dim}\n".encode("ascii"))
        if binary:
            little = vectors.astype("<f4", copy=False)
            for word, row in zip(words, little):
                fh.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            row_format = " ".join(["%.9g"] * dim)
            lines = []
            for word, row in zip(words, vectors):  # row by row: tolist() of the whole matrix costs GBs
                lines.append(f"{word} {row_format % tuple(row.tolist())}\n")
                if len(lines) >= 4096:
                    fh.write("".join(lines).encode("utf-8"))
                    lines.clear()
            fh.write("".join(lines).encode("utf-8"))


def read_word2vec(path: str | os.PathLike, binary: bool | None = None,
                  limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Read a word2vec file: ``(words, float32 vectors of shape (n, dim))``.

    ``binary=None`` guesses from the suffix (``.bin`` is binary). ``limit``
    reads only the first ``limit`` vectors (files are usually sorted by
    frequency). Raises :class:`ModelFileError` naming the file and the line
    (text) or byte offset (binary) of a malformed or truncated entry.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError("no such vectors file", path=str(path))
    if binary is None:
        binary = guess_binary(path)
    with open(path, "rb") as fh:
        header = fh.readline()
        count, dim = _parse_header(header, path)
        if limit is not None:
            count = min(count, max(0, int(limit)))
        if binary:
            words, vectors = _read_binary(fh, path, count, dim, len(header))
        else:
            words, vectors = _read_text(fh, path, count, dim)
    if len(set(words)) != len(words):
        seen: set[str] = set()
        duplicate = next(w for w in words if w in seen or seen.add(w))
        raise ModelFileError(f"word {duplicate!r} appears more than once", path=str(path))
    return words, vectors


def _parse_header(header: bytes, path: Path) -> tuple[int, int]:
    parts = header.split()
    try:
        count, dim = (int(p) for p in parts)
    except ValueError:
        raise ModelFileError(
            f"not a word2vec file: the first line should be '<count> <dim>', found {header[:60]!r}",
            path=str(path), line=1) from None
    if count < 0 or dim <= 0:
        raise ModelFileError(f"bad header: {count} words of dimension {dim}", path=str(path), line=1)
    return count, dim


def _read_text(fh, path: Path, count: int, dim: int) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    vectors = np.empty((count, dim), dtype=np.float32)
    for index in range(count):
        lineno = index + 2
        raw = fh.readline()
        if not raw:
            raise ModelFileError(f"truncated: the header promises {count} vectors, found {index}",
                                 path=str(path), line=lineno)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelFileError(f"invalid UTF-8 ({exc.reason})", path=str(path), line=lineno) from None
        # Split numbers off the right so a word with other whitespace (fastText splits only on
        # ASCII spaces) still loads; a space left in the word means too many values.
        parts = line.rstrip().rsplit(" ", dim)
        word = parts[0].lstrip()
        if len(parts) != dim + 1 or not word or " " in word:
            found = len(line.strip().split(" ")) - 1
            raise ModelFileError(f"expected a word and {dim} numbers, found {found} fields",
                                 path=str(path), line=lineno)
        try:
            vectors[index] = [float(v) for v in parts[1:]]
        except ValueError:
            raise ModelFileError("a vector value is not a number", path=str(path), line=lineno) from None
        words.append(word)
    return words, vectors


def _read_binary(fh, path: Path, count: int, dim: int, start: int) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    vectors = np.empty((count, dim), dtype=np.float32)
    nbytes = 4 * dim
    buf = b""
    pos = 0
    offset = start  # file offset of buf[0]
    eof = False
    for index in range(count):
        while True:
            while pos < len(buf) and buf[pos] in b"\n\r\t ":
                pos += 1
            space = buf.find(b" ", pos)
            if space >= 0 and space + 1 + nbytes <= len(buf):
                break
            if space < 0 and len(buf) - pos > _MAX_WORD_BYTES:
                raise ModelFileError("malformed entry: no space after a word", path=str(path), offset=offset + pos)
            if eof:
                raise ModelFileError(f"truncated: the header promises {count} vectors, found {index}",
                                     path=str(path), offset=offset + pos)
            more = fh.read(_CHUNK)
            eof = not more
            offset += pos
            buf = buf[pos:] + more
            pos = 0
        try:
            word = buf[pos:space].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelFileError(f"invalid UTF-8 in a word ({exc.reason})", path=str(path), offset=offset + pos) from None
        if not word or b"\n" in buf[pos:space]:
            raise ModelFileError("malformed entry: expected a word then a space", path=str(path), offset=offset + pos)
        words.append(word)
        vectors[index] = np.frombuffer(buf, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + nbytes
    return words, vectors
