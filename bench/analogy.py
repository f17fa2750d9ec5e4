"""seqdl's analogy evaluation against gensim's evaluate_word_analogies, side by side in one run.

    python bench/analogy.py [QUESTIONS] [--words 30000] [--dim 100] [--questions N] [--repeats 3]

QUESTIONS defaults to gensim's questions-words.txt. The vectors are random
(seeded) over a vocabulary holding every question word plus filler words, so
every question is answered; both libraries read the same word2vec file. Runs
alternate between the two; each is timed from loaded vectors to the score
(seqdl's includes normalising). Prints each round and the median ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from gensim.test.utils import datapath

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions_file", nargs="?", default=datapath("questions-words.txt"))
    parser.add_argument("--words", type=int, default=30_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--questions", type=int, default=None, help="only the first N questions")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from gensim.models import KeyedVectors as GensimKV
    from seqdl import KeyedVectors
    from seqdl_analogy.evaluate import evaluate_analogies, read_questions
    from seqdl_analogy.methods import cos_add

    lines = Path(args.questions_file).read_text(encoding="utf-8").splitlines()
    kept, count = [], 0
    for line in lines:
        if not line.startswith(":"):
            if args.questions is not None and count >= args.questions:
                break
            count += 1
        kept.append(line)
    scratch = tempfile.TemporaryDirectory()
    work = Path(scratch.name)
    questions = work / "questions.txt"
    questions.write_text("\n".join(kept) + "\n", encoding="utf-8")
    words = list(dict.fromkeys(w.lower() for line in kept if not line.startswith(":") for w in line.split()))
    rng = np.random.default_rng(0)
    keys = words + [f"filler{i}" for i in range(args.words - len(words))]
    keys = [keys[i] for i in rng.permutation(len(keys))]
    vectors_file = work / "vectors.vec"
    KeyedVectors(keys, rng.standard_normal((len(keys), args.dim)).astype(np.float32)).save_word2vec_format(vectors_file)
    sections = read_questions(questions)
    print(f"{count} questions, {len(keys)} x {args.dim} vectors", flush=True)

    def run_seqdl():
        kv = KeyedVectors.load_word2vec_format(vectors_file)
        start = time.perf_counter()
        score = evaluate_analogies(kv, sections, cos_add)
        return time.perf_counter() - start, score.total.correct

    def run_gensim():
        kv = GensimKV.load_word2vec_format(str(vectors_file))
        start = time.perf_counter()
        _, result = kv.evaluate_word_analogies(str(questions))
        return time.perf_counter() - start, len(result[-1]["correct"])

    run_seqdl()  # compiles (or loads) the numba top-k kernel
    ratios = []
    for repeat in range(args.repeats):
        order = [("seqdl", run_seqdl), ("gensim", run_gensim)]
        if repeat % 2:
            order.reverse()
        times = {}
        for name, run in order:
            times[name], correct = run()
            times[name + " correct"] = correct
        ratios.append(times["gensim"] / times["seqdl"])
        print(f"round {repeat + 1}: seqdl {times['seqdl']:.2f}s  gensim {times['gensim']:.2f}s  "
              f"correct {times['seqdl correct']}/{times['gensim correct']}  gensim/seqdl {ratios[-1]:.1f}x",
              flush=True)
    print(f"median gensim/seqdl time ratio: {statistics.median(ratios):.1f}x")


if __name__ == "__main__":
    main()
