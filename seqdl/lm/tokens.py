"""The token vocabulary of a language model: characters, or words and newlines.

Character level keeps every character of the corpus. Word level splits on
whitespace but keeps each newline as a token of its own, so generated text
keeps its line structure; words beyond the ``max_words`` most frequent become
``<unk>``, as in the PyTorch word_language_model's preprocessed corpora.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from typing import Callable, Sequence

import numpy as np

from ..errors import InputError

LEVELS = ("char", "word")
UNKNOWN = "<unk>"
_WORD_OR_NEWLINE = re.compile(r"[^\S\n]*(\n|\S+)")


def split_tokens(text: str, level: str) -> list[str]:
    """``text`` as a list of tokens: characters, or words and newlines."""
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD_OR_NEWLINE.findall(text)
    raise ValueError(f"level must be one of {LEVELS}, got {level!r}")


class TokenVocabulary:
    """Tokens and their ids for one ``level`` ('char' or 'word')."""

    def __init__(self, tokens: Sequence[str], level: str):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        self.tokens = list(tokens)
        self.level = level
        self.index = {token: i for i, token in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocabulary tokens must be unique")

    @classmethod
    def from_tokens(cls, tokens: Sequence[str], level: str, max_words: int | None = None) -> TokenVocabulary:
        """The vocabulary of a token list, sorted; at word level at most ``max_words`` plus ``<unk>``."""
        return cls.from_counts(Counter(tokens), level, max_words)

    @classmethod
    def from_counts(cls, counts: Counter, level: str, max_words: int | None = None) -> TokenVocabulary:
        """The vocabulary of token counts, sorted; at word level at most ``max_words`` plus ``<unk>``."""
        if level == "word" and max_words is not None and len(counts) > max_words:
            kept = sorted(counts, key=lambda t: (-counts[t], t))[:max_words]
            return cls(sorted({*kept, UNKNOWN}), level)
        return cls(sorted(counts), level)

    def __len__(self) -> int:
        return len(self.tokens)

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """Ids of tokens seen in training; unseen words map to ``<unk>`` where the vocabulary has it."""
        unk = self.index.get(UNKNOWN)
        if unk is None:
            return np.fromiter((self.index[t] for t in tokens), dtype=np.int64, count=len(tokens))
        return np.fromiter((self.index.get(t, unk) for t in tokens), dtype=np.int64, count=len(tokens))

    def encode_prompt(self, text: str, warn: Callable[[str], None] | None = None) -> list[int]:
        """Ids of a prompt.

        A token the model never saw becomes ``<unk>`` when the vocabulary has
        it (word level), reported through ``warn`` (default
        :func:`warnings.warn`); otherwise it is an :class:`InputError`
        listing them all.
        """
        tokens = split_tokens(text, self.level)
        unknown = sorted({t for t in tokens if t not in self.index})
        if unknown:
            noun = "characters" if self.level == "char" else "words"
            listed = ", ".join(repr(t) for t in unknown[:10]) + (", ..." if len(unknown) > 10 else "")
            unk = self.index.get(UNKNOWN)
            if unk is None:
                raise InputError(f"the prompt has {noun} the model never saw in training: {listed}")
            message = f"the prompt has {noun} the model never saw in training, read as {UNKNOWN}: {listed}"
            if warn is None:
                warnings.warn(message, stacklevel=2)
            else:
                warn(message)
            return [self.index.get(t, unk) for t in tokens]
        return [self.index[t] for t in tokens]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of token ids: characters joined, or words joined by spaces with newlines kept."""
        tokens = [self.tokens[i] for i in ids]
        if self.level == "char":
            return "".join(tokens)
        out: list[str] = []
        for token in tokens:
            if out and token != "\n" and out[-1] != "\n":
                out.append(" ")
            out.append(token)
        return "".join(out)
