"""Truncated-BPTT training of a :class:`~seqdl.lm.model.LanguageModel`, resumable at any update.

As the classic char-rnn and PyTorch's word_language_model: the token stream
is cut into ``batch_size`` contiguous streams read side by side, ``seq_len``
tokens at a time, and each batch starts from the state the previous batch
ended in (gradients stop at the batch boundary). An optimiser from
:mod:`seqdl.nn.optim`, a learning-rate schedule per update, gradient clipping
by global norm, validation loss on the held-out tail of the corpus.

Everything that decides the next update lives in the :class:`Trainer`
(weights, optimiser state, step, data position, carried state, history), so
:mod:`seqdl.lm.checkpoint` can save it and a resumed run continues exactly.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from ..errors import CorpusError, ParameterError, TrainingError
from ..nn import optim, schedules
from ..nn.clip import clip_grad_norm
from ..nn.losses import cross_entropy
from ..progress import NullProgress
from .model import LanguageModel

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
LR_SCHEDULES = ("constant", "cosine", "step")
LOSSES = ("full", "sampled-softmax")


@dataclass
class TrainConfig:
    """How to train: the defaults are the classic char-rnn setting."""

    seq_len: int = 64
    batch_size: int = 32
    lr: float = 2e-3
    clip: float = 5.0
    epochs: int = 5
    #: If set, stop after this many updates (counted from the run's start) instead of after ``epochs``.
    steps: int | None = None
    #: Threads for the LSTM layers (batch rows split between them); BLAS runs single-threaded when > 1.
    workers: int = 1
    optimizer: str = "adam"
    #: None: the optimiser's own default (torch's: 0 for Adam, SGD, RMSprop; 0.01 for AdamW).
    weight_decay: float | None = None
    #: ``constant``; ``cosine`` (nanoGPT: warmup, then cosine to lr/10 at the last update);
    #: ``step`` (x0.1 after each third of the updates that follow the warmup).
    lr_schedule: str = "constant"
    warmup: int = 0
    #: Validate every N updates as well as after every epoch (None: only after epochs).
    eval_every: int | None = None
    #: Stop after this many validations in a row without a new best validation loss (None: never).
    patience: int | None = None
    #: Show a short sample through the progress reporter every N updates (None: never).
    sample_every: int | None = None
    #: Seed of those samples (the one at update s uses ``[sample_seed, s]``): they never touch the training RNG.
    sample_seed: int = 0
    #: ``full`` softmax, or ``sampled-softmax`` over the targets and ``negative`` noise words per update
    #: (:mod:`seqdl.lm.sampled`; validation stays the full softmax).
    loss: str = "full"
    negative: int | None = None

    def __post_init__(self):
        for name in ("seq_len", "batch_size", "epochs", "workers"):
            if getattr(self, name) < 1:
                raise ParameterError(name, f"must be >= 1, got {getattr(self, name)}")
        for name in ("steps", "eval_every", "patience", "sample_every"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ParameterError(name, f"must be >= 1, got {getattr(self, name)}")
        for name in ("lr", "clip"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ParameterError(name, f"must be a finite number > 0, got {getattr(self, name)}")
        if self.weight_decay is not None and not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ParameterError("weight_decay", f"must be a finite number >= 0, got {self.weight_decay}")
        if self.optimizer not in OPTIMIZERS:
            raise ParameterError("optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ParameterError("lr_schedule", f"must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.loss not in LOSSES:
            raise ParameterError("loss", f"must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.loss == "sampled-softmax" and (self.negative is None or self.negative < 1):
            raise ParameterError("negative", f"must be >= 1 with the sampled softmax, got {self.negative}")
        if self.warmup < 0:
            raise ParameterError("warmup", f"must be >= 0, got {self.warmup}")

    def to_dict(self) -> dict:
        """The options as a JSON-ready dict (what a checkpoint stores)."""
        return asdict(self)


@dataclass
class History:
    """What training reports: per-epoch mean train loss and validation loss, and the throughput."""

    train_loss: list[float] = field(default_factory=list)
    #: Training loss of every update, in order (the curve ``--plot`` draws).
    step_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    #: (step, validation loss) of every evaluation, including those of ``eval_every``.
    evaluations: list[tuple[int, float]] = field(default_factory=list)
    #: Lowest validation loss so far, and the step it was reached at.
    best_val_loss: float | None = None
    best_step: int | None = None
    #: Validations in a row without a new best (what ``patience`` counts); True once training stopped early.
    stale_evaluations: int = 0
    stopped_early: bool = False
    steps: int = 0
    tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        """Training tokens per second of wall time, validation excluded."""
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        """The history as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """The inverse of :meth:`to_dict`."""
        history = cls(**data)
        history.evaluations = [(int(s), float(v)) for s, v in history.evaluations]
        return history


def split_streams(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut ``ids`` into ``batch_size`` contiguous rows (the tail that does not fit is dropped).

    A view when ``ids`` allows it (a memory-mapped file stays on disk).
    """
    length = len(ids) // batch_size
    return ids[:length * batch_size].reshape(batch_size, length)


def window_starts(streams: np.ndarray, seq_len: int) -> range:
    """Start column of every (inputs, targets) window along the streams."""
    return range(0, streams.shape[1] - 1, seq_len)


def window(streams: np.ndarray, start: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets (targets shifted by one) of the window at ``start``, as int64 arrays."""
    stop = min(start + seq_len, streams.shape[1] - 1)
    return (np.ascontiguousarray(streams[:, start:stop], dtype=np.int64),
            np.ascontiguousarray(streams[:, start + 1:stop + 1], dtype=np.int64))


def stream_batches(streams: np.ndarray, seq_len: int):
    """Yield (inputs, targets) windows (N, <= seq_len) along the streams, targets shifted by one."""
    for start in window_starts(streams, seq_len):
        yield window(streams, start, seq_len)


def evaluate_nll(model: LanguageModel, ids: np.ndarray, seq_len: int = 64, batch_size: int = 32) -> tuple[float, int]:
    """Total cross-entropy (nats) of ``model`` on ``ids`` read as carried-state streams, and the tokens scored."""
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
    return total, count


def evaluate(model: LanguageModel, ids: np.ndarray, seq_len: int = 64, batch_size: int = 32) -> float:
    """Mean cross-entropy (nats per token) of ``model`` on ``ids``, read as carried-state streams."""
    total, count = evaluate_nll(model, ids, seq_len, batch_size)
    return total / count


def _check_finite(value: float, what: str, step: int) -> None:
    if not math.isfinite(value):
        raise TrainingError(f"{what} became {value} at step {step}; try a lower --lr or --clip")


def make_optimizer(model: LanguageModel, config: TrainConfig) -> optim.Optimizer:
    """The optimiser ``config`` names, on the model's layers."""
    cls = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD, "rmsprop": optim.RMSprop}[config.optimizer]
    kwargs = {} if config.weight_decay is None else {"weight_decay": config.weight_decay}
    return cls(model.layers, lr=config.lr, **kwargs)


def make_schedule(config: TrainConfig, total_steps: int) -> schedules.Schedule:
    """The learning rate per update (counted from 0) for a run of ``total_steps`` updates."""
    if config.warmup >= total_steps:
        raise ParameterError("warmup", f"is {config.warmup} updates but the run has only {total_steps}")
    after = total_steps - config.warmup
    if config.lr_schedule == "cosine":
        return schedules.warmup_cosine(config.lr, total_steps, config.warmup, min_lr=config.lr / 10)
    if config.lr_schedule == "step":
        inner = schedules.StepDecay(config.lr, step_size=max(1, math.ceil(after / 3)), gamma=0.1)
    else:
        inner = schedules.Constant(config.lr)
    return schedules.Warmup(inner, config.warmup) if config.warmup else inner


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C/SIGTERM/SIGHUP until the block ends, so an update is never half applied.

    The held signal is delivered to its previous handler when the block ends.
    Does nothing outside the main thread (signals are only handled there).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[tuple[int, object]] = []
    signums = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {s: signal.getsignal(s) for s in signums}
    for s in signums:
        signal.signal(s, lambda signum, frame: held.append((signum, frame)))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if held:
            signum, frame = held[0]
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            elif signum == signal.SIGINT and handler != signal.SIG_IGN:
                raise KeyboardInterrupt


class Trainer:
    """Truncated-BPTT updates, one at a time or a whole run, with everything a resume needs.

    ``steps`` (updates done), ``epoch`` (epochs completed), ``batch`` (windows
    done in the current epoch), ``state`` (the carried hidden state),
    ``history`` and the optimiser state are the position of the run.
    """

    def __init__(self, model: LanguageModel, config: TrainConfig, total_steps: int | None = None):
        self.model, self.config = model, config
        model.workers = config.workers
        self.optimizer = make_optimizer(model, config)
        self.schedule = make_schedule(config, total_steps) if total_steps else schedules.Constant(config.lr)
        self.state = None
        self.steps = 0
        self.epoch = 0
        self.batch = 0
        self.epoch_loss = 0.0
        self.epoch_tokens = 0
        #: Whether history.train_loss has the loss of the updates so far in this epoch (set at its end).
        self.loss_reported = False
        self.history = History()
        #: The dropout RNG state after the last committed update (a Ctrl-C mid-forward has drawn masks since).
        self.rng_state = model.get_rng_state() if hasattr(model, "get_rng_state") else None
        #: The sampled-softmax loss (set up by :meth:`run` from the training ids' counts), or None.
        self.sampled = None

    def step(self, x: np.ndarray, y: np.ndarray, batch: int | None = None) -> float:
        """Train on inputs ``x`` and targets ``y`` (N, T) after the carried state; return the loss.

        With ``batch`` (the windows done in the epoch after this one), the run's
        position and loss totals are recorded together with the update, so an
        interrupt can never leave a checkpoint with one and not the other.
        """
        model = self.model
        model.zero_grad()
        # Divergence is reported by the finiteness checks, as one TrainingError, not by numpy warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.sampled is None:
                logits, new_state = model.forward(x, self.state, training=True)
                loss, grad = cross_entropy(logits, y)
                _check_finite(loss, "the training loss", self.steps + 1)
                model.backward(grad)
            else:
                loss, new_state = self._sampled_step(x, y)
            _check_finite(clip_grad_norm(model.layers, self.config.clip), "the gradient norm", self.steps + 1)
        with interrupts_deferred():
            self.optimizer.lr = self.schedule(self.steps)
            self.optimizer.step()
            self.state = new_state
            self.steps += 1
            if self.rng_state is not None:
                self.rng_state = model.get_rng_state()
            if batch is not None:
                self._record(batch, float(loss), y.size)
        return loss

    def _record(self, batch: int, loss: float, tokens: int) -> None:
        """The position and loss totals after an update that ended window ``batch`` of the epoch."""
        history = self.history
        self.batch, self.loss_reported = batch, False
        history.steps = self.steps
        history.step_loss.append(loss)
        history.tokens += tokens
        self.epoch_loss += loss * tokens
        self.epoch_tokens += tokens

    def _sampled_step(self, x: np.ndarray, y: np.ndarray):
        """Forward and backward with the sampled softmax; the noise words' seed comes from the model's RNG,
        whose state a checkpoint keeps, so a resumed run draws the same ones."""
        model, output = self.model, self.model.output
        negatives = self.sampled.draw(int(model.rng.integers(2**63)))
        hidden, new_state = model.forward_hidden(x, self.state, training=True)
        loss, grad = self.sampled.loss(hidden.reshape(-1, hidden.shape[-1]), y.reshape(-1), negatives,
                                       output.weight, output.params["bias"], output.weight_grad,
                                       output.grads["bias"])
        _check_finite(loss, "the training loss", self.steps + 1)
        model.backward_hidden(grad.reshape(hidden.shape))
        return loss, new_state

    def run(self, streams: np.ndarray, val_ids: np.ndarray | None, epochs: int, progress=None,
            on_epoch: Callable[[Trainer], None] | None = None,
            on_eval: Callable[[Trainer, float, bool], None] | None = None) -> History:
        """Train from the current position until ``epochs`` are done or ``config.steps`` updates.

        ``on_epoch(trainer)`` runs after each epoch (where the caller saves);
        ``on_eval(trainer, val_loss, improved)`` after each validation. A Ctrl-C between
        updates leaves the trainer at a consistent position to checkpoint.
        """
        config, history = self.config, self.history
        progress = progress or NullProgress()
        starts = window_starts(streams, config.seq_len)
        limit = config.steps
        if config.loss == "sampled-softmax" and self.sampled is None:
            from .sampled import SampledSoftmax

            counts = np.bincount(np.asarray(streams).reshape(-1), minlength=self.model.vocab_size)
            self.sampled = SampledSoftmax(counts, config.negative)
        if config.eval_every and self.steps % config.eval_every == 0 and 0 < self.batch < len(starts):
            self._validate(val_ids, progress, on_eval)  # one an interrupt cut short (skipped if it was done)
        while self.epoch < epochs and (limit is None or self.steps < limit) and not history.stopped_early:
            if self.batch == 0:
                self.state, self.epoch_loss, self.epoch_tokens = None, 0.0, 0
            for index in range(self.batch, len(starts)):
                x, y = window(streams, starts[index], config.seq_len)
                started = time.perf_counter()
                loss = self.step(x, y, batch=index + 1)
                history.seconds += time.perf_counter() - started
                progress.update(self.steps, loss=loss, epoch=f"{self.epoch + 1}/{epochs}",
                                lr=self.optimizer.lr)
                if config.eval_every and self.steps % config.eval_every == 0 and self.batch < len(starts):
                    self._validate(val_ids, progress, on_eval)
                if config.sample_every and self.steps % config.sample_every == 0:
                    progress.write(f"sample at step {self.steps}:\n{sample_text(self.model, config.sample_seed, self.steps)}")
                if (limit is not None and self.steps >= limit) or history.stopped_early:
                    break
            finished = self.batch == len(starts)
            # An interrupt from here on resumes here: the loss is not reported twice, a validation of
            # this step that was recorded is not repeated (one cut short is), and the epoch advances once.
            with interrupts_deferred():
                if not self.loss_reported:
                    history.train_loss.append(self.epoch_loss / max(self.epoch_tokens, 1))
                    self.loss_reported = True
            self._validate(val_ids, progress, on_eval)
            with interrupts_deferred():
                if finished:
                    self.epoch, self.batch = self.epoch + 1, 0
            if on_epoch is not None:
                on_epoch(self)
            if not finished:
                break
        return history

    def _validate(self, val_ids, progress, on_eval) -> None:
        if val_ids is None or len(val_ids) < 2 or self.history.stopped_early:
            return
        if self.history.evaluations and self.history.evaluations[-1][0] == self.steps:
            return  # this step was validated already (eval_every)
        loss = evaluate(self.model, val_ids, self.config.seq_len, self.config.batch_size)
        history = self.history
        # Recorded, reported and saved (on_eval) as one: an interrupt before this block redoes the
        # validation on resume, one during it waits until the best model is saved.
        with interrupts_deferred():
            history.val_loss.append(loss)
            history.evaluations.append((self.steps, loss))
            improved = history.best_val_loss is None or loss < history.best_val_loss
            if improved:
                history.best_val_loss, history.best_step, history.stale_evaluations = loss, self.steps, 0
            else:
                history.stale_evaluations += 1
            progress.write(f"step {self.steps}: train loss {self.epoch_loss / max(self.epoch_tokens, 1):.4f}, "
                           f"val loss {loss:.4f}" + ("" if improved else f" (best {history.best_val_loss:.4f})"))
            if on_eval is not None:
                on_eval(self, loss, improved)
            if self.config.patience is not None and history.stale_evaluations >= self.config.patience:
                history.stopped_early = True
                progress.write(f"stopping early: {history.stale_evaluations} validations without improvement; "
                               f"the best was {history.best_val_loss:.4f} at step {history.best_step}")


def sample_text(model: LanguageModel, seed: int, step: int, max_new_tokens: int = 100,
                temperature: float = 0.8) -> str:
    """A short sample from the start of a line, reproducible from ``(seed, step)``.

    Decoding reads the weights only and draws from its own generator, so the
    training run (its dropout RNG, hence a resume's bit-identity) is untouched.
    """
    from ..generation import generate

    sample_seed = int(np.random.SeedSequence([seed, step]).generate_state(1)[0])
    return generate(model, None, decoder="sample", max_new_tokens=max_new_tokens, temperature=temperature,
                    seed=sample_seed)[0].text


def plan(train_ids: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, int, int]:
    """The streams of ``train_ids``, the epochs to run and the total number of updates."""
    streams = split_streams(train_ids, config.batch_size)
    if streams.shape[1] < 2:
        advice = "; use a smaller --batch-size" if config.batch_size > 1 else ""
        raise CorpusError(f"too few tokens ({len(train_ids)}) to train with batch size {config.batch_size}{advice}")
    per_epoch = len(window_starts(streams, config.seq_len))
    if config.steps is None:
        return streams, config.epochs, config.epochs * per_epoch
    return streams, math.ceil(config.steps / per_epoch), config.steps


def train(model: LanguageModel, train_ids: np.ndarray, val_ids: np.ndarray | None = None,
          config: TrainConfig | None = None, progress=None,
          on_epoch: Callable[[Trainer], None] | None = None, trainer: Trainer | None = None) -> History:
    """Train ``model`` on ``train_ids`` by truncated BPTT; return the :class:`History`.

    ``progress`` receives the step count and loss; ``on_epoch(trainer)`` runs
    after each epoch, which is where the caller saves. Pass a ``trainer``
    restored from a checkpoint to continue its run. A non-finite loss or
    gradient norm raises :class:`TrainingError`.
    """
    config = config or TrainConfig()
    streams, epochs, total = plan(train_ids, config)
    if trainer is None:
        trainer = Trainer(model, config, total)
    with single_threaded_blas(config.workers > 1):
        return trainer.run(streams, val_ids, epochs, progress, on_epoch)


@contextlib.contextmanager
def single_threaded_blas(enabled: bool = True):
    """Run BLAS on one thread inside the block when ``enabled`` (our own threads use the cores then)."""
    if not enabled:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield
