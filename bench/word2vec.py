"""seqdl's word2vec against gensim's, side by side in one run.

    python bench/word2vec.py CORPUS [--epochs 5] [--repeats 3] [--max-words N]

Both train on the same token lists (seqdl's tokenizer: lowercased, split on
whitespace, each line cut into sentences of at most 10,000 words because
gensim drops words after that) with the same hyperparameters, for skip-gram
and CBOW at 1 and 2 workers. Runs alternate between the two libraries, so a
busy machine slows both alike. Time is measured from the start of vocabulary
building to the end of training; words/s is corpus words x epochs / time.

Quality: both sets of vectors are loaded into gensim's KeyedVectors and
scored with gensim's evaluate_word_analogies (questions-words.txt, the 300k
most frequent words, case-insensitive, 3CosAdd) and evaluate_word_pairs
(wordsim353.tsv, Spearman), so both are evaluated by the same code. Repeat r
uses seed r for both libraries; quality is the mean over the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

GENSIM_MAX_SENTENCE = 10_000


def load_sentences(path: Path, max_words: int | None) -> list[list[str]]:
    """The corpus as token lists of at most GENSIM_MAX_SENTENCE words, cut after ``max_words`` words."""
    from seqdl.text.tokenize import file_sentences

    sentences, words = [], 0
    for line in file_sentences(path, lowercase=True):
        for start in range(0, len(line), GENSIM_MAX_SENTENCE):
            piece = line[start:start + GENSIM_MAX_SENTENCE]
            if max_words is not None and words + len(piece) > max_words:
                piece = piece[: max_words - words]
            if piece:
                sentences.append(piece)
                words += len(piece)
            if max_words is not None and words >= max_words:
                return sentences
    return sentences


def train_gensim(sentences, model: str, workers: int, seed: int, args):
    from gensim.models import Word2Vec

    w2v = Word2Vec(vector_size=args.dim, window=args.window, negative=args.negative, min_count=args.min_count,
                   sample=args.sample, alpha=_alpha(model), min_alpha=1e-4, sg=int(model == "skipgram"),
                   hs=0, cbow_mean=1, workers=workers, epochs=args.epochs, seed=seed)
    w2v.build_vocab(sentences)
    w2v.train(sentences, total_examples=w2v.corpus_count, epochs=args.epochs)
    return w2v.wv


def train_seqdl(sentences, model: str, workers: int, seed: int, args):
    import seqdl

    w2v = seqdl.Word2Vec(model=model, dim=args.dim, window=args.window, negative=args.negative,
                         min_count=args.min_count, sample=args.sample, alpha=_alpha(model), min_alpha=1e-4,
                         workers=workers, epochs=args.epochs, seed=seed)
    return w2v.train(sentences).wv


def _alpha(model: str) -> float:
    return 0.025 if model == "skipgram" else 0.05


def evaluate(words: list[str], vectors: np.ndarray) -> tuple[float, float]:
    """(analogy accuracy, wordsim353 Spearman), both by gensim's evaluation code."""
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    accuracy, _ = kv.evaluate_word_analogies(datapath("questions-words.txt"))
    _, spearman, _ = kv.evaluate_word_pairs(datapath("wordsim353.tsv"))
    return accuracy, spearman.statistic


def common_parser(doc: str) -> argparse.ArgumentParser:
    """The corpus, repeat and training options this benchmark and bench/fasttext.py share."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per library and setting")
    parser.add_argument("--max-words", type=int, default=None, help="use only the first N words")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    return parser


def blas_line() -> str:
    """The BLAS libraries loaded and their kernels (the word2vec kernels themselves are numba)."""
    import threadpoolctl

    blas = [f"{i['internal_api']} {i.get('architecture')} ({i['num_threads']} threads)"
            for i in threadpoolctl.threadpool_info()]
    return f"BLAS kernels: {', '.join(blas) or 'none loaded'} (training kernels are numba/Cython, not BLAS)"


def prepare(args: argparse.Namespace) -> tuple[list[list[str]], int, str]:
    """Quiet gensim's logging, print the BLAS line, load the corpus: ``(sentences, words, versions)``."""
    import logging

    import gensim

    import seqdl

    logging.getLogger("gensim").setLevel(logging.WARNING)
    print(blas_line(), flush=True)
    sentences = load_sentences(args.corpus, args.max_words)
    return sentences, sum(map(len, sentences)), f"gensim {gensim.__version__}, seqdl {seqdl.__version__}"


def main(argv: list[str] | None = None) -> None:
    parser = common_parser(__doc__)
    parser.add_argument("--models", default="skipgram,cbow")
    args = parser.parse_args(argv)
    sentences, n_words, versions = prepare(args)
    print(f"corpus {args.corpus}: {n_words:,} words in {len(sentences):,} sentences; "
          f"dim {args.dim}, window {args.window}, negative {args.negative}, min-count {args.min_count}, "
          f"sample {args.sample}, {args.epochs} epochs, {args.repeats} repeats; {versions}", flush=True)
    started = time.perf_counter()
    warm_up = argparse.Namespace(**{**vars(args), "min_count": 1, "epochs": 1})
    train_seqdl([s[:2000] for s in sentences[:5]], "skipgram", 1, 1, warm_up)
    print(f"seqdl first run (numba compile or cache load) on 10k words: {time.perf_counter() - started:.1f} s; "
          "timed runs below are warm", flush=True)

    trainers = {"gensim": train_gensim, "seqdl": train_seqdl}
    print(f"{'model':<9} {'workers':>7} {'gensim w/s':>11} {'seqdl w/s':>11} {'ratio':>6}  "
          f"{'analogy gensim/seqdl':>21}  {'ws353 gensim/seqdl':>19}", flush=True)
    for model in args.models.split(","):
        for workers in map(int, args.workers.split(",")):
            speeds: dict[str, list[float]] = {"gensim": [], "seqdl": []}
            quality: dict[str, list[tuple[float, float]]] = {"gensim": [], "seqdl": []}
            for repeat in range(args.repeats):
                order = ["gensim", "seqdl"] if repeat % 2 == 0 else ["seqdl", "gensim"]
                for name in order:
                    started = time.perf_counter()
                    kv = trainers[name](sentences, model, workers, repeat + 1, args)
                    speeds[name].append(n_words * args.epochs / (time.perf_counter() - started))
                    quality[name].append(evaluate(list(kv.index_to_key), np.asarray(kv.vectors)))
            ratios = [s / g for s, g in zip(speeds["seqdl"], speeds["gensim"])]
            g_acc, g_ws = np.mean(quality["gensim"], axis=0)
            s_acc, s_ws = np.mean(quality["seqdl"], axis=0)
            print(f"{model:<9} {workers:>7} {statistics.median(speeds['gensim']):>11,.0f} "
                  f"{statistics.median(speeds['seqdl']):>11,.0f} {statistics.median(ratios):>5.2f}x  "
                  f"{g_acc:>10.1%}/{s_acc:<10.1%}  {g_ws:>9.3f}/{s_ws:<9.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
