"""Stream a UTF-8 text file in bounded pieces, checking it as it goes.

A piece is a run of whole lines, or, for a line longer than the buffer, a
run of whole tokens of that line: no text is ever cut or dropped, and memory
stays bounded by the buffer size whatever the line lengths. Problems are
reported as :class:`~seqdl.errors.CorpusError` naming the file and the byte
offset: a missing file, a binary file (a NUL byte), invalid UTF-8, and a file
with no text at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import CorpusError

#: Bytes read from the file at a time.
DEFAULT_BUFFER = 1 << 20

_ASCII_SPACE = b" \t\r\n\x0b\x0c"


@dataclass(frozen=True)
class Piece:
    """Text from a corpus: ``text`` starts at byte ``offset`` of the file."""

    offset: int
    text: str


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
    """Yield the file as decoded :class:`Piece` s of at most about ``buffer_size`` bytes.

    Pieces end after a newline where possible, else after ASCII whitespace
    inside an over-long line (ASCII bytes never occur inside a multi-byte
    UTF-8 character, so no character or token is split). Raises
    :class:`CorpusError` at the first NUL byte or invalid UTF-8 sequence, and
    if the file holds nothing but whitespace.
    """
    path = check_corpus_file(path)
    saw_text = False
    offset = 0
    carry = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(buffer_size)
            data = carry + block
            if not data:
                break
            if not block:  # end of file: the rest is the last piece
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1
                if not cut and len(data) >= buffer_size:
                    cut = max(data.rfind(bytes([c])) for c in _ASCII_SPACE) + 1
                if not cut:  # no whitespace yet: a single huge token, read on
                    carry = data
                    continue
            chunk, carry = data[:cut], data[cut:]
            text = _decode(chunk, path, offset)
            if offset == 0 and text.startswith("\ufeff"):  # a UTF-8 byte-order mark is not a word
                text = text[1:]
            saw_text = saw_text or not text.isspace()
            yield Piece(offset, text)
            offset += len(chunk)
    if not saw_text:
        raise CorpusError("the corpus has no text (only whitespace)", path=str(path))


def _decode(chunk: bytes, path: Path, offset: int) -> str:
    nul = chunk.find(b"\x00")
    if nul >= 0:
        raise CorpusError("binary data (a NUL byte), not a text corpus", path=str(path), offset=offset + nul)
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"invalid UTF-8 ({exc.reason})", path=str(path), offset=offset + exc.start) from None
