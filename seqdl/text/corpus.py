"""A corpus of any size: many files, folders, compressed files, URLs or standard input, streamed and checked.

:class:`Corpus` is what ``embed``, ``train`` and the vocabulary code read:

- ``Corpus.open(spec)`` takes a file, a folder (its ``*.txt``, ``*.gz``,
  ``*.bz2``, ``*.xz``, ``*.zst`` files in sorted order), ``-`` for standard
  input (copied once to a temporary file, then replayed; removed by
  :meth:`Corpus.close`), an fsspec URL, or a list of any of these.
- :meth:`Corpus.pieces` streams the text in bounded :class:`Piece` s and
  :meth:`Corpus.sentences` the token lists, one per line.
- :meth:`Corpus.shards` cuts the corpus into :class:`Shard` s (whole
  compressed files, byte ranges of plain ones cut at line ends) that can be
  read independently, on other machines too.

A piece is a run of whole lines, or, for a line longer than the buffer, a
run of whole tokens of that line: no text is ever cut or dropped, and memory
stays bounded by the buffer size whatever the line lengths. Problems are
:class:`~seqdl.errors.CorpusError` naming the file and the byte offset in its
(uncompressed) text: a missing file, a binary file (a NUL byte), UTF-16 text
(with a hint to re-encode it), invalid UTF-8, corrupt compressed data, and a
corpus with no text at all.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Sequence

from ..errors import CorpusError
from .compression import decompression_errors
from .sources import STDIN_NAME, Source, is_url, resolve, spool

__all__ = ["DEFAULT_BUFFER", "Corpus", "Piece", "Shard", "check_corpus_file", "read_pieces"]

#: Bytes read from the file at a time.
DEFAULT_BUFFER = 1 << 20
#: A shard boundary falls at a line end unless the line is longer than this; then between two tokens.
LONG_LINE = 1 << 16

_ASCII_SPACE = b" \t\r\n\x0b\x0c"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF16_HINT = ("looks like UTF-16 text; seqdl reads UTF-8: re-encode it, for example "
               "'iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.txt'")


@dataclass(frozen=True)
class Piece:
    """Text from a corpus: ``text`` starts at byte ``offset`` of the (uncompressed) file ``source``."""

    offset: int
    text: str
    source: str = ""


@dataclass(frozen=True)
class Shard:
    """Part of ``source``: from byte ``start`` to byte ``end`` (None: to the end of the file), cut between tokens.

    Unless ``exact``, both ends move forward to a cut (:func:`cut_position`):
    the next line start, or, inside a line longer than :data:`LONG_LINE`
    bytes, the next token start. Shards that tile a file therefore read
    every token exactly once, and each line whole unless it is very long.
    An ``exact`` shard's ends are already cuts (a :class:`Piece` boundary)
    and are used as they are.
    """

    source: Source
    start: int = 0
    end: int | None = None
    exact: bool = False

    @property
    def name(self) -> str:
        """The file, and the byte range if the shard is not the whole file."""
        if self.start == 0 and self.end is None:
            return self.source.name
        return f"{self.source.name} [bytes {self.start}-{'' if self.end is None else self.end}]"

    def pieces(self, buffer_size: int = DEFAULT_BUFFER) -> Iterator[Piece]:
        """The shard's text in :class:`Piece` s (see :func:`read_pieces`); may yield only whitespace."""
        with contextlib.closing(self.source.open()) as fh:
            yield from _read_stream(fh, self.source, self.start, self.end, self.exact, buffer_size)

    def sentences(self, lowercase: bool = True, buffer_size: int = DEFAULT_BUFFER) -> Iterator[list[str]]:
        """The token lists of the shard's lines."""
        from .tokenize import split_sentences

        for piece in self.pieces(buffer_size):
            yield from split_sentences(piece.text, lowercase)

    def stop(self) -> int | None:
        """Where the shard's text ends: its ``end`` moved to a cut (None: the end of the file)."""
        if self.end is None or self.exact:
            return self.end
        with contextlib.closing(self.source.open()) as fh:
            return cut_position(fh, self.end)


class Corpus:
    """The text of one or more files, read as one stream; see the module docstring.

    Use as a context manager (or call :meth:`close`) to remove the copy of
    standard input. Iterating over a corpus yields its sentences, lowercased
    unless ``lowercase=False``, so it can be passed wherever a re-iterable of
    token lists is expected.
    """

    def __init__(self, sources: Sequence[Source], name: str | None = None, lowercase: bool = True,
                 temporary: Sequence[str] = ()):
        if not sources:
            raise CorpusError("no corpus given")
        self.sources: list[Source] = list(sources)
        self.name: str = name if name is not None else ", ".join(s.name for s in self.sources)
        self.lowercase = lowercase
        self._temporary = list(temporary)
        self._finalizer = weakref.finalize(self, _remove, list(self._temporary))

    @classmethod
    def open(cls, spec: str | os.PathLike | Sequence[str | os.PathLike] | "Corpus", lowercase: bool = True,
             stdin: BinaryIO | None = None) -> "Corpus":
        """The corpus ``spec`` names: a path, folder, URL or ``-`` (standard input), or a list of them.

        ``stdin`` is read for ``-`` (default: the process's standard input).
        A FIFO (a pipe such as bash's ``<(zcat x.gz)``) is copied once like
        standard input. A :class:`Corpus` is returned as it is.
        """
        if isinstance(spec, Corpus):
            return spec
        specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
        if not specs:
            raise CorpusError("no corpus given")
        sources: list[Source] = []
        temporary: list[str] = []
        try:
            for number, item in enumerate(specs):
                text = os.fspath(item)
                if text == "-":
                    if "-" in map(os.fspath, specs[:number]):
                        raise CorpusError("standard input (-) can be read only once; name it once")
                    source, tmp = spool(stdin if stdin is not None else sys.stdin.buffer)
                    temporary.append(tmp)
                    sources.append(source)
                elif not is_url(text) and _is_pipe(text):
                    with open(text, "rb") as pipe:
                        source, tmp = spool(pipe, name=text)
                    temporary.append(tmp)
                    sources.append(source)
                else:
                    sources.extend(resolve(text))
        except BaseException:
            _remove(temporary)
            raise
        name = STDIN_NAME if specs == ["-"] else ", ".join(map(os.fspath, specs))
        return cls(sources, name=name, lowercase=lowercase, temporary=temporary)

    def close(self) -> None:
        """Remove the temporary copy of standard input, if any."""
        self._finalizer()

    def __enter__(self) -> "Corpus":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Corpus({self.name!r}, {len(self.sources)} file(s))"

    def __iter__(self) -> Iterator[list[str]]:
        return self.sentences(self.lowercase)

    @property
    def size(self) -> int | None:
        """Bytes stored (compressed sizes for compressed files), None if some size is unknown."""
        sizes = [s.size for s in self.sources]
        return None if None in sizes else sum(sizes)

    def pieces(self, buffer_size: int = DEFAULT_BUFFER) -> Iterator[Piece]:
        """Every file's text in order, as :class:`Piece` s; :class:`CorpusError` if there is no text at all."""
        saw_text = False
        for source in self.sources:
            for piece in Shard(source).pieces(buffer_size):
                saw_text = saw_text or not piece.text.isspace()
                yield piece
        if not saw_text:
            empty = all(s.size == 0 for s in self.sources)
            raise CorpusError("the corpus is empty" if empty else "the corpus has no text (only whitespace)",
                              path=self.name)

    def sentences(self, lowercase: bool | None = None, buffer_size: int = DEFAULT_BUFFER) -> Iterator[list[str]]:
        """The token lists of every non-blank line (lowercased as ``lowercase``, default the corpus's)."""
        from .tokenize import split_sentences

        lowercase = self.lowercase if lowercase is None else lowercase
        for piece in self.pieces(buffer_size):
            yield from split_sentences(piece.text, lowercase)

    def shards(self, count: int) -> list[Shard]:
        """About ``count`` shards of similar size covering the corpus in order.

        Plain files of known size are cut into byte ranges (at line ends, or
        between tokens inside very long lines; see :class:`Shard`);
        compressed files cannot be entered in the middle, so each is one
        shard.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        total = sum(s.size or 0 for s in self.sources)
        target = max(1, -(-total // count))
        shards: list[Shard] = []
        for source in self.sources:
            if not source.splittable or source.size <= target:
                shards.append(Shard(source))
                continue
            parts = -(-source.size // target)
            bounds = [source.size * i // parts for i in range(parts + 1)]
            shards.extend(Shard(source, a, b if b < source.size else None) for a, b in zip(bounds, bounds[1:]))
        return shards


def check_corpus_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path if it names a readable, non-empty regular file; else :class:`CorpusError`."""
    path = Path(path)
    if not path.exists():
        raise CorpusError("no such corpus file", path=str(path))
    if not path.is_file():
        raise CorpusError("not a regular file", path=str(path))
    if path.stat().st_size == 0:
        raise CorpusError("the corpus is empty", path=str(path))
    return path


def read_pieces(path: str | os.PathLike, buffer_size: int = DEFAULT_BUFFER) -> Iterator[Piece]:
    """Yield the corpus at ``path`` (a file, folder or URL) as decoded :class:`Piece` s of about ``buffer_size`` bytes.

    Pieces end after a newline where possible, else after ASCII whitespace
    inside an over-long line (ASCII bytes never occur inside a multi-byte
    UTF-8 character, so no character or token is split). Raises
    :class:`CorpusError` at the first NUL byte or invalid UTF-8 sequence, and
    if the corpus holds nothing but whitespace.
    """
    corpus = Corpus.open(path)
    try:
        yield from corpus.pieces(buffer_size)
    finally:
        corpus.close()


def cut_position(fh: BinaryIO, position: int) -> int:
    """The first cut at or after ``position`` in the seekable stream ``fh``.

    A cut follows the first newline from byte ``position - 1`` on, if there
    is one within :data:`LONG_LINE` bytes; otherwise it follows the first
    ASCII whitespace (a token start inside a very long line). Both shards
    meeting at ``position`` compute the same cut, so neither loses nor
    repeats a token.
    """
    if position <= 0:
        return 0
    fh.seek(position - 1)
    block = fh.read(LONG_LINE)
    newline = block.find(b"\n")
    if newline >= 0:
        return position + newline
    at = position - 1
    while block:
        spaces = [i for i in (block.find(bytes([c])) for c in _ASCII_SPACE) if i >= 0]
        if spaces:
            return at + min(spaces) + 1
        at += len(block)
        block = fh.read(LONG_LINE)
    return at


class _Limited:
    """Reads ``fh`` up to byte ``stop`` (None: to its end)."""

    def __init__(self, fh: BinaryIO, position: int, stop: int | None):
        self.fh, self.position, self.stop = fh, position, stop

    def read(self, size: int) -> bytes:
        if self.stop is not None:
            size = min(size, self.stop - self.position)
            if size <= 0:
                return b""
        data = self.fh.read(size)
        self.position += len(data)
        return data


def _read_stream(fh: BinaryIO, source: Source, start: int, end: int | None, exact: bool,
                 buffer_size: int) -> Iterator[Piece]:
    """The pieces of ``fh`` between the cuts at ``start`` and ``end`` (the positions themselves if ``exact``)."""
    errors = decompression_errors()
    offset = start
    carry = b""
    try:
        stop = end
        if not exact:
            if end is not None:
                stop = cut_position(fh, end)
            offset = cut_position(fh, start)
        if stop is not None and offset >= stop:
            return
        if offset > 0 or stop is not None:  # cut_position has moved the stream
            fh.seek(offset)
        reader = _Limited(fh, offset, stop)
        while True:
            block = reader.read(buffer_size)
            data = carry + block
            if not data:
                break
            if not block:  # end of the range: the rest is the last piece
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1
                if not cut and len(data) >= buffer_size:
                    cut = max(data.rfind(bytes([c])) for c in _ASCII_SPACE) + 1
                if not cut:  # no whitespace yet: a single huge token, read on
                    carry = data
                    continue
            chunk, carry = data[:cut], data[cut:]
            text = _decode(chunk, source, offset)
            if offset == 0 and text.startswith("\ufeff"):  # a UTF-8 byte-order mark is not a word
                text = text[1:]
            yield Piece(offset, text, source.name)
            offset += len(chunk)
    except errors as exc:
        if isinstance(exc, CorpusError):
            raise
        if source.compression is None:
            raise CorpusError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=source.name,
                              offset=offset + len(carry)) from None
        raise CorpusError(f"corrupt or truncated {source.compression} data ({exc}) after this many bytes of "
                          "uncompressed text", path=source.name, offset=offset + len(carry)) from None


def _decode(chunk: bytes, source: Source, offset: int) -> str:
    if offset == 0 and chunk.startswith(_UTF16_BOMS):
        raise CorpusError(_UTF16_HINT, path=source.name, offset=0)
    nul = chunk.find(b"\x00")
    if nul >= 0:
        if _looks_utf16(chunk[max(0, nul - 64) & ~1: nul + 192]):
            raise CorpusError(_UTF16_HINT, path=source.name, offset=offset + nul)
        raise CorpusError("binary data (a NUL byte), not a text corpus", path=source.name, offset=offset + nul)
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"invalid UTF-8 ({exc.reason})", path=source.name, offset=offset + exc.start) from None


def _looks_utf16(sample: bytes) -> bool:
    """Whether NULs fall on every other byte, as in UTF-16 text of mostly ASCII characters."""
    pairs = len(sample) // 2
    if pairs < 4:
        return False
    even = sum(1 for b in sample[0:2 * pairs:2] if b == 0)
    odd = sum(1 for b in sample[1:2 * pairs:2] if b == 0)
    return (odd >= 0.6 * pairs and even <= 0.05 * pairs) or (even >= 0.6 * pairs and odd <= 0.05 * pairs)


def _is_pipe(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _remove(paths: Iterable[str]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
