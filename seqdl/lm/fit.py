"""From a corpus file to a saved language model: what ``seqdl train`` runs."""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ..errors import CorpusError
from ..text.corpus import read_pieces
from .model import LanguageModel
from .tokens import TokenVocabulary, split_tokens
from .training import History, TrainConfig, train


def read_text(path: str | os.PathLike) -> str:
    """The whole corpus as text; :class:`CorpusError` if it is missing, empty, binary or not UTF-8."""
    return "".join(piece.text for piece in read_pieces(path))


def split_ids(ids: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The head for training and the last ``val_fraction`` of the tokens for validation."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = int(len(ids) * val_fraction)
    if n_val < 2:
        return ids, None
    return ids[:-n_val], ids[-n_val:]


def fit_corpus(path: str | os.PathLike, output: str | os.PathLike, level: str = "char",
               embedding_dim: int = 64, hidden_size: int = 256, num_layers: int = 1,
               config: TrainConfig | None = None, val_fraction: float = 0.1, max_words: int = 10000,
               seed: int | None = None, report: Callable[[str], None] | None = None) -> tuple[LanguageModel, History]:
    """Train a language model on the corpus at ``path`` and save it to ``output`` after every epoch."""
    tokens = split_tokens(read_text(path), level)
    vocab = TokenVocabulary.from_tokens(tokens, level, max_words=max_words)
    if len(vocab) < 2:
        raise CorpusError(f"the corpus has only {len(vocab)} distinct {level} token(s); nothing to learn",
                          path=str(path))
    train_ids, val_ids = split_ids(vocab.ids(tokens), val_fraction)
    model = LanguageModel(vocab, embedding_dim, hidden_size, num_layers, seed=seed)
    config = config or TrainConfig()

    def save(epoch: int, history: History) -> None:
        model.save(output, {"corpus": os.path.basename(str(path)), "epochs": epoch, "steps": history.steps,
                            "train_loss": history.train_loss, "val_loss": history.val_loss})

    return model, train(model, train_ids, val_ids, config, report=report, on_epoch=save)
