"""Whitespace tokenization: one sentence per line, as word2vec, gensim's LineSentence and fastText read text."""

from __future__ import annotations

import os
from typing import Iterator

from .corpus import DEFAULT_BUFFER, read_pieces


def split_sentences(text: str, lowercase: bool) -> list[list[str]]:
    """The tokens of each non-blank line of ``text``, split on any Unicode whitespace."""
    if lowercase:
        text = text.lower()
    return [tokens for tokens in map(str.split, text.split("\n")) if tokens]


def file_sentences(path: str | os.PathLike, lowercase: bool = True,
                   buffer_size: int = DEFAULT_BUFFER) -> Iterator[list[str]]:
    """Stream the token lists of a corpus (a file, a folder of files or a URL; see :class:`~seqdl.text.corpus.Corpus`), one per line.

    A line longer than the read buffer comes out as several consecutive
    token lists (no token is lost or cut); errors are
    :class:`~seqdl.errors.CorpusError` naming the file and byte offset.
    """
    for piece in read_pieces(path, buffer_size):
        yield from split_sentences(piece.text, lowercase)
