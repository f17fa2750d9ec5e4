"""Perplexity of a language model on a text file, with the state carried over the whole file."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorpusError, InputError
from ..text.corpus import read_pieces
from .model import LanguageModel
from ..text.tokenize import split_tokens
from ..text.vocab import UNKNOWN
from .training import evaluate_nll


@dataclass
class PerplexityResult:
    """Total negative log-likelihood (nats) of the ``tokens`` predicted; ``unknown`` tokens of the file were ``<unk>``."""

    nll: float
    tokens: int
    unknown: int

    @property
    def mean_nll(self) -> float:
        """Nats per predicted token."""
        return self.nll / self.tokens

    @property
    def bits_per_token(self) -> float:
        """Bits per predicted token (bits per character at char level)."""
        return self.mean_nll / math.log(2)

    @property
    def perplexity(self) -> float:
        """exp(mean nats per token)."""
        return math.exp(self.mean_nll)

    def to_dict(self) -> dict:
        """The figures as a JSON-ready dict."""
        return {"nll": self.mean_nll, "bits_per_token": self.bits_per_token, "perplexity": self.perplexity,
                "tokens": self.tokens, "unknown": self.unknown}


def perplexity(model: LanguageModel, path: str | os.PathLike, seq_len: int = 256) -> PerplexityResult:
    """Score every token of the file after the first, reading it as one stream with the state carried.

    Always the exact full softmax. Tokens the model never saw become
    ``<unk>`` (counted in ``unknown``) when its vocabulary has it; otherwise
    (character level) they are an :class:`InputError` listing them.
    """
    vocab = model.vocab
    unk = vocab.index.get(UNKNOWN)
    unknown = 0
    with tempfile.TemporaryDirectory(prefix="seqdl-ppl-") as workdir:
        out = Path(workdir) / "ids.int32"
        count = 0
        with open(out, "wb") as fh:
            for piece in read_pieces(path):
                tokens = split_tokens(piece.text, vocab.level)
                unseen = {t for t in tokens if t not in vocab.index}
                if unseen and unk is None:
                    listed = ", ".join(repr(t) for t in sorted(unseen)[:10]) + (", ..." if len(unseen) > 10 else "")
                    noun = "characters" if vocab.level == "char" else "words"
                    raise InputError(f"has {noun} the model never saw in training: {listed}", path=str(path))
                unknown += sum(1 for t in tokens if t in unseen)
                ids = vocab.ids(tokens).astype(np.int32)
                fh.write(ids.tobytes())
                count += len(ids)
        if count < 2:
            raise CorpusError(f"has {count} token(s); perplexity needs at least 2", path=str(path))
        ids = np.memmap(out, dtype=np.int32, mode="r", shape=(count,))
        total, scored = evaluate_nll(model, ids, seq_len=seq_len, batch_size=1)
        del ids
    return PerplexityResult(total, scored, unknown)
