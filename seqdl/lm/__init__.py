"""Character- and word-level recurrent (LSTM, GRU, RNN) language models trained by truncated BPTT.

:class:`LanguageModel` implements the decoding protocol, so every registered
decoder (greedy, sample, beam, a plugin's) can generate from it.
"""

from __future__ import annotations

from ..text.tokenize import split_tokens
from ..text.vocab import TokenVocabulary
from .pipeline import fit_corpus, read_text
from .model import LanguageModel
from .training import History, TrainConfig, Trainer, evaluate, train

__all__ = ["History", "LanguageModel", "TokenVocabulary", "TrainConfig", "Trainer", "evaluate", "fit_corpus", "read_text",
           "split_tokens", "train"]
