"""Resumable training checkpoints: one npz file with a JSON header, written atomically.

A checkpoint holds what decides every later update of a run: the weights,
the optimiser state (moments and step), the schedule position (the step),
the data position (epoch and window), the hidden state carried into the
next window, the dropout RNG state, the history and the training options,
plus the vocabulary and a fingerprint of the token ids, so a resume on
another corpus or vocabulary is refused instead of silently continuing.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..io import load_npz, save_npz
from .model import LanguageModel
from ..text.vocab import TokenVocabulary
from .training import History, TrainConfig, Trainer

FORMAT = "seqdl-lm-checkpoint"
FORMAT_VERSION = 1


def fingerprint(ids: np.ndarray) -> dict:
    """Length and CRC-32 of a token-id array (read in blocks, so a memory map stays on disk)."""
    crc, block = 0, 1 << 22
    for start in range(0, len(ids), block):
        crc = zlib.crc32(np.ascontiguousarray(ids[start:start + block], dtype=np.int32).tobytes(), crc)
    return {"tokens": int(len(ids)), "crc32": crc}


def state_to_arrays(state: Any, prefix: str = "carry") -> tuple[Any, dict[str, np.ndarray]]:
    """A JSON description of a nested tuple/list of arrays (or None) and the arrays by name."""
    arrays: dict[str, np.ndarray] = {}

    def walk(node, name):
        if node is None:
            return None
        if isinstance(node, (tuple, list)):
            return [walk(child, f"{name}.{k}") for k, child in enumerate(node)]
        arrays[name] = np.asarray(node)
        return name

    return walk(state, prefix), arrays


def state_from_arrays(layout: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`state_to_arrays` (lists become tuples, arrays are copies)."""
    if layout is None:
        return None
    if isinstance(layout, list):
        return tuple(state_from_arrays(child, arrays) for child in layout)
    return np.array(arrays[layout])


def save_checkpoint(path: str | os.PathLike, trainer: Trainer, data: dict) -> None:
    """Write ``trainer``'s whole position to ``path`` atomically; ``data`` describes the corpus."""
    model = trainer.model
    arrays = {f"param.{i}.{name}": value for i, layer in enumerate(model.layers) for name, value in layer.params.items()}
    optimizer = trainer.optimizer.state_dict()
    slots = {}
    for index, entry in optimizer["state"].items():
        slots[str(index)] = [name for name in entry if name != "step"]
        arrays.update({f"optim.{index}.{name}": entry[name] for name in slots[str(index)]})
    carry, carry_arrays = state_to_arrays(trainer.state)
    arrays.update(carry_arrays)
    header = {
        "format": FORMAT, "version": FORMAT_VERSION,
        "model": {"config": model.config(), "level": model.vocab.level, "tokens": model.vocab.tokens},
        "options": trainer.config.to_dict(), "data": data,
        "position": {"steps": trainer.steps, "epoch": trainer.epoch, "batch": trainer.batch,
                     "epoch_loss": trainer.epoch_loss, "epoch_tokens": trainer.epoch_tokens,
                     "loss_reported": trainer.loss_reported},
        "optimizer": {"param_groups": optimizer["param_groups"], "steps": optimizer["steps"], "slots": slots},
        "carry": carry, "rng": trainer.rng_state, "history": trainer.history.to_dict(),
    }
    save_npz(path, arrays, header)


class Checkpoint:
    """A checkpoint read back: its header (``options``, ``data``, ``model``...) and arrays."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self.arrays, self.header = load_npz(path)
        if self.header.get("format") != FORMAT:
            raise ModelFileError("not a seqdl training checkpoint", path=self.path)
        missing = {"model", "options", "data", "position", "optimizer", "carry", "history"} - set(self.header)
        if missing:
            raise ModelFileError(f"corrupt checkpoint header (missing {', '.join(sorted(missing))})", path=self.path)

    @property
    def options(self) -> dict:
        """The training options the run started with."""
        return self.header["options"]

    @property
    def data(self) -> dict:
        """What the run trained on (level, vocabulary size, fingerprints)."""
        return self.header["data"]

    @property
    def model_config(self) -> dict:
        """The architecture: the keyword arguments of :class:`LanguageModel`."""
        return self.header["model"]["config"]

    def vocab(self) -> TokenVocabulary:
        """The run's vocabulary."""
        try:
            return TokenVocabulary(self.header["model"]["tokens"], self.header["model"]["level"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupt checkpoint vocabulary ({exc})", path=self.path) from None

    def model(self, workers: int = 1) -> LanguageModel:
        """The model with the checkpoint's weights."""
        try:
            model = LanguageModel(self.vocab(), **self.model_config, workers=workers)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupt checkpoint architecture ({exc})", path=self.path) from None
        for i, layer in enumerate(model.layers):
            for name, value in layer.params.items():
                stored = self.arrays.get(f"param.{i}.{name}")
                if stored is None or stored.shape != value.shape or not np.issubdtype(stored.dtype, np.floating):
                    raise ModelFileError(f"missing or misshapen array param.{i}.{name}", path=self.path)
                value[...] = stored
        return model

    def trainer(self, model: LanguageModel, config: TrainConfig, total_steps: int) -> Trainer:
        """A :class:`Trainer` for ``model`` at the checkpoint's position, continuing under ``config``."""
        trainer = Trainer(model, config, total_steps)
        header = self.header
        try:
            opt = header["optimizer"]
            state = {int(index): {name: self.arrays[f"optim.{index}.{name}"] for name in names}
                     for index, names in opt["slots"].items()}
            trainer.optimizer.load_state_dict({"state": state, "param_groups": opt["param_groups"],
                                               "steps": opt["steps"]})
            position = header["position"]
            trainer.steps, trainer.epoch, trainer.batch = (int(position[k]) for k in ("steps", "epoch", "batch"))
            trainer.epoch_loss, trainer.epoch_tokens = float(position["epoch_loss"]), int(position["epoch_tokens"])
            trainer.loss_reported = bool(position.get("loss_reported", False))
            trainer.state = state_from_arrays(header["carry"], self.arrays)
            trainer.history = History.from_dict(header["history"])
            if header.get("rng") is not None and hasattr(model, "set_rng_state"):
                model.set_rng_state(header["rng"])
                trainer.rng_state = header["rng"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupt checkpoint ({exc})", path=self.path) from None
        return trainer
