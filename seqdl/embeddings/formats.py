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
    """Whether to *write* ``path`` as a binary vectors file: a ``.bin`` suffix means binary.

    Readers do not guess from the name: they look at the content.
    """
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


def write_word2vec(path: str | os.PathLike, words: Sequence[str], vectors: np.ndarray, binary: bool = False,
                   header: bool = True) -> None:
    """Write ``words`` and their rows of ``vectors`` to ``path`` atomically.

    Text values are written with 9 significant digits, enough to read back
    the exact float32 values. ``header=False`` writes GloVe's layout (text
    without the ``"<count> <dim>"`` line).
    """
    if binary and not header:
        raise ValueError("binary vectors files always have a header")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"{len(words)} words but vectors of shape {vectors.shape}")
    check_words_writable(words)
    count, dim = vectors.shape
    with atomic_write(path, "wb") as fh:
        if header:
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


def write_projector(vectors_path: str | os.PathLike, metadata_path: str | os.PathLike, words: Sequence[str],
                    vectors: np.ndarray) -> None:
    """Write TensorBoard Embedding Projector files: ``vectors_path`` (tab-separated values, a row per
    word) and ``metadata_path`` (a word per line; one column, so no header), atomically.

    A word with a tab or line break would shift every later label, so it is refused.
    """
    for index, word in enumerate(words):
        if not word or any(c in word for c in "\t\n\r"):
            raise InputError(f"cannot write word {word!r} (index {index}) to a projector file: words must be "
                             "non-empty with no tab or line break")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    row_format = "\t".join(["%.9g"] * vectors.shape[1]) + "\n"
    with atomic_write(vectors_path, "w") as fh:
        for start in range(0, len(vectors), 4096):
            fh.write("".join(row_format % tuple(row) for row in vectors[start:start + 4096].tolist()))
    with atomic_write(metadata_path, "w") as fh:
        fh.write("".join(f"{word}\n" for word in words))


def read_word2vec(path: str | os.PathLike, binary: bool | None = None, limit: int | None = None,
                  no_header: bool | None = None) -> tuple[list[str], np.ndarray]:
    """Read a word2vec or GloVe file: ``(words, float32 vectors of shape (n, dim))``.

    ``binary=None`` tells text from binary by the content (float32 data is
    not UTF-8 text), whatever the name. ``no_header=None`` recognises a
    GloVe file (no ``"<count> <dim>"`` line: the first line is already a
    word and its numbers); True or False insists. ``limit`` reads only the
    first ``limit`` vectors (files are usually sorted by frequency). Raises
    :class:`ModelFileError` naming the file and the line (text) or byte
    offset (binary) of a malformed or truncated entry, a header that claims
    fewer vectors than the file holds, a value that is NaN or infinite, or
    a header claiming more vectors than the file or the memory can hold.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError("no such vectors file", path=str(path))
    size = path.stat().st_size
    with open(path, "rb") as fh:
        first = fh.readline()
        header = None if no_header else _header(first)
        if header is None and (no_header or (no_header is None and _glove_dim(first) is not None)):
            if binary:
                raise ModelFileError("a binary vectors file needs a '<count> <dim>' header line", path=str(path))
            dim = _glove_dim(first)
            if dim is None:
                raise ModelFileError("expected a word and numbers (GloVe format)", path=str(path), line=1)
            count = 1 + _count_lines(fh)
            fh.seek(0)
            binary, first_line, start = False, 1, 0
        else:
            count, dim = header if header is not None else _parse_header(first, path)
            if binary is None:
                binary = _looks_binary(fh.read(1 << 16), dim)
                fh.seek(len(first))
            first_line, start = 2, len(first)
        if limit is not None:
            count = min(count, max(0, int(limit)))
        _check_claim(path, count, dim, size - start, binary)
        leftover = b""
        if binary:
            words, vectors, leftover = _read_binary(fh, path, count, dim, start)
        else:
            words, vectors = _read_text(fh, path, count, dim, first_line)
        if limit is None and header is not None:
            _check_nothing_left(fh, path, count, leftover if binary else None)
    _check_finite(path, words, vectors, None if binary else first_line)
    if len(set(words)) != len(words):
        seen: set[str] = set()
        duplicate = next(w for w in words if w in seen or seen.add(w))
        raise ModelFileError(f"word {duplicate!r} appears more than once", path=str(path))
    return words, vectors


def _header(line: bytes) -> tuple[int, int] | None:
    """``(count, dim)`` if ``line`` is a word2vec header, else None."""
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    count, dim = int(parts[0]), int(parts[1])
    return (count, dim) if dim > 0 else None


def _parse_header(header: bytes, path: Path) -> tuple[int, int]:
    """``(count, dim)`` of a word2vec header, or a :class:`ModelFileError` saying what line 1 should be."""
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


def _glove_dim(line: bytes) -> int | None:
    """The dimension if ``line`` is a word followed by numbers (a GloVe line), else None."""
    parts = line.rstrip().split(b" ")
    if len(parts) < 2:
        return None
    try:
        [float(p) for p in parts[1:]]
    except ValueError:
        return None
    return len(parts) - 1


def _count_lines(fh) -> int:
    """Non-final newlines plus a last unterminated line, from the current position to the end."""
    count, last = 0, b"\n"
    while chunk := fh.read(_CHUNK):
        count += chunk.count(b"\n")
        last = chunk[-1:]
    return count + (last != b"\n")


def _looks_binary(sample: bytes, dim: int) -> bool:
    """Whether the bytes after a header are binary entries rather than text lines.

    Text if the first line is a word and ``dim`` numbers, or at least reads
    as UTF-8 without control characters (a malformed text file then gets its
    line-numbered error); binary otherwise, as raw float32 bytes almost
    always are.
    """
    import codecs

    line = sample.split(b"\n", 1)[0]
    parts = line.rstrip().split(b" ")
    if len(parts) >= dim + 1:
        try:
            [float(p) for p in parts[-dim:]]
            return False
        except ValueError:
            pass
    if any(b < 0x20 and b not in b"\t\r" for b in line):
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(line, final=len(line) < len(sample))
    except UnicodeDecodeError:
        return True
    return False


def _check_claim(path: Path, count: int, dim: int, available: int, binary: bool) -> None:
    """Refuse a header claiming more vectors than the file can hold or memory can take, before allocating."""
    from ..resources import check_memory

    smallest = count * (4 * dim + 2) if binary else count * (2 * dim + 2)
    if smallest > available and count * dim * 4 > (1 << 24):  # small files get the precise line/offset error
        raise ModelFileError(f"truncated: the header promises {count:,} vectors of dimension {dim}, which need at "
                             f"least {smallest:,} bytes; the file has {available:,}", path=str(path), line=1)
    check_memory(4.0 * count * dim, f"{count:,} vectors of dimension {dim}")


def _check_nothing_left(fh, path: Path, count: int, leftover: bytes | None) -> None:
    """Refuse vectors after the ``count`` the header promised: they would be dropped silently.

    ``leftover`` holds the bytes a binary reader read past the last entry (None for text).
    """
    if leftover is not None:
        if (leftover + fh.read(_CHUNK)).strip():
            raise ModelFileError(f"the header promises {count} vectors but the file holds more", path=str(path))
        return
    for extra, line in enumerate(fh):
        if line.strip():
            raise ModelFileError(f"the header promises {count} vectors but the file holds more", path=str(path),
                                 line=count + 2 + extra)


def _check_finite(path: Path, words: list[str], vectors: np.ndarray, first_line: int | None) -> None:
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ModelFileError(f"the vector of {words[row]!r} (entry {row + 1}) holds NaN or infinity",
                             path=str(path), line=None if first_line is None else first_line + row)


def _read_text(fh, path: Path, count: int, dim: int, first_line: int) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    vectors = np.empty((count, dim), dtype=np.float32)
    for index in range(count):
        lineno = index + first_line
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


def _read_binary(fh, path: Path, count: int, dim: int, start: int) -> tuple[list[str], np.ndarray, bytes]:
    """The ``count`` entries, and the bytes read beyond them."""
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
    return words, vectors, buf[pos:]
