"""Word-level LSTM language model with tied weights: dropout against none, on a small corpus.

Zaremba et al. and PyTorch's word_language_model: on a small corpus a model
without dropout overfits within a few epochs, and dropout on the embedding
output, between layers and before the (tied) output layer gives a lower
validation perplexity. Both models start from the same weights (same seed),
read the same batches for the same number of updates with the same optimiser;
prints the exact validation perplexity (exp of the mean cross-entropy over the
whole held-out tail, carried state, dropout off) after every epoch and at the end.

    python bench/word_lm.py /work/shared/corpora/speeches-news.txt
    python bench/word_lm.py CORPUS --tokens 200000 --epochs 3       # reduced scale
"""

from __future__ import annotations

import argparse
import math
import time

import threadpoolctl

from seqdl.lm import LanguageModel, TokenVocabulary, TrainConfig, evaluate, read_text, split_tokens, train
from seqdl.lm.pipeline import split_ids


class EpochLog:
    """A progress reporter printing the validation lines training writes (one per epoch)."""

    def __init__(self, name: str):
        self.name = name

    def update(self, done, total=None, **fields):
        pass

    def write(self, line: str) -> None:
        print(f"  {self.name}: {line}", flush=True)

    def close(self):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--tokens", type=int, default=None, help="use only the first N word tokens of the corpus")
    parser.add_argument("--max-vocab", type=int, default=10000)
    parser.add_argument("--size", type=int, default=200, help="embedding = hidden size (tied weights)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seq-len", type=int, default=35)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tokens = split_tokens(read_text(args.corpus), "word")
    if args.tokens:
        tokens = tokens[:args.tokens]
    vocab = TokenVocabulary.from_tokens(tokens, "word", max_words=args.max_vocab)
    train_ids, val_ids = split_ids(vocab.ids(tokens), 0.1)
    config = TrainConfig(seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr, clip=5.0,
                         epochs=args.epochs, workers=args.threads)
    print(f"corpus {args.corpus}: {len(tokens):,} word tokens ({len(train_ids):,} train, {len(val_ids):,} validation), "
          f"vocabulary {len(vocab)}")
    print(f"model: LSTM, {args.layers} layers, embedding = hidden = {args.size}, tied weights; {args.epochs} epochs "
          f"of {args.batch_size}x{args.seq_len} windows, Adam lr {args.lr}, clip 5")
    blas = ", ".join(f"{i['internal_api']} ({i.get('architecture', '?')} kernels)"
                     for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")
    print(f"threads: {args.threads} LSTM worker thread(s); BLAS {blas}, single-threaded while training "
          "when there are several workers")
    results = {}
    for name, dropout in (("no dropout", 0.0), (f"dropout {args.dropout}", args.dropout)):
        model = LanguageModel(vocab, args.size, args.size, args.layers, cell="lstm", dropout=dropout,
                              tie_weights=True, seed=args.seed)
        started = time.perf_counter()
        history = train(model, train_ids, val_ids, config, progress=EpochLog(name))
        loss = evaluate(model, val_ids, config.seq_len, config.batch_size)
        results[name] = (loss, history)
        print(f"{name}: {history.steps} updates in {time.perf_counter() - started:.0f} s, "
              f"{history.tokens_per_second:,.0f} tokens/s; final validation perplexity {math.exp(loss):.2f} "
              f"(best {math.exp(history.best_val_loss):.2f} after {history.best_step} updates)", flush=True)
    (plain, _), (dropped, _) = results.values()
    print(f"validation perplexity: no dropout {math.exp(plain):.2f}, dropout {args.dropout} {math.exp(dropped):.2f}; "
          f"dropout {'wins' if dropped < plain else 'does not win'} by {math.exp(plain) - math.exp(dropped):+.2f}")


if __name__ == "__main__":
    main()
