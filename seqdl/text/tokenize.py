"""Tokenization, one home for both halves of seqdl.

Embeddings read one sentence per line split on whitespace, as word2vec,
gensim's ``LineSentence`` and fastText do (:func:`split_sentences`); language
models read a token stream of characters, or of words and newlines
(:func:`split_tokens`), so generated text keeps its line structure. The
word-level tokens of a text are its embedding tokens read with ``lowercase=False``, in order, plus a
``"\n"`` token for every newline.
"""

from __future__ import annotations

import os
import re
from typing import Iterator

from .corpus import DEFAULT_BUFFER, read_pieces


#: The language-model token levels: characters, or words and newlines.
LEVELS = ("char", "word")
_WORD_OR_NEWLINE = re.compile(r"[^\S\n]*(\n|\S+)")


def split_tokens(text: str, level: str) -> list[str]:
    """``text`` as a language model's list of tokens: characters, or words and newlines."""
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD_OR_NEWLINE.findall(text)
    raise ValueError(f"level must be one of {LEVELS}, got {level!r}")


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
