"""word2vec on a Dask LocalCluster against in-process training, side by side in one run.

    python bench/distributed.py CORPUS [--epochs 5] [--repeats 3] [--max-words N] [--sync-words 200000]
                                       [--no-quality] [--no-ceiling]

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

The machine's own scaling (two more settings in the same rotation, unless
``--no-ceiling``): one plain process training the corpus in-process on one
thread, and two such processes at once that never talk (words/s counts both
copies). Their ratio is what two independent workers get from this
machine's cores, caches and memory; ``local:2`` / ``local:1`` can exceed it
only by as much as ``local:1`` trails one plain process. Each run's line
also gives a cache line's round trip between the two cores just before it
(``bench/core_latency.py``): a virtual machine's host may move its CPUs
between cores that share a cache and cores that do not, which Hogwild
threads (in-process ``--workers 2``) feel and separate processes barely do.

Quality: every model's vectors are scored by gensim's evaluators, exactly
as in bench/word2vec.py (questions-words analogies over the 300k most
frequent words, wordsim353 Spearman); repeat r uses seed r everywhere, and
quality is the mean over the repeats.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# This file's folder is first on sys.path when run as a script, and its name would shadow Dask's
# ``distributed`` package: read the shared evaluation from bench/word2vec.py by path instead.
_HERE = Path(__file__).resolve().parent
#: Seconds a process training alone may take before the bench gives up on it.
TIMEOUT = 3600
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]


#: The two settings that measure the machine itself: plain processes training in-process, never talking.
ALONE, PAIRED = "1 process alone", "2 processes at once"


def _bench_module(name: str):
    """bench/``name``.py, loaded by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"seqdl_bench_{name}", _HERE / f"{name}.py")
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
    parser.add_argument("--no-ceiling", action="store_true",
                        help="skip timing two independent processes against one (the machine's own scaling)")
    args = parser.parse_args(argv)

    evaluate = _bench_module("word2vec").evaluate  # the same gensim evaluation as bench/word2vec.py
    round_trip_ns = _bench_module("core_latency").round_trip_ns

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
        if not args.no_ceiling:
            runs[ALONE] = lambda seed: independent(corpus, {**settings, "seed": seed}, 1)
            runs[PAIRED] = lambda seed: independent(corpus, {**settings, "seed": seed}, 2)
        # Warm the workers (numba cache load), untimed.
        train_word2vec(seqdl.Word2Vec(dim=8, epochs=1, min_count=1), corpus, one, sync_words=args.sync_words)
        train_word2vec(seqdl.Word2Vec(dim=8, epochs=1, min_count=1), corpus, two, sync_words=args.sync_words)
        speeds: dict[str, list[float]] = {name: [] for name in runs}
        quality: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        names = list(runs)
        for repeat in range(args.repeats):
            order = names[repeat % len(names):] + names[:repeat % len(names)]
            for name in order:
                cores = round_trip_ns()
                started = time.perf_counter()
                model = runs[name](repeat + 1)
                seconds = time.perf_counter() - started
                copies = 1
                if name in (ALONE, PAIRED):  # timed inside the processes, once they are up
                    seconds, copies, model = model, 1 + (name == PAIRED), None
                speeds[name].append(copies * words * args.epochs / seconds)
                if model is not None and not args.no_quality:
                    quality[name].append(evaluate(list(model.wv.index_to_key), np.asarray(model.wv.vectors)))
                print(f"  repeat {repeat + 1} {name}: {seconds:.1f} s, {speeds[name][-1]:,.0f} words/s (cores: "
                      f"{cores or 0:.0f} ns a round trip)", flush=True)

        overhead = round_overhead(two, corpus, args.dim)

    print(f"{'setting':<24} {'words/s':>10} {'analogy':>8} {'ws353':>7}")
    ratio = lambda a, b: statistics.median(x / y for x, y in zip(speeds[a], speeds[b]))  # noqa: E731
    for name in names:
        acc, ws = np.mean(quality[name], axis=0) if quality[name] else (float("nan"),) * 2
        print(f"{name:<24} {statistics.median(speeds[name]):>10,.0f} {acc:>8.1%} {ws:>7.3f}")
    print(f"local:2 / local:1: {ratio('--cluster local:2', '--cluster local:1'):.2f}x (target >= 1.7x); "
          f"local:2 / in-process --workers 2: {ratio('--cluster local:2', 'in-process --workers 2'):.2f}x "
          "(target >= 0.85x); medians of per-repeat ratios, on a shared machine")
    print(overhead)
    if not args.no_ceiling:
        print(f"the machine's own scaling: {PAIRED} / {ALONE} (each training the corpus in-process on one thread, "
              f"never talking): {ratio(PAIRED, ALONE):.2f}x; local:1 / {ALONE}: "
              f"{ratio('--cluster local:1', ALONE):.2f}x; local:2 / {PAIRED}: "
              f"{ratio('--cluster local:2', PAIRED):.2f}x")


def _train_alone(corpus: Path, settings: dict, start, times) -> None:
    """A child process: wait at ``start``, train ``corpus`` in-process, put the seconds into ``times``."""
    import seqdl

    seqdl.Word2Vec(**{**settings, "epochs": 1, "min_count": 1}).train([["warm", "up", "numba"]] * 10)
    start.wait()
    started = time.perf_counter()
    seqdl.Word2Vec(**settings).train(corpus)
    times.put(time.perf_counter() - started)


def independent(corpus: Path, settings: dict, count: int) -> float:
    """Seconds until ``count`` plain processes, started together, have each trained ``corpus`` in-process.

    Two processes that never talk are the most a two-worker cluster can get
    from this machine: its workers train the same kernel on their own
    copies of the weights, sharing the cores' caches and memory. Start-up
    (imports, numba's cache) is not timed: the processes wait at a barrier.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    start, times = context.Barrier(count), context.Queue()
    workers = [context.Process(target=_train_alone, args=(corpus, settings, start, times)) for _ in range(count)]
    for worker in workers:
        worker.start()
    try:
        reported, waited = [], 0.0
        while len(reported) < count:
            try:
                reported.append(times.get(timeout=1.0))
            except queue.Empty:
                waited += 1.0
                codes = [worker.exitcode for worker in workers]
                if any(code not in (None, 0) for code in codes) or waited > TIMEOUT:
                    raise SystemExit(f"a process training alone failed or hung (exit codes {codes})") from None
        seconds = max(reported)
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
    return seconds


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
