"""seqdl's FastText (subword embeddings) against gensim's, side by side in one run.

    python bench/fasttext.py CORPUS [--epochs 5] [--repeats 3] [--max-words N] [--bucket 2000000]

Both train on the same token lists (as bench/word2vec.py prepares them) with
the same settings (skip-gram by default, negative sampling, n-grams of
``--minn`` to ``--maxn`` characters hashed into ``--bucket`` rows), at 1 and
2 workers, alternating between the libraries so a busy machine slows both
alike. Time runs from vocabulary building to the end of training; words/s
is corpus words x epochs / time; the ratio is the median of the per-repeat
seqdl/gensim ratios.

Quality:

- analogy accuracy by gensim's evaluate_word_analogies (questions-words.txt,
  300k most frequent words, 3CosAdd), overall and on the syntactic sections
  (gram1-gram9), the ones subwords help: the mean over the repeats (seeds) of
  the first workers setting, since one seed's score varies by a point or two;
- OOV neighbours: words absent from the corpus made from frequent ones
  (a dropped or swapped letter, an added suffix); for each, the top-10
  (repeat 1 of each library)
  neighbours of its vector in seqdl's model and in gensim's, and their mean
  overlap. Two gensim runs with different seeds give the reference overlap
  that two correct implementations can reach.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from word2vec import common_parser, prepare  # noqa: E402  (shared with the word2vec bench)


def train_gensim(sentences, workers: int, seed: int, args):
    from gensim.models import FastText

    model = FastText(vector_size=args.dim, window=args.window, negative=args.negative, min_count=args.min_count,
                     sample=args.sample, alpha=args.alpha, min_alpha=1e-4, sg=int(args.arch == "skipgram"), hs=0,
                     cbow_mean=1, min_n=args.minn, max_n=args.maxn, bucket=args.bucket, workers=workers,
                     epochs=args.epochs, seed=seed)
    model.build_vocab(sentences)
    model.train(sentences, total_examples=model.corpus_count, epochs=args.epochs)
    return model.wv


def train_seqdl(sentences, workers: int, seed: int, args):
    import seqdl

    model = seqdl.FastText(model=args.arch, dim=args.dim, window=args.window, negative=args.negative,
                           min_count=args.min_count, sample=args.sample, alpha=args.alpha, min_alpha=1e-4,
                           minn=args.minn, maxn=args.maxn, bucket=args.bucket, workers=workers, epochs=args.epochs,
                           seed=seed)
    return model.train(sentences).wv


def analogy_scores(wv) -> tuple[float, float]:
    """(overall, syntactic) accuracy by gensim's evaluation of ``wv``'s vocabulary vectors."""
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    kv = KeyedVectors(wv.vectors.shape[1])
    kv.add_vectors(list(wv.index_to_key), np.asarray(wv.vectors))
    overall, sections = kv.evaluate_word_analogies(datapath("questions-words.txt"))
    correct = sum(len(s["correct"]) for s in sections if s["section"].startswith("gram"))
    total = sum(len(s["correct"]) + len(s["incorrect"]) for s in sections if s["section"].startswith("gram"))
    return overall, correct / max(total, 1)


def oov_words(vocab: set[str], frequent: list[str], count: int, seed: int = 0) -> list[str]:
    """Misspellings and inflections of ``frequent`` words that are not in ``vocab``."""
    rng = np.random.default_rng(seed)
    out: list[str] = []
    for word in frequent:
        if len(word) < 5 or not word.isalpha():
            continue
        i = int(rng.integers(1, len(word) - 2))
        for candidate in (word[:i] + word[i + 1:], word[:i] + word[i + 1] + word[i] + word[i + 2:],
                          word + "ingly", word + "ness"):
            if candidate not in vocab and candidate not in out:
                out.append(candidate)
                break
        if len(out) >= count:
            break
    return out


def neighbours(wv, words: list[str], topn: int = 10) -> list[set[str]]:
    """The ``topn`` vocabulary words nearest each word's (OOV) vector, by cosine."""
    normed = wv.vectors / np.maximum(np.linalg.norm(wv.vectors, axis=1, keepdims=True), 1e-12)
    out = []
    for word in words:
        v = np.asarray(wv[word], dtype=np.float32)
        sims = normed @ (v / max(np.linalg.norm(v), 1e-12))
        out.append({wv.index_to_key[i] for i in np.argsort(-sims)[:topn]})
    return out


def overlap(a: list[set[str]], b: list[set[str]]) -> float:
    return float(np.mean([len(x & y) / len(x) for x, y in zip(a, b)]))


def main(argv: list[str] | None = None) -> None:
    parser = common_parser(__doc__)
    parser.add_argument("--arch", default="skipgram", choices=["skipgram", "cbow"])
    parser.add_argument("--alpha", type=float, default=0.025)
    parser.add_argument("--minn", type=int, default=3)
    parser.add_argument("--maxn", type=int, default=6)
    parser.add_argument("--bucket", type=int, default=2_000_000)
    parser.add_argument("--oov", type=int, default=200, help="OOV words for the neighbour comparison")
    args = parser.parse_args(argv)
    sentences, n_words, versions = prepare(args)
    print(f"corpus {args.corpus}: {n_words:,} words; {args.arch}, dim {args.dim}, window {args.window}, negative "
          f"{args.negative}, min-count {args.min_count}, sample {args.sample}, n-grams {args.minn}-{args.maxn} in "
          f"{args.bucket:,} buckets, {args.epochs} epochs, {args.repeats} repeats; {versions}", flush=True)
    started = time.perf_counter()
    warm = argparse.Namespace(**{**vars(args), "min_count": 1, "epochs": 1, "bucket": 1000})
    train_seqdl([s[:2000] for s in sentences[:5]], 1, 1, warm)
    print(f"seqdl first run (numba compile or cache load): {time.perf_counter() - started:.1f} s", flush=True)

    trainers = {"gensim": train_gensim, "seqdl": train_seqdl}
    first: dict[str, object] = {}
    scores: dict[str, list[tuple[float, float]]] = {"gensim": [], "seqdl": []}
    print(f"{'workers':>7} {'gensim w/s':>11} {'seqdl w/s':>11} {'ratio':>6}", flush=True)
    for setting, workers in enumerate(map(int, args.workers.split(","))):
        speeds: dict[str, list[float]] = {"gensim": [], "seqdl": []}
        for repeat in range(args.repeats):
            for name in (["gensim", "seqdl"] if repeat % 2 == 0 else ["seqdl", "gensim"]):
                started = time.perf_counter()
                wv = trainers[name](sentences, workers, repeat + 1, args)
                speeds[name].append(n_words * args.epochs / (time.perf_counter() - started))
                first.setdefault(name, wv)
                if setting == 0:  # quality of every seed of the first setting, outside the timing
                    scores[name].append(analogy_scores(wv))
                del wv
        ratios = [s / g for s, g in zip(speeds["seqdl"], speeds["gensim"])]
        print(f"{workers:>7} {statistics.median(speeds['gensim']):>11,.0f} {statistics.median(speeds['seqdl']):>11,.0f}"
              f" {statistics.median(ratios):>5.2f}x   (per repeat: {', '.join(f'{r:.2f}' for r in ratios)})",
              flush=True)

    for name in ("gensim", "seqdl"):
        overall, syntactic = np.mean(scores[name], axis=0)
        seeds = ", ".join(f"{o:.1%}/{s:.1%}" for o, s in scores[name])
        print(f"analogy {name}: {overall:.1%} overall, {syntactic:.1%} syntactic (gram1-9), mean of {len(scores[name])} "
              f"seeds (overall/syntactic per seed: {seeds})", flush=True)
    gensim_wv, seqdl_wv = first["gensim"], first["seqdl"]
    vocab = set(gensim_wv.index_to_key) | set(seqdl_wv.index_to_key)
    words = oov_words(vocab, list(gensim_wv.index_to_key[50:3000]), args.oov)
    reference = train_gensim(sentences, 2, 99, args)
    theirs = neighbours(gensim_wv, words)
    print(f"OOV top-10 neighbour overlap over {len(words)} words (e.g. {', '.join(words[:5])}): "
          f"seqdl vs gensim {overlap(neighbours(seqdl_wv, words), theirs):.1%}; "
          f"gensim vs gensim with another seed {overlap(neighbours(reference, words), theirs):.1%}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
