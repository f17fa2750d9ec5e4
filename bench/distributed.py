"""word2vec on a Dask LocalCluster against in-process training, side by side in one run.

    python bench/distributed.py CORPUS [--epochs 5] [--repeats 3] [--max-words N] [--sync-words 200000]

Three settings train the same corpus with the same hyperparameters (skip-
gram, dim 100, window 5, negative 5): in-process ``--workers 2`` (Hogwild
threads), ``--cluster local:1`` and ``--cluster local:2`` (worker processes
with one thread each). The clusters are started once, before timing (their
start-up is printed apart); runs alternate between the settings, so a busy
machine slows them alike. Time runs from the call to ``train`` to its
return: counting, encoding and every round included. words/s is corpus
words x epochs / time; the median ratio over the repeats is printed.

Round overhead: ``local:2`` trains the same corpus for one epoch with
``--sync-words 2000`` (a few milliseconds of training per task), so the time
per round is the cost of a round itself: submitting the tasks, moving the
weights to the workers and the changes back, the tree of additions, and the
client's bookkeeping. It is printed with the bytes a worker receives and
sends per round (2 x V x D x 4 each way).

Quality: every model's vectors are scored by gensim's evaluators, exactly
as in bench/word2vec.py (questions-words analogies over the 300k most
frequent words, wordsim353 Spearman); repeat r uses seed r everywhere, and
quality is the mean over the repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# This file's folder is first on sys.path when run as a script, and its name would shadow Dask's
# ``distributed`` package: read the shared evaluation from bench/word2vec.py by path instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


def _bench_word2vec():
    import importlib.util

    spec = importlib.util.spec_from_file_location("seqdl_bench_word2vec", _HERE / "word2vec.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def truncated_copy(corpus: Path, max_words: int | None) -> Path:
    """``corpus`` itself, or a copy of its first ``max_words`` words (whole lines) in /tmp."""
    if max_words is None:
        return corpus
    target = Path(f"/tmp/seqdl-bench-distributed-{max_words}.txt")
    words = 0
    with open(corpus, encoding="utf-8") as source, open(target, "w", encoding="utf-8") as out:
        for line in source:
            if words >= max_words:
                break
            out.write(line)
            words += len(line.split())
    return target


def blas_kernels() -> str:
    """The BLAS libraries and kernels numpy uses here (threadpoolctl)."""
    from threadpoolctl import threadpool_info

    return ", ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')}" for i in threadpool_info()
                     if i["user_api"] == "blas") or "none found"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-words", type=int, default=None, help="use only the first N words")
    parser.add_argument("--sync-words", type=int, default=200_000, help="words per worker per round")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--no-quality", action="store_true", help="skip the gensim evaluation")
    args = parser.parse_args(argv)

    evaluate = _bench_word2vec().evaluate  # the same gensim evaluation as bench/word2vec.py

    import seqdl
    from seqdl.distributed import connect, train_word2vec

    corpus = truncated_copy(args.corpus, args.max_words)
    words = sum(len(line.split()) for line in open(corpus, encoding="utf-8"))
    print(f"corpus {corpus}: {words:,} words; skip-gram dim {args.dim}, {args.epochs} epochs, sync-words "
          f"{args.sync_words:,}, {args.repeats} repeats; cores {len(os.sched_getaffinity(0))}; BLAS: "
          f"{blas_kernels()}", flush=True)
    settings = dict(dim=args.dim, epochs=args.epochs, workers=1)
    seqdl.Word2Vec(**{**settings, "epochs": 1, "min_count": 1}).train([["warm", "up", "numba"]] * 10)

    with connect("local:1") as one, connect("local:2") as two:
        started = time.perf_counter()
        one.wait_for_workers(1)
        two.wait_for_workers(2)
        print(f"clusters up in {time.perf_counter() - started:.1f} s (not timed below)", flush=True)
        runs = {
            "in-process --workers 2": lambda seed: seqdl.Word2Vec(**{**settings, "workers": 2, "seed": seed}
                                                                  ).train(corpus),
            "--cluster local:1": lambda seed: train_word2vec(seqdl.Word2Vec(**settings, seed=seed), corpus, one,
                                                             sync_words=args.sync_words),
            "--cluster local:2": lambda seed: train_word2vec(seqdl.Word2Vec(**settings, seed=seed), corpus, two,
                                                             sync_words=args.sync_words),
        }
        # Warm the workers (numba cache load), untimed.
        train_word2vec(seqdl.Word2Vec(dim=8, epochs=1, min_count=1), corpus, one, sync_words=args.sync_words)
        train_word2vec(seqdl.Word2Vec(dim=8, epochs=1, min_count=1), corpus, two, sync_words=args.sync_words)
        speeds: dict[str, list[float]] = {name: [] for name in runs}
        quality: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        names = list(runs)
        for repeat in range(args.repeats):
            order = names[repeat % len(names):] + names[:repeat % len(names)]
            for name in order:
                started = time.perf_counter()
                model = runs[name](repeat + 1)
                seconds = time.perf_counter() - started
                speeds[name].append(words * args.epochs / seconds)
                if not args.no_quality:
                    quality[name].append(evaluate(list(model.wv.index_to_key), np.asarray(model.wv.vectors)))
                print(f"  repeat {repeat + 1} {name}: {seconds:.1f} s, {speeds[name][-1]:,.0f} words/s", flush=True)

        overhead = round_overhead(two, corpus, args.dim)

    print(f"{'setting':<24} {'words/s':>10} {'analogy':>8} {'ws353':>7}")
    for name in names:
        acc, ws = np.mean(quality[name], axis=0) if quality[name] else (float("nan"),) * 2
        print(f"{name:<24} {statistics.median(speeds[name]):>10,.0f} {acc:>8.1%} {ws:>7.3f}")
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(speeds[a], speeds[b]))  # noqa: E731
    print(f"local:2 / local:1: {ratio('--cluster local:2', '--cluster local:1'):.2f}x (target >= 1.7x); "
          f"local:2 / in-process --workers 2: {ratio('--cluster local:2', 'in-process --workers 2'):.2f}x "
          "(target >= 0.85x); medians of per-repeat ratios, on a shared machine")
    print(overhead)


def round_overhead(client, corpus: Path, dim: int) -> str:
    """Seconds per round when the rounds hold almost no training (--sync-words 2000, one epoch)."""
    import seqdl
    from seqdl.distributed import train_word2vec

    class Rounds:
        count = 0

        def update(self, done, total=None, **fields):
            if "round" in fields:
                self.count = int(fields["round"].split("/")[0])

        def write(self, line):
            pass

        def close(self):
            pass

    rounds = Rounds()
    started = time.perf_counter()
    model = train_word2vec(seqdl.Word2Vec(dim=dim, epochs=1, seed=1), corpus, client, sync_words=2_000,
                           progress=rounds)
    seconds = time.perf_counter() - started
    nbytes = 2 * len(model.wv) * dim * 4
    return (f"round overhead (local:2, V={len(model.wv):,}, D={dim}, {nbytes / 1e6:.1f} MB each way per worker "
            f"per round): {seconds / max(rounds.count, 1) * 1000:.0f} ms per round over {rounds.count} rounds "
            "(counting and encoding included, so an upper bound)")


if __name__ == "__main__":
    main()
