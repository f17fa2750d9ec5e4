"""Char LSTM language model: seqdl against PyTorch, side by side in one run.

The same setting on both sides (1 layer, H=256, embedding 64, T=64, B=32,
Adam 2e-3, clip 5, carried state), trained alternately in rounds of
``--round`` steps so both see the same machine load; prints tokens/s of each,
the median per-round ratio, and the validation loss after ``--steps`` steps.

    python bench/char_lstm.py /work/shared/corpora/tinyshakespeare.txt
    python bench/char_lstm.py CORPUS --quick        # 200 steps
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import threadpoolctl
import torch

from seqdl.lm import LanguageModel, TokenVocabulary, TrainConfig, Trainer, evaluate, read_text, split_tokens
from seqdl.lm.pipeline import split_ids
from seqdl.lm.training import split_streams, stream_batches


class TorchCharLSTM(torch.nn.Module):
    """The anchor: nn.Embedding -> nn.LSTM(batch_first) -> nn.Linear."""

    def __init__(self, vocab: int, embedding: int, hidden: int):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab, embedding)
        self.lstm = torch.nn.LSTM(embedding, hidden, batch_first=True)
        self.output = torch.nn.Linear(hidden, vocab)

    def forward(self, x, state):
        y, state = self.lstm(self.embedding(x), state)
        return self.output(y), state


class TorchTrainer:
    """Same update as seqdl's Trainer: TBPTT with detached state, clip by global norm, Adam."""

    def __init__(self, model: TorchCharLSTM, config: TrainConfig):
        self.model, self.config = model, config
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        self.state = None

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        logits, state = self.model(torch.from_numpy(x), self.state)
        self.state = tuple(s.detach() for s in state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1))
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
        self.optimizer.step()
        return loss.item()


@torch.no_grad()
def torch_evaluate(model: TorchCharLSTM, ids: np.ndarray, seq_len: int, batch_size: int) -> float:
    """Mean cross-entropy on ``ids`` read as carried-state streams, as seqdl.lm.evaluate."""
    total, count, state = 0.0, 0, None
    for x, y in stream_batches(split_streams(ids, batch_size), seq_len):
        logits, state = model(torch.from_numpy(x), state)
        total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                         torch.from_numpy(y).reshape(-1), reduction="sum"))
        count += y.size
    return total / count


def batches_forever(streams: np.ndarray, seq_len: int):
    """Full-length training windows, epoch after epoch."""
    while True:
        for x, y in stream_batches(streams, seq_len):
            if x.shape[1] == seq_len:
                yield np.ascontiguousarray(x), np.ascontiguousarray(y)


def timed_round(trainer, batches, steps: int) -> tuple[float, float]:
    """Run ``steps`` updates; (seconds, last loss)."""
    started = time.perf_counter()
    loss = float("nan")
    for _ in range(steps):
        x, y = next(batches)
        loss = trainer.step(x, y)
    return time.perf_counter() - started, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="200 steps")
    parser.add_argument("--round", type=int, default=50, help="steps per alternating round")
    parser.add_argument("--threads", type=int, default=2,
                        help="seqdl LSTM worker threads (BLAS then single-threaded) and torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    steps = 200 if args.quick else args.steps
    config = TrainConfig(seq_len=64, batch_size=32, lr=2e-3, clip=5.0, workers=args.threads)

    tokens = split_tokens(read_text(args.corpus), "char")
    vocab = TokenVocabulary.from_tokens(tokens, "char")
    train_ids, val_ids = split_ids(vocab.ids(tokens), 0.1)
    streams = split_streams(train_ids, config.batch_size)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    blas = threadpoolctl.threadpool_limits(1, user_api="blas")
    ours = Trainer(LanguageModel(vocab, 64, 256, 1, seed=args.seed), config)
    theirs = TorchTrainer(TorchCharLSTM(len(vocab), 64, 256), config)
    print(f"corpus {args.corpus}: {len(tokens):,} chars, vocab {len(vocab)}; {steps} steps of "
          f"{config.batch_size}x{config.seq_len} tokens, rounds of {args.round} steps, alternating")
    blas_info = next(info for info in threadpoolctl.threadpool_info() if info["internal_api"] == "openblas")
    print(f"threads: seqdl {ours.model.workers} LSTM worker thread(s) with numpy's {blas_info['internal_api']} "
          f"({blas_info['architecture']} kernels) on {blas_info['num_threads']} thread; "
          f"torch intra-op {torch.get_num_threads()} (oneDNN LSTM, MKL)")

    # Compile or load the numba kernels on a throwaway copy, so both sides then take exactly `steps` updates.
    started = time.perf_counter()
    timed_round(Trainer(LanguageModel(vocab, 64, 256, 1, seed=args.seed), config),
                batches_forever(streams, config.seq_len), 1)
    print(f"seqdl first step (kernel compile/cache load): {time.perf_counter() - started:.2f} s")

    sides = {"seqdl": (ours, batches_forever(streams, config.seq_len)),
             "torch": (theirs, batches_forever(streams, config.seq_len))}
    seconds = {"seqdl": [], "torch": []}
    done = 0
    while done < steps:
        n = min(args.round, steps - done)
        order = ("seqdl", "torch") if (done // args.round) % 2 == 0 else ("torch", "seqdl")
        losses = {}
        for name in order:
            trainer, batches = sides[name]
            elapsed, losses[name] = timed_round(trainer, batches, n)
            seconds[name].append(elapsed / n)
        done += n
        print(f"step {done:5d}: seqdl {config.batch_size * config.seq_len / seconds['seqdl'][-1]:8,.0f} tok/s "
              f"loss {losses['seqdl']:.3f} | torch {config.batch_size * config.seq_len / seconds['torch'][-1]:8,.0f} "
              f"tok/s loss {losses['torch']:.3f}", flush=True)

    tokens_per_step = config.batch_size * config.seq_len
    ours_rate = tokens_per_step / statistics.median(seconds["seqdl"])
    torch_rate = tokens_per_step / statistics.median(seconds["torch"])
    ratio = statistics.median(t / s for s, t in zip(seconds["seqdl"], seconds["torch"]))
    val_ours = evaluate(ours.model, val_ids, config.seq_len, config.batch_size)
    val_torch = torch_evaluate(theirs.model, val_ids, config.seq_len, config.batch_size)
    blas.restore_original_limits()
    print(f"tokens/s (median round): seqdl {ours_rate:,.0f}  torch {torch_rate:,.0f}  "
          f"ratio seqdl/torch {ratio:.2f}x (median of per-round ratios)")
    print(f"val loss after {steps} steps: seqdl {val_ours:.4f}  torch {val_torch:.4f}  "
          f"difference {val_ours - val_torch:+.4f}")


if __name__ == "__main__":
    main()
