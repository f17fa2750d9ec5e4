"""Sequential: a stack of layers with fit / evaluate / predict and npz + JSON model files."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ..errors import ModelFileError, ShapeError, TrainingError
from ..io import check_finite_arrays, load_npz, save_npz
from . import losses as _losses
from . import optim as _optim
from .base import Container, Layer, build_layer, layer_spec, make_rng

#: Written into every model file; :meth:`Sequential.load` refuses other formats.
FILE_FORMAT = "seqdl.nn.Sequential"
FILE_VERSION = 1


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    ``monitor`` is ``"val_loss"`` (the default; falls back to ``"loss"``
    without validation data), ``"loss"``, ``"accuracy"`` or ``"val_accuracy"``.
    With ``restore_best`` the parameters of the best epoch are put back.
    """

    patience: int = 5
    min_delta: float = 0.0
    monitor: str = "val_loss"
    restore_best: bool = True


class Sequential(Container):
    """Layers applied in order; itself a layer, so models nest (and nested models save and load)."""

    def __init__(self, layers=()):
        super().__init__()
        self.layers: list[Layer] = self._layers(layers)

    def children(self) -> list[Layer]:
        return self.layers

    @classmethod
    def from_config(cls, config: dict) -> Sequential:
        return cls([build_layer(spec) for spec in config["layers"]])

    def add(self, layer: Layer) -> Sequential:
        """Append a layer; returns self."""
        self.layers.append(layer)
        return self

    def config(self) -> dict:
        return {"layers": [layer_spec(layer) for layer in self.layers]}

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer).replace("\n", "\n  ") for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"

    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    # -- training -------------------------------------------------------------
    def _inputs(self, X) -> np.ndarray:
        X = np.asarray(X)
        return X if not np.issubdtype(X.dtype, np.floating) else np.ascontiguousarray(X, dtype=self.dtype)

    def _targets(self, y, loss) -> np.ndarray:
        y = np.asarray(y)
        return y.astype(np.int64) if isinstance(loss, _losses.CrossEntropyLoss) else y.astype(self.dtype)

    def fit(self, X, y, epochs: int = 1, batch_size: int = 32, optimizer="adam", loss="cross_entropy",
            validation_data=None, early_stopping=None, schedule=None, shuffle: bool = True, seed=None,
            verbose: bool = True, blas_threads: int | None = 1, progress=None) -> dict[str, list[float]]:
        """Train on (X, y) by minibatches; returns the history of each logged value per epoch.

        ``optimizer`` is an Optimizer or a name ("adam", "sgd"...) built with
        torch's defaults; ``loss`` a Loss or its name; ``validation_data`` a
        pair (X_val, y_val); ``early_stopping`` an :class:`EarlyStopping` or a
        patience; ``schedule`` sets the learning rate each epoch.

        ``progress`` (a :class:`seqdl.progress.ProgressReporter`) is updated
        with the epochs done and each epoch's figures, and given one line per
        epoch (loss, accuracy, validation figures, time) and the early-stopping
        notice. Without one, a :class:`seqdl.progress.Progress` on stderr shows
        them unless ``verbose`` is false.

        ``blas_threads`` caps BLAS threads while training (None leaves them
        alone): minibatch GEMMs are small, and threaded BLAS on them is slower
        on an idle machine and dozens of times slower on a busy one.
        """
        from ..progress import NullProgress, Progress

        owned = progress is None
        if owned:
            progress = Progress(epochs, unit="epochs", desc="fit") if verbose else NullProgress()
        try:
            with threadpool_limits(limits=blas_threads, user_api="blas"):
                return self._fit(X, y, epochs, batch_size, optimizer, loss, validation_data, early_stopping,
                                 schedule, shuffle, seed, progress)
        finally:
            if owned:
                progress.close()

    def _fit(self, X, y, epochs, batch_size, optimizer, loss, validation_data, early_stopping, schedule,
             shuffle, seed, progress):
        loss = _losses.get(loss)
        optimizer = _optim.get(optimizer, self)
        X = self._inputs(X)
        y = self._targets(y, loss)
        if len(X) != len(y):
            raise ShapeError(f"fit got {len(X)} inputs but {len(y)} targets")
        if len(X) == 0:
            raise TrainingError("fit got no training examples")
        if batch_size < 1 or epochs < 0:
            raise ValueError(f"batch_size must be >= 1 and epochs >= 0, got {batch_size} and {epochs}")
        if isinstance(early_stopping, int) and not isinstance(early_stopping, bool):
            early_stopping = EarlyStopping(patience=early_stopping)
        rng = make_rng(seed)
        history: dict[str, list[float]] = {}
        best, best_epoch, best_params = math.inf, -1, None
        for epoch in range(epochs):
            if schedule is not None:
                schedule.apply(optimizer, epoch)
            started = time.perf_counter()
            record = self._train_epoch(X, y, batch_size, optimizer, loss, rng.permutation(len(X)) if shuffle
                                       else np.arange(len(X)))
            if validation_data is not None:
                val = self.evaluate(*validation_data, loss=loss)
                record.update({f"val_{k}": v for k, v in val.items()})
            for key, value in record.items():
                history.setdefault(key, []).append(value)
            figures = "  ".join(f"{k} {v:.4f}" for k, v in record.items())
            progress.write(f"epoch {epoch + 1}/{epochs}  {figures}  ({time.perf_counter() - started:.2f}s)")
            progress.update(epoch + 1, epochs, **record)
            if early_stopping is not None:
                monitor = early_stopping.monitor if early_stopping.monitor in record else "loss"
                score = record[monitor] * (-1.0 if "accuracy" in monitor else 1.0)
                if score < best - early_stopping.min_delta:
                    best, best_epoch = score, epoch
                    if early_stopping.restore_best:
                        best_params = self._snapshot()
                elif epoch - best_epoch >= early_stopping.patience:
                    progress.write(f"early stopping: no {monitor} improvement for {early_stopping.patience} epochs")
                    break
        if best_params is not None:
            self._restore(best_params)
        return history

    def _train_epoch(self, X, y, batch_size, optimizer, loss, order) -> dict[str, float]:
        total_loss = 0.0
        correct = 0.0
        scored = True
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            xb, yb = X[idx], y[idx]
            optimizer.zero_grad()
            out = self.forward(xb, training=True)
            value, grad = loss(out, yb)
            if not math.isfinite(value):
                raise TrainingError(f"loss became {value} in training; try a smaller learning rate")
            self.backward(grad)
            optimizer.step()
            total_loss += value * len(idx)
            accuracy = loss.accuracy(out, yb)
            scored = accuracy is not None
            correct += (accuracy or 0.0) * len(idx)
        record = {"loss": total_loss / len(order)}
        if scored:
            record["accuracy"] = correct / len(order)
        return record

    def _snapshot(self) -> list[dict[str, np.ndarray]]:
        return [{**{k: v.copy() for k, v in layer.params.items()},
                 **{k: v.copy() for k, v in layer.buffers.items()}} for layer in self.layers]

    def _restore(self, snapshot) -> None:
        for layer, saved in zip(self.layers, snapshot):
            for store in (layer.params, layer.buffers):
                for name in store:
                    store[name][...] = saved[name]

    def predict(self, X, batch_size: int = 256) -> np.ndarray:
        """Outputs for X (not training: no dropout, BatchNorm uses running statistics)."""
        X = self._inputs(X)
        outs = [self.forward(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
        if not outs:
            raise ShapeError("predict got no inputs")
        return np.concatenate(outs)

    def evaluate(self, X, y, loss="cross_entropy", batch_size: int = 256) -> dict[str, float]:
        """``{"loss": ..., "accuracy": ...}`` on (X, y); accuracy only where the loss defines it."""
        loss = _losses.get(loss)
        out = self.predict(X, batch_size)
        y = self._targets(y, loss)
        value, _ = loss(out, y)
        record = {"loss": value}
        accuracy = loss.accuracy(out, y)
        if accuracy is not None:
            record["accuracy"] = accuracy
        return record

    # -- files ----------------------------------------------------------------
    def save(self, path) -> None:
        """Write the architecture (JSON) and parameters/buffers (npz) atomically; no pickle.

        Nested containers are described recursively and their arrays named by
        path (``"2.0.weight"``).
        """
        save_npz(path, {**self.params, **self.buffers}, {"format": FILE_FORMAT, "version": FILE_VERSION,
                                                         **self.config()})

    @classmethod
    def load(cls, path) -> Sequential:
        """Rebuild a model written by :meth:`save`; ModelFileError if the file is not one."""
        arrays, meta = load_npz(path)
        check_finite_arrays(arrays, path)
        if meta.get("format") != FILE_FORMAT or meta.get("version") != FILE_VERSION:
            raise ModelFileError(f"not a {FILE_FORMAT} model file (format {meta.get('format')!r}, "
                                 f"version {meta.get('version')!r})", path=str(path))
        try:
            model = cls.from_config({"layers": meta["layers"]})
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"corrupt model description ({type(exc).__name__}: {exc})",
                                 path=str(path)) from None
        floating = [a.dtype for a in arrays.values() if np.issubdtype(a.dtype, np.floating)]
        if floating and floating[0] != model.dtype:
            model.astype(floating[0])
        for name, current in {**model.params, **model.buffers}.items():
            saved = arrays.pop(name, None)
            if saved is None:
                raise ModelFileError(f"missing array {name}", path=str(path))
            if saved.shape != current.shape:
                raise ModelFileError(f"layer {name.rpartition('.')[0]} {name.rpartition('.')[2]} has shape "
                                     f"{saved.shape}, expected {current.shape}", path=str(path))
            current[...] = saved
        if arrays:
            raise ModelFileError(f"unexpected arrays {sorted(arrays)}", path=str(path))
        return model
