"""Truncated-BPTT training of a :class:`~seqdl.lm.model.LanguageModel`.

As the classic char-rnn and PyTorch's word_language_model: the token stream
is cut into ``batch_size`` contiguous streams read side by side, ``seq_len``
tokens at a time, and each batch starts from the state the previous batch
ended in (gradients stop at the batch boundary). Adam, gradient clipping by
global norm, validation loss on the held-out tail of the corpus.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import CorpusError, TrainingError
from ..nn.clip import clip_grad_norm
from ..nn.losses import cross_entropy
from ..nn.optim import Adam
from .model import LanguageModel


@dataclass
class TrainConfig:
    """How to train: the defaults are the classic char-rnn setting."""

    seq_len: int = 64
    batch_size: int = 32
    lr: float = 2e-3
    clip: float = 5.0
    epochs: int = 5
    #: If set, stop after this many updates instead of after ``epochs``.
    steps: int | None = None
    #: Threads for the LSTM layers (batch rows split between them); BLAS runs single-threaded when > 1.
    workers: int = 1

    def __post_init__(self):
        if min(self.seq_len, self.batch_size, self.epochs, self.workers) < 1 or (self.steps is not None and self.steps < 1):
            raise ValueError("seq_len, batch_size, epochs, workers and steps must be >= 1")
        if self.lr <= 0 or self.clip <= 0:
            raise ValueError("lr and clip must be > 0")


@dataclass
class History:
    """What training reports: per-epoch mean train loss and validation loss, and the throughput."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        """Training tokens per second of wall time, validation excluded."""
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


def split_streams(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut ``ids`` into ``batch_size`` contiguous rows (the tail that does not fit is dropped)."""
    length = len(ids) // batch_size
    return np.ascontiguousarray(ids[:length * batch_size].reshape(batch_size, length))


def stream_batches(streams: np.ndarray, seq_len: int):
    """Yield (inputs, targets) windows (N, <= seq_len) along the streams, targets shifted by one."""
    for start in range(0, streams.shape[1] - 1, seq_len):
        stop = min(start + seq_len, streams.shape[1] - 1)
        yield streams[:, start:stop], streams[:, start + 1:stop + 1]


def evaluate(model: LanguageModel, ids: np.ndarray, seq_len: int = 64, batch_size: int = 32) -> float:
    """Mean cross-entropy (nats per token) of ``model`` on ``ids``, read as carried-state streams."""
    batch_size = max(1, min(batch_size, (len(ids) - 1) // 2 or 1))
    streams = split_streams(ids, batch_size)
    total, count, state = 0.0, 0, None
    for x, y in stream_batches(streams, seq_len):
        logits, state = model.forward(x, state)
        loss, _ = cross_entropy(logits, y)
        total += loss * y.size
        count += y.size
    if count == 0:
        raise CorpusError(f"too few tokens ({len(ids)}) to evaluate")
    return total / count


def _check_finite(value: float, what: str, step: int) -> None:
    if not math.isfinite(value):
        raise TrainingError(f"{what} became {value} at step {step}; try a lower --lr or --clip")


class Trainer:
    """One truncated-BPTT update at a time: forward from the carried state, backward, clip, Adam."""

    def __init__(self, model: LanguageModel, config: TrainConfig):
        self.model, self.config = model, config
        model.workers = config.workers
        self.optimizer = Adam(model.layers, lr=config.lr)
        self.state = None
        self.steps = 0

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """Train on inputs ``x`` and targets ``y`` (N, T) after the carried state; return the loss."""
        model = self.model
        self.steps += 1
        model.zero_grad()
        # Divergence is reported by the finiteness checks, as one TrainingError, not by numpy warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits, self.state = model.forward(x, self.state, training=True)
            loss, grad = cross_entropy(logits, y)
            _check_finite(loss, "the training loss", self.steps)
            model.backward(grad)
            _check_finite(clip_grad_norm(model.layers, self.config.clip), "the gradient norm", self.steps)
        self.optimizer.step()
        return loss


def train(model: LanguageModel, train_ids: np.ndarray, val_ids: np.ndarray | None = None,
          config: TrainConfig | None = None, report: Callable[[str], None] | None = None,
          on_epoch: Callable[[int, History], None] | None = None, report_every: float = 2.0) -> History:
    """Train ``model`` on ``train_ids`` by truncated BPTT; return the :class:`History`.

    ``report`` receives progress lines (every ``report_every`` seconds and
    after each epoch); ``on_epoch(epoch, history)`` runs after each epoch,
    which is where the caller saves a checkpoint. A non-finite loss or
    gradient norm raises :class:`TrainingError`.
    """
    config = config or TrainConfig()
    streams = split_streams(np.asarray(train_ids, dtype=np.int64), config.batch_size)
    if streams.shape[1] < 2:
        raise CorpusError(f"too few tokens ({len(train_ids)}) to train with batch size {config.batch_size}; "
                          "use a smaller --batch-size")
    batches_per_epoch = math.ceil((streams.shape[1] - 1) / config.seq_len)
    epochs = config.epochs if config.steps is None else math.ceil(config.steps / batches_per_epoch)
    trainer = Trainer(model, config)
    with single_threaded_blas(config.workers > 1):
        return _epochs(trainer, streams, val_ids, epochs, report, on_epoch, report_every)


@contextlib.contextmanager
def single_threaded_blas(enabled: bool = True):
    """Run BLAS on one thread inside the block when ``enabled`` (our own threads use the cores then)."""
    if not enabled:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def _epochs(trainer: Trainer, streams: np.ndarray, val_ids, epochs: int, report, on_epoch,
            report_every: float) -> History:
    model, config = trainer.model, trainer.config
    history = History()
    last_report = time.perf_counter()
    for epoch in range(1, epochs + 1):
        trainer.state, epoch_loss, epoch_tokens = None, 0.0, 0
        for x, y in stream_batches(streams, config.seq_len):
            started = time.perf_counter()
            loss = trainer.step(x, y)
            history.steps += 1
            history.tokens += y.size
            history.seconds += time.perf_counter() - started
            epoch_loss += loss * y.size
            epoch_tokens += y.size
            if report is not None and time.perf_counter() - last_report >= report_every:
                last_report = time.perf_counter()
                report(f"epoch {epoch}/{epochs} step {history.steps}: loss {loss:.4f}, "
                       f"{history.tokens_per_second:,.0f} tokens/s")
            if config.steps is not None and history.steps >= config.steps:
                break
        history.train_loss.append(epoch_loss / epoch_tokens)
        if val_ids is not None and len(val_ids) > 1:
            history.val_loss.append(evaluate(model, val_ids, config.seq_len, config.batch_size))
        if report is not None:
            val = f", val loss {history.val_loss[-1]:.4f}" if history.val_loss else ""
            report(f"epoch {epoch}/{epochs} done: train loss {history.train_loss[-1]:.4f}{val}, "
                   f"{history.tokens_per_second:,.0f} tokens/s")
        if on_epoch is not None:
            on_epoch(epoch, history)
    return history
