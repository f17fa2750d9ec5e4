"""Peak memory of vocabulary counting with and without a cap (``--max-vocab-memory``).

    python bench/vocab_memory.py [--tokens 25000000] [--cap 1000000] [--corpus /tmp/zipf.txt.gz]

Generates (once, into /tmp unless told otherwise) a gzip corpus of Zipf-
distributed tokens with millions of distinct words, then counts it in two
fresh processes: without a cap and with ``WordCounter(max_entries=cap)``.
Each child reports its peak resident memory (``VmHWM``, Linux), its time, how
many distinct words it held at the end, and for the capped count how close
the 10,000 most frequent words' counts come to the exact ones.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
from seqdl.text.corpus import Corpus
from seqdl.text.vocab import WordCounter, count_pieces

def peak_kb():  # VmHWM starts afresh at exec, unlike ru_maxrss, which keeps the forking parent's peak
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

path, cap, reference = sys.argv[1], (int(sys.argv[2]) or None), sys.argv[3]
base = peak_kb()
started = time.perf_counter()
with Corpus.open(path) as corpus:
    counter = count_pieces(corpus.pieces(), counter=WordCounter(cap))
seconds = time.perf_counter() - started
peak = peak_kb()
top = counter.counts.most_common(10_000)
result = {"cap": cap, "seconds": seconds, "peak_mb": peak / 1024, "base_mb": base / 1024,
          "distinct_held": len(counter), "total": counter.total, "floor": counter.floor}
if reference:
    exact = dict(json.load(open(reference)))
    ranks = [w for w, _ in sorted(exact.items(), key=lambda kv: -kv[1])]
    held = counter.counts
    result["top10k_present"] = sum(w in held for w in ranks) / len(ranks)
    result["top10k_max_rel_error"] = max((exact[w] - held.get(w, 0)) / exact[w] for w in ranks)
else:
    json.dump(top, open(sys.argv[4], "w"))
print(json.dumps(result))
"""


def generate(path: Path, tokens: int, exponent: float, seed: int) -> int:
    """Write ``tokens`` Zipf(exponent) tokens, 20 per line, gzip-compressed; return the distinct count."""
    import numpy as np

    rng = np.random.default_rng(seed)
    distinct: set[int] = set()
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        for start in range(0, tokens, 1_000_000):
            ranks = rng.zipf(exponent, size=min(1_000_000, tokens - start))
            distinct.update(np.unique(ranks).tolist())
            words = [f"w{r}" for r in ranks.tolist()]
            out.write("\n".join(" ".join(words[i:i + 20]) for i in range(0, len(words), 20)) + "\n")
    return len(distinct)


def run_child(path: Path, cap: int, reference: Path, write_reference: bool) -> dict:
    argv = [sys.executable, "-c", CHILD, str(path), str(cap), "" if write_reference else str(reference),
            str(reference)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=25_000_000)
    parser.add_argument("--exponent", type=float, default=1.1)
    parser.add_argument("--cap", type=int, default=1_000_000)
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/seqdl-zipf.txt.gz"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not args.corpus.exists():
        started = time.perf_counter()
        distinct = generate(args.corpus, args.tokens, args.exponent, args.seed)
        print(f"generated {args.corpus}: {args.tokens:,} tokens, {distinct:,} distinct "
              f"({time.perf_counter() - started:.0f}s)", flush=True)
    reference = args.corpus.with_suffix(".top10k.json")
    exact = run_child(args.corpus, 0, reference, write_reference=True)
    capped = run_child(args.corpus, args.cap, reference, write_reference=False)
    for label, r in (("no cap", exact), (f"cap {args.cap:,}", capped)):
        print(f"{label:>14}: peak RSS {r['peak_mb']:,.0f} MB (interpreter + seqdl {r['base_mb']:,.0f} MB), "
              f"{r['seconds']:.0f}s, {r['distinct_held']:,} distinct words held"
              + (f", floor {r['floor']}" if r["cap"] else ""))
    print(f"capped count: {capped['top10k_present']:.2%} of the exact top 10,000 words kept, largest relative "
          f"undercount among them {capped['top10k_max_rel_error']:.2%}")


if __name__ == "__main__":
    main()
