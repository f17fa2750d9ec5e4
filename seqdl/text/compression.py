"""Transparent decompression of corpus files: gzip, bzip2, xz and (if installed) zstandard.

The format comes from the file name's extension (``.gz``, ``.bz2``, ``.xz``,
``.zst``); standard input is recognised by its magic bytes instead. Errors
from a corrupt or truncated stream are turned into :class:`CorpusError` by
the corpus reader, which knows the file name and how far it got.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import IO

from ..errors import CorpusError

#: Extension -> compression name.
EXTENSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}

#: Magic bytes at the start of a stream -> compression name.
MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))

#: Exceptions a decompressor raises on corrupt or truncated input (zstandard's are added when it loads).
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, lzma.LZMAError, ValueError)


def compression_from_name(name: str) -> str | None:
    """The compression implied by ``name``'s extension, or None for plain text."""
    lowered = name.lower()
    for extension, kind in EXTENSIONS.items():
        if lowered.endswith(extension):
            return kind
    return None


def compression_from_magic(head: bytes) -> str | None:
    """The compression whose magic bytes start ``head``, or None."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    return None


def decompressing(raw: IO[bytes], kind: str | None, name: str) -> IO[bytes]:
    """A binary file object reading the decompressed bytes of ``raw`` (``raw`` itself for ``None``)."""
    if kind is None:
        return raw
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "bz2":
        return bz2.BZ2File(raw, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if kind == "zstd":
        try:
            import zstandard
        except ImportError:
            raise CorpusError("is zstandard-compressed, but the zstandard package is not installed: "
                              "pip install zstandard (or pip install 'seqdl[distributed]')", path=name) from None
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
    raise ValueError(f"unknown compression {kind!r}")


def decompression_errors() -> tuple[type[BaseException], ...]:
    """What a decompressor may raise on bad input, zstandard's error included when it is installed."""
    try:
        import zstandard
    except ImportError:
        return DECOMPRESSION_ERRORS
    return DECOMPRESSION_ERRORS + (zstandard.ZstdError,)
