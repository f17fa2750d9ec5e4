"""Word-level LM with a large vocabulary: full softmax against sampled softmax for the same wall-clock time.

The same model (same seed, so the same initial weights) is trained twice on
the same batches, once with the exact softmax over the whole vocabulary and
once with the sampled softmax (``--negative`` noise words shared by the batch,
logQ correction, accidental hits removed; :mod:`seqdl.lm.sampled`). Both go
through :meth:`seqdl.lm.Trainer.run`, the code path ``seqdl train`` uses.
Training time is cut into slices of about ``--slice`` seconds that alternate
between the two, so a busy machine slows both alike, until each has trained
for ``--budget`` seconds. At each quarter of the budget both are scored on the
held-out tail with the **exact** full softmax (evaluation time is not counted
in the budget) and the validation perplexities are printed side by side,
with the updates/s of each.

    python bench/sampled_lm.py /work/shared/corpora/speeches-news.txt --max-words 30000 --negative 512
    python bench/sampled_lm.py CORPUS --budget 120 --tokens 300000       # reduced scale
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import platform
import time

import threadpoolctl

from seqdl.lm import LanguageModel, TokenVocabulary, TrainConfig, Trainer, evaluate, read_text, split_tokens
from seqdl.lm.pipeline import split_ids
from seqdl.lm.training import plan, single_threaded_blas


class Arm:
    """One side of the comparison: a model, its trainer and the training seconds it has had."""

    def __init__(self, name: str, model: LanguageModel, config: TrainConfig, train_ids):
        self.name, self.model = name, model
        self.streams, self.epochs, total = plan(train_ids, config)
        self.epochs = 10**6  # train until the time budget runs out, over as many epochs as that takes
        self.trainer = Trainer(model, config, total)
        self.seconds = 0.0

    @property
    def rate(self) -> float:
        """Updates per second so far (a first guess of 1 before any)."""
        return self.trainer.steps / self.seconds if self.seconds else 1.0

    def train_for(self, seconds: float) -> None:
        """Run about ``seconds`` of updates (a whole number of them, at least one)."""
        steps = self.trainer.steps + max(1, round(seconds * self.rate)) if seconds else self.trainer.config.steps
        self.trainer.config = dataclasses.replace(self.trainer.config, steps=steps)
        started = time.perf_counter()
        self.trainer.run(self.streams, None, self.epochs)
        self.seconds += time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--tokens", type=int, default=None, help="use only the first N word tokens of the corpus")
    parser.add_argument("--max-words", type=int, default=30000, help="vocabulary: the N most frequent words + <unk>")
    parser.add_argument("--negative", type=int, default=512)
    parser.add_argument("--size", type=int, default=200, help="embedding = hidden size")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--seq-len", type=int, default=35)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds each")
    parser.add_argument("--slice", type=float, default=30.0, help="seconds per alternating slice")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tokens = split_tokens(read_text(args.corpus), "word")
    if args.tokens:
        tokens = tokens[:args.tokens]
    vocab = TokenVocabulary.from_tokens(tokens, "word", max_words=args.max_words)
    train_ids, val_ids = split_ids(vocab.ids(tokens), 0.1)
    blas = ", ".join(f"{i['internal_api']} {i.get('architecture', '?')}"
                     for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    print(f"corpus {args.corpus}: {len(tokens):,} word tokens ({len(train_ids):,} train, {len(val_ids):,} "
          f"validation), vocabulary {len(vocab):,}")
    print(f"model: LSTM, {args.layers} layer(s), embedding = hidden = {args.size}, dropout {args.dropout}; "
          f"{args.batch_size}x{args.seq_len} windows, Adam lr {args.lr}, clip 5; {args.budget:.0f} s of training "
          f"each in alternating slices of ~{args.slice:.0f} s")
    print(f"CPU: {platform.machine()}; BLAS: {blas}; {args.threads} training thread(s)", flush=True)

    arms = []
    for name, loss in (("full softmax", "full"), (f"sampled softmax K={args.negative}", "sampled-softmax")):
        config = TrainConfig(seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr, clip=5.0,
                             workers=args.threads, loss=loss,
                             negative=args.negative if loss == "sampled-softmax" else None)
        model = LanguageModel(vocab, args.size, args.size, args.layers, cell="lstm", dropout=args.dropout,
                              seed=args.seed, workers=args.threads)
        arms.append(Arm(name, model, config, train_ids))

    for arm in arms:  # compile the numba kernels (or load them from the cache) outside the timed budget
        scratch = LanguageModel(vocab, args.size, args.size, args.layers, cell="lstm", dropout=args.dropout,
                                seed=args.seed, workers=args.threads)
        Arm(arm.name, scratch, dataclasses.replace(arm.trainer.config, steps=2), train_ids).train_for(0)

    marks = [args.budget * q / 4 for q in (1, 2, 3, 4)]
    print(f"{'train s':>8}  " + "  ".join(f"{a.name + ' ppl':>26}  {'updates':>8}  {'upd/s':>6}" for a in arms))
    final = {}
    with single_threaded_blas(args.threads > 1):
        for mark in marks:
            while any(a.seconds < mark for a in arms):
                for arm in arms:
                    if arm.seconds < mark:
                        arm.train_for(min(args.slice, mark - arm.seconds))
            row = []
            for arm in arms:
                perplexity = math.exp(evaluate(arm.model, val_ids, args.seq_len, args.batch_size))
                final[arm.name] = perplexity
                row.append(f"{perplexity:26.2f}  {arm.trainer.steps:8,}  {arm.rate:6.2f}")
            print(f"{mark:8.0f}  " + "  ".join(row), flush=True)
    (full_name, full), (sampled_name, sampled) = final.items()
    speed = arms[1].rate / arms[0].rate
    print(f"after {args.budget:.0f} s each: exact validation perplexity {full_name} {full:.2f}, {sampled_name} "
          f"{sampled:.2f} ({'sampled no worse' if sampled <= full else 'sampled worse'}); "
          f"sampled softmax runs {speed:.1f}x the updates/s")


if __name__ == "__main__":
    main()
