"""From a corpus file to a trained language model: what ``seqdl train`` runs.

The corpus is streamed twice through :func:`seqdl.text.corpus.read_pieces`:
once to count the tokens, once to write their ids as int32 to a file that
training reads through :class:`numpy.memmap` (as nanoGPT's ``train.bin``),
so memory stays bounded by the vocabulary, never by the corpus size.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import CorpusError, ParameterError
from ..text.corpus import read_pieces
from ..text.tokenize import split_tokens
from ..text.vocab import TokenVocabulary, WordCounter, count_pieces
from .checkpoint import Checkpoint, fingerprint, save_checkpoint
from .model import LanguageModel
from .training import History, TrainConfig, Trainer, plan, single_threaded_blas


def read_text(path: str | os.PathLike) -> str:
    """The whole corpus as text; :class:`CorpusError` if it is missing, empty, binary or not UTF-8."""
    return "".join(piece.text for piece in read_pieces(path))


def count_tokens(path: str | os.PathLike, level: str) -> WordCounter:
    """How often each token occurs in the corpus, read piece by piece (the counting ``embed`` uses)."""
    return count_pieces(read_pieces(path), lowercase=False, level=level)


def write_ids(path: str | os.PathLike, vocab: TokenVocabulary, out: str | os.PathLike) -> np.memmap:
    """Write the corpus' token ids as int32 to ``out`` piece by piece; return them memory-mapped."""
    count = 0
    with open(out, "wb") as fh:
        for piece in read_pieces(path):
            ids = vocab.ids(split_tokens(piece.text, vocab.level)).astype(np.int32)
            fh.write(ids.tobytes())
            count += len(ids)
    if count == 0:
        raise CorpusError("the corpus has no tokens", path=str(path))
    return np.memmap(out, dtype=np.int32, mode="r", shape=(count,))


def split_ids(ids: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The head for training and the last ``val_fraction`` of the tokens for validation (views)."""
    if not (math.isfinite(val_fraction) and 0.0 <= val_fraction < 1.0):
        raise ParameterError("val_fraction", f"must be in [0, 1), got {val_fraction}")
    n_val = int(len(ids) * val_fraction)
    if n_val < 2:
        return ids, None
    return ids[:-n_val], ids[-n_val:]


@dataclass
class Corpus:
    """A tokenized corpus: vocabulary, memory-mapped ids split for training and validation."""

    vocab: TokenVocabulary
    train_ids: np.ndarray
    val_ids: np.ndarray | None

    def data(self, path, val_fraction: float) -> dict:
        """What a checkpoint records about the corpus, to refuse resuming on another."""
        return {"corpus": os.path.basename(str(path)), "val_fraction": val_fraction,
                "train": fingerprint(self.train_ids),
                "val": None if self.val_ids is None else fingerprint(self.val_ids)}


def load_corpus(path, workdir, level: str = "char", max_words: int | None = 10000, val_fraction: float = 0.1,
                vocab: TokenVocabulary | None = None) -> Corpus:
    """Tokenize ``path`` into ``workdir``; build the vocabulary unless one is given."""
    if vocab is None:
        vocab = TokenVocabulary.from_counts(count_tokens(path, level), level, max_words=max_words)
        if len(vocab) < 2:
            raise CorpusError(f"the corpus has only {len(vocab)} distinct {level} token(s); nothing to learn",
                              path=str(path))
    ids = write_ids(path, vocab, Path(workdir) / "ids.int32")
    train_ids, val_ids = split_ids(ids, val_fraction)
    return Corpus(vocab, train_ids, val_ids)


def fit_corpus(path: str | os.PathLike, output: str | os.PathLike, level: str = "char",
               model_options: dict | None = None, config: TrainConfig | None = None, val_fraction: float = 0.1,
               max_words: int = 10000, seed: int | None = None, progress=None,
               checkpoint: str | os.PathLike | None = None, resume: Checkpoint | None = None,
               on_ready: Callable[[Trainer], None] | None = None) -> tuple[LanguageModel, History]:
    """Train a language model on the corpus at ``path``; save it to ``output``.

    ``output`` holds the model with the best validation loss so far (the
    latest, after every epoch, when there is no validation set), so with
    ``config.patience`` it is the early-stopped model.

    ``model_options`` are :class:`LanguageModel` keyword arguments. With
    ``checkpoint``, the whole run is saved there after every epoch and when
    interrupted (Ctrl-C, SIGTERM), then KeyboardInterrupt propagates. With
    ``resume`` (a :class:`Checkpoint`), the run continues from it: the corpus
    must give the same vocabulary and token ids.
    """
    config = config or TrainConfig()
    with tempfile.TemporaryDirectory(prefix="seqdl-lm-") as workdir:
        if resume is not None:
            vocab = resume.vocab()
            corpus = load_corpus(path, workdir, vocab.level, val_fraction=val_fraction, vocab=vocab)
            if corpus.data(path, val_fraction)["train"] != resume.data.get("train"):
                raise CorpusError(f"is not the corpus the checkpoint {resume.path} was trained on "
                                  "(its token ids differ)", path=str(path))
            model = resume.model(workers=config.workers)
        else:
            corpus = load_corpus(path, workdir, level, max_words, val_fraction)
            model = LanguageModel(corpus.vocab, **(model_options or {}), seed=seed, workers=config.workers)
        streams, epochs, total = plan(corpus.train_ids, config)
        trainer = resume.trainer(model, config, total) if resume is not None else Trainer(model, config, total)
        if trainer.steps >= total:
            raise ParameterError("steps", f"the checkpoint is already at update {trainer.steps} of {total}; "
                                 "ask for more steps or epochs")
        data = corpus.data(path, val_fraction)

        def save_model(trainer: Trainer) -> None:
            h = trainer.history
            model.save(output, {"corpus": data["corpus"], "epochs": trainer.epoch, "steps": trainer.steps,
                                "train_loss": h.train_loss, "val_loss": h.val_loss,
                                "best_val_loss": h.best_val_loss})

        def save(trainer: Trainer) -> None:
            if corpus.val_ids is None:  # nothing to choose the best by: the latest
                save_model(trainer)
            if checkpoint is not None:
                save_checkpoint(checkpoint, trainer, data)

        def on_eval(trainer: Trainer, loss: float, improved: bool) -> None:
            if improved:  # the saved model is the best by validation loss
                save_model(trainer)

        if on_ready is not None:
            on_ready(trainer)
        try:
            with single_threaded_blas(config.workers > 1):
                history = trainer.run(streams, corpus.val_ids, epochs, progress, on_epoch=save,
                                      on_eval=on_eval)
        except KeyboardInterrupt:
            if checkpoint is not None:
                save_checkpoint(checkpoint, trainer, data)
            raise
        del streams, corpus  # release the memory map before its folder goes
    return model, history
