"""Digits CNN and MLP: seqdl.nn side by side with PyTorch (and scikit-learn's MLP).

CNN: conv16(3x3 same)-ReLU-maxpool2-conv32(3x3 same)-ReLU-maxpool2-flatten-
dropout 0.25-dense64-ReLU-dense10, Adam 1e-3, batch 32, 30 epochs, on
scikit-learn's load_digits (75/25 stratified split, random_state 0). Both
sides use PyTorch's default init (Kaiming uniform a=sqrt(5)), shuffle every
epoch and train the same number of steps. The runs are interleaved epoch by
epoch (seqdl, torch 2 threads, torch 1 thread, then rotated), so load from
other processes hits all sides alike; each repeat gives a ratio of total
training times and the median over repeats is reported.

Threads: seqdl runs single-threaded (Numba kernels are serial; Sequential.fit
caps BLAS at 1 thread by default). torch runs both with its default intra-op
thread count and with 1 thread (each printed); the headline ratio is against
whichever torch setting was faster.

MLP: 64-128-10 with ReLU, Adam 1e-3, batch 32, against scikit-learn's
MLPClassifier(hidden_layer_sizes=(128,)) with its defaults, same split and
inputs, median test accuracy over several seeds on each side.

    python bench/digits_cnn.py [--repeats 3] [--epochs 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from seqdl import nn


def load_split():
    """(X_train, X_test, y_train, y_test), images (N, 1, 8, 8) standardised by the training mean and std."""
    digits = load_digits()
    X = digits.images.astype(np.float32)[:, None, :, :]
    X_train, X_test, y_train, y_test = train_test_split(X, digits.target, test_size=0.25,
                                                        stratify=digits.target, random_state=0)
    mean, std = X_train.mean(), X_train.std()
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


def seqdl_cnn(seed: int) -> nn.Sequential:
    """The benchmark CNN in seqdl.nn."""
    rng = np.random.default_rng(seed)
    return nn.Sequential([
        nn.Conv2D(1, 16, 3, padding="same", rng=rng), nn.ReLU(), nn.MaxPool2D(2),
        nn.Conv2D(16, 32, 3, padding="same", rng=rng), nn.ReLU(), nn.MaxPool2D(2),
        nn.Flatten(), nn.Dropout(0.25, rng=rng),
        nn.Dense(32 * 2 * 2, 64, rng=rng), nn.ReLU(), nn.Dense(64, 10, rng=rng),
    ])


def torch_cnn(torch, seed: int):
    """The same CNN in torch (torch's default init is the same Kaiming-uniform scheme)."""
    tnn = torch.nn
    torch.manual_seed(seed)
    return tnn.Sequential(
        tnn.Conv2d(1, 16, 3, padding="same"), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding="same"), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Flatten(), tnn.Dropout(0.25), tnn.Linear(32 * 2 * 2, 64), tnn.ReLU(), tnn.Linear(64, 10),
    )


class SeqdlRun:
    """The seqdl CNN in training, one epoch at a time through the public ``fit``."""

    def __init__(self, data, seed: int):
        self.X_train, self.X_test, self.y_train, self.y_test = data
        self.model = seqdl_cnn(seed)
        self.optimizer = nn.optim.Adam(self.model, lr=1e-3)
        self.rng = np.random.default_rng(seed)

    def epoch(self) -> float:
        """Train one epoch; its wall-clock seconds."""
        started = time.perf_counter()
        self.model.fit(self.X_train, self.y_train, epochs=1, batch_size=32, optimizer=self.optimizer,
                       loss="cross_entropy", seed=self.rng, verbose=False)
        return time.perf_counter() - started

    def accuracy(self) -> float:
        """Test accuracy."""
        return self.model.evaluate(self.X_test, self.y_test)["accuracy"]


class TorchRun:
    """The torch CNN in training with a plain loop, one epoch at a time, at a given thread count."""

    def __init__(self, torch, data, seed: int, threads: int):
        self.torch, self.threads = torch, threads
        self.X_train, self.X_test, self.y_train, self.y_test = (torch.from_numpy(np.ascontiguousarray(a))
                                                                for a in data)
        self.y_train, self.y_test = self.y_train.long(), self.y_test.long()
        self.model = torch_cnn(torch, seed)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss = torch.nn.CrossEntropyLoss()

    def epoch(self) -> float:
        """Train one epoch; its wall-clock seconds."""
        self.torch.set_num_threads(self.threads)
        started = time.perf_counter()
        self.model.train()
        order = self.torch.randperm(len(self.X_train))
        for start in range(0, len(order), 32):
            idx = order[start:start + 32]
            self.optimizer.zero_grad()
            self.loss(self.model(self.X_train[idx]), self.y_train[idx]).backward()
            self.optimizer.step()
        return time.perf_counter() - started

    def accuracy(self) -> float:
        """Test accuracy."""
        self.model.eval()
        with self.torch.no_grad():
            return float((self.model(self.X_test).argmax(1) == self.y_test).float().mean())


def train_side_by_side(runs: list, epochs: int) -> list[float]:
    """Train all runs epoch by epoch, rotating who goes first; total seconds of each."""
    seconds = [0.0] * len(runs)
    for epoch in range(epochs):
        for k in range(len(runs)):
            i = (epoch + k) % len(runs)
            seconds[i] += runs[i].epoch()
    return seconds


def run_mlps(data, epochs: int, seeds: int) -> dict:
    """seqdl MLP (64-128-10, Adam) and scikit-learn's MLPClassifier(128) on the same split and inputs.

    Both are trained from ``seeds`` seeds; returns the median test accuracies.
    """
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = (a.reshape(len(a), -1) if a.ndim > 1 else a for a in data)
    ours, theirs = [], []
    with threadpool_limits(limits=1, user_api="blas"):
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            model = nn.Sequential([nn.Dense(64, 128, rng=rng), nn.ReLU(), nn.Dense(128, 10, rng=rng)])
            model.fit(X_train, y_train, epochs=epochs, batch_size=32, optimizer=nn.optim.Adam(model, lr=1e-3),
                      seed=seed, verbose=False)
            ours.append(model.evaluate(X_test, y_test)["accuracy"])
            sk = MLPClassifier(hidden_layer_sizes=(128,), random_state=seed).fit(X_train, y_train)
            theirs.append(float(sk.score(X_test, y_test)))
    return {"seqdl_mlp_accuracy": statistics.median(ours), "sklearn_mlp_accuracy": statistics.median(theirs),
            "seqdl_mlp_accuracies": ours, "sklearn_mlp_accuracies": theirs, "mlp_epochs": epochs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timed trainings per side")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--mlp-epochs", type=int, default=40)
    parser.add_argument("--mlp-seeds", type=int, default=5)
    parser.add_argument("--torch-threads", default=None,
                        help="comma-separated torch thread counts to run (default: torch's default, and 1)")
    parser.add_argument("--no-mlp", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)

    import torch

    thread_counts = ([int(t) for t in args.torch_threads.split(",")] if args.torch_threads
                     else sorted({torch.get_num_threads(), 1}, reverse=True))
    data = load_split()
    samples = args.epochs * len(data[0])
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))

    started = time.perf_counter()
    SeqdlRun(data, seed=99).epoch()  # compile (or load cached) Numba kernels before timing
    warmup = time.perf_counter() - started
    TorchRun(torch, data, 99, thread_counts[0]).epoch()
    log(f"warm-up epoch incl. Numba compile/cache load: {warmup:.2f}s; seqdl 1 thread (serial Numba, "
        f"BLAS limited to 1); torch threads {thread_counts}")

    ours = []
    theirs = {t: [] for t in thread_counts}
    ratios = {t: [] for t in thread_counts}
    for r in range(args.repeats):
        runs = [SeqdlRun(data, seed=r)] + [TorchRun(torch, data, r, t) for t in thread_counts]
        s_sec, *t_secs = train_side_by_side(runs, args.epochs)
        ours.append((samples / s_sec, runs[0].accuracy()))
        line = f"repeat {r + 1}: seqdl {samples / s_sec:7.0f} samples/s acc {ours[-1][1]:.4f}"
        for threads, t_sec, run in zip(thread_counts, t_secs, runs[1:]):
            theirs[threads].append((samples / t_sec, run.accuracy()))
            ratios[threads].append(t_sec / s_sec)
            line += (f" | torch {threads}t {samples / t_sec:7.0f} samples/s acc {theirs[threads][-1][1]:.4f}"
                     f" ratio {t_sec / s_sec:.2f}")
        log(line)
    per_threads = {t: {"samples_per_s": statistics.median(x[0] for x in theirs[t]),
                       "test_accuracy": statistics.median(x[1] for x in theirs[t]),
                       "median_ratio": statistics.median(ratios[t])} for t in thread_counts}
    fastest = max(thread_counts, key=lambda t: per_threads[t]["samples_per_s"])
    result = {
        "epochs": args.epochs, "train_samples": len(data[0]), "test_samples": len(data[1]), "seqdl_threads": 1,
        "seqdl_samples_per_s": statistics.median(o[0] for o in ours),
        "seqdl_test_accuracy": statistics.median(o[1] for o in ours),
        "torch": {str(t): v for t, v in per_threads.items()},
        "torch_fastest_threads": fastest,
        "median_ratio_vs_fastest_torch": per_threads[fastest]["median_ratio"],
    }
    if not args.no_mlp:
        result.update(run_mlps(data, args.mlp_epochs, args.mlp_seeds))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"digits CNN, {args.epochs} epochs, batch 32, Adam 1e-3, {len(data[0])} train / {len(data[1])} test, "
          f"medians of {args.repeats} interleaved repeats")
    print(f"  {'seqdl, 1 thread':17s} {result['seqdl_samples_per_s']:7.0f} samples/s  "
          f"test acc {result['seqdl_test_accuracy']:.4f}")
    for t, v in per_threads.items():
        print(f"  {f'torch, {t} thread' + ('s' if t > 1 else ''):17s} {v['samples_per_s']:7.0f} samples/s  "
              f"test acc {v['test_accuracy']:.4f}  seqdl/torch speed ratio {v['median_ratio']:.2f}x")
    print(f"  ratio against torch's faster setting ({fastest} thread{'s' if fastest > 1 else ''}): "
          f"{result['median_ratio_vs_fastest_torch']:.2f}x")
    if not args.no_mlp:
        print(f"digits MLP 64-128-10, Adam 1e-3, batch 32, {args.mlp_epochs} epochs, median of {args.mlp_seeds} seeds:"
              f" seqdl test acc {result['seqdl_mlp_accuracy']:.4f} vs scikit-learn MLPClassifier(128) "
              f"{result['sklearn_mlp_accuracy']:.4f}")
        for side in ("seqdl", "sklearn"):
            accs = result[f"{side}_mlp_accuracies"]
            print(f"  {side:8s}{' '.join(f'{a:.4f}' for a in accs)}  mean {statistics.mean(accs):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
