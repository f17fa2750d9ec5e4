"""How long one cache line takes to travel between two cores and back, measured now.

    python bench/core_latency.py [--rounds 100000] [--repeat 3]

Two threads, pinned to the first two CPUs this process may use, pass a
counter back and forth through one shared 64-bit word (a release store,
then an acquire load spinning until the other thread's answer arrives). The
median time per round trip is printed in nanoseconds.

Why the benchmarks print it: on a virtual machine the host may place the two
virtual CPUs on cores that share a cache (here ~70 ns a round trip) or on
cores that do not (~370 ns), and move them between the two while it runs.
Whatever shares written memory between threads (Hogwild word2vec threads,
the LSTM's unit threads meeting every time step, torch's own threads) slows
down when they are far apart; independent processes do not. The number says
which placement a benchmark run had.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _load_acquire(typingctx, array, index):
    """``array[index]`` read with acquire ordering (not hoisted out of a loop, not reordered before later loads)."""
    sig = types.int64(array, index)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.load_atomic(builder.gep(data, [args[1]]), "acquire", 8)

    return sig, codegen


@intrinsic
def _store_release(typingctx, array, index, value):
    """``array[index] = value`` with release ordering."""
    sig = types.void(array, index, value)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        builder.store_atomic(args[2], builder.gep(data, [args[1]]), "release", 8)
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True)
def _serve(flag, rounds):
    """Answer each odd value ``2i + 1`` with ``2i + 2``."""
    for i in range(rounds):
        while _load_acquire(flag, 0) != 2 * i + 1:
            pass
        _store_release(flag, 0, 2 * i + 2)


@njit(nogil=True)
def _ask(flag, rounds):
    """Write ``2i + 1`` and wait for the answer, ``rounds`` times."""
    for i in range(rounds):
        _store_release(flag, 0, 2 * i + 1)
        while _load_acquire(flag, 0) != 2 * i + 2:
            pass


def round_trip_ns(rounds: int = 100_000, repeat: int = 3) -> float | None:
    """Median nanoseconds per round trip between the first two usable CPUs; None with fewer than two."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    flag = np.zeros(8, dtype=np.int64)
    _serve(flag, 0), _ask(flag, 0)  # compile before timing
    saved = os.sched_getaffinity(0)
    times = []
    try:
        os.sched_setaffinity(0, {cpus[0]})  # on Linux, pid 0 pins the calling thread only
        for _ in range(repeat):
            flag[0] = 0

            def serve():
                try:
                    os.sched_setaffinity(0, {cpus[1]})
                except OSError:  # not allowed here: measured unpinned rather than never answered
                    pass
                _serve(flag, rounds)

            server = threading.Thread(target=serve, daemon=True)
            server.start()
            started = time.perf_counter()
            _ask(flag, rounds)
            times.append((time.perf_counter() - started) / rounds * 1e9)
            server.join()
    finally:
        os.sched_setaffinity(0, saved)
    return statistics.median(times)


def describe() -> str:
    """``core-to-core round trip N ns`` (or why it was not measured), for a benchmark's header."""
    ns = round_trip_ns()
    return "core-to-core round trip: not measured (one CPU)" if ns is None else f"core-to-core round trip {ns:.0f} ns"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ns = round_trip_ns(args.rounds, args.repeat)
    print("fewer than two CPUs: nothing to measure" if ns is None else f"core-to-core round trip {ns:.0f} ns")


if __name__ == "__main__":
    main()
