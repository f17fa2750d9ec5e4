"""Generation speed: batched stepping (``step_batch``) against row-by-row ``step``, identical text.

A char LSTM (embedding 64, H=256, 1 layer; vocabulary of the corpus; random
weights: speed does not depend on them) generates with beam search
(5 beams x 200 tokens) and with sampling (8 samples x 200 tokens). Each is
timed with the model's ``step_batch`` and through a wrapper that hides it, so
the decoders fall back to one ``step`` per beam or sample per token (the
stepping seqdl used before batching), and also row by row through
``forward`` (the training path). The runs alternate for ``--rounds`` rounds so
all see the same machine load; the median per-round speed ratio is printed,
and batched and row-by-row text is asserted identical.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/generate.py /work/shared/corpora/tinyshakespeare.txt
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import seqdl_beam
import seqdl_sampling
import threadpoolctl

import seqdl
from seqdl.logits import log_softmax
from seqdl.lm import LanguageModel, TokenVocabulary, read_text, split_tokens
from seqdl.plugins import PluginHost


class RowByRow:
    """The model with only the one-row decoding protocol (no ``step_batch``): one ``step`` per beam or sample."""

    def __init__(self, model: LanguageModel):
        self.model, self.vocab_size, self.vocab = model, model.vocab_size, model.vocab

    def start(self, prompt):
        return self.model.start(prompt)

    def step(self, state, token):
        return self.model.step(state, token)


class ThroughForward(RowByRow):
    """Row by row through ``forward`` (the training path), the way ``LanguageModel.step`` worked before it was lean."""

    def step(self, state, token):
        logits, new_state = self.model.forward(np.array([[token]], dtype=np.int64), state)
        return log_softmax(logits[0, -1]), new_state


def cpu_flags() -> str:
    """The CPU's widest vector extension, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return platform.processor() or "unknown"
    return "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"


def timed(model, prompt, length, host, options):
    """Seconds and token ids of one ``seqdl.generate`` call (the path the command line takes)."""
    started = time.perf_counter()
    out = seqdl.generate(model, prompt, max_new_tokens=length, host=host, **options)
    return time.perf_counter() - started, [g.token_ids for g in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--beams", type=int, default=5)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    text = read_text(args.corpus)
    vocab = TokenVocabulary.from_tokens(split_tokens(text, "char"), "char")
    model = LanguageModel(vocab, embedding_dim=64, hidden_size=args.hidden, seed=0)
    prompt = list(vocab.ids(split_tokens("ROMEO:\n", "char"))) if all(c in vocab.index for c in "ROMEO:\n") else [0]
    print(f"CPU: {platform.machine()} {cpu_flags()}; BLAS: "
          + "; ".join(f"{i['internal_api']} {i.get('architecture')} ({i['num_threads']} threads; decoding uses 1)"
                      for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"))
    print(f"char LSTM H={args.hidden}, vocab {model.vocab_size}, {args.length} tokens; "
          f"{args.rounds} alternating rounds (the machine may be shared: ratios, not absolute times, are the result)")
    plain, through_forward = RowByRow(model), ThroughForward(model)
    host = PluginHost()
    host.register(seqdl_sampling, "sampling")
    host.register(seqdl_beam, "beam")
    cases = {f"beam {args.beams}": {"decoder": "beam", "beam_width": args.beams},
             f"{args.samples} samples": {"decoder": "sample", "num_return_sequences": args.samples, "seed": 0,
                                         "top_k": 20}}
    for name, options in cases.items():
        times = {"batched": [], "row by row": [], "forward": []}
        for _ in range(args.rounds):
            outputs = {}
            for label, stepping in (("batched", model), ("row by row", plain), ("forward", through_forward)):
                seconds, outputs[label] = timed(stepping, prompt, args.length, host, options)
                times[label].append(seconds)
            assert outputs["batched"] == outputs["row by row"], f"{name}: batched and row-by-row text differ"
            same_forward = outputs["batched"] == outputs["forward"]
        medians = {label: statistics.median(ts) for label, ts in times.items()}
        speedups = {label: statistics.median(r / b for r, b in zip(ts, times["batched"]))
                    for label, ts in times.items()}
        print(f"{name:>12}: batched {medians['batched']:.3f} s; row by row {medians['row by row']:.3f} s "
              f"(median speed-up {speedups['row by row']:.2f}x, identical text); row by row through forward() "
              f"{medians['forward']:.3f} s (median speed-up {speedups['forward']:.2f}x, "
              f"{'identical' if same_forward else 'DIFFERENT'} text)")


if __name__ == "__main__":
    main()
