"""Recurrent LM training speed: seqdl against the same model in torch, and both against the core's peak.

The model: Embedding(V, E) -> LSTM or GRU (H units, L layers) -> Linear(H, V),
trained by truncated BPTT on (B=32, T=64) char batches with carried state,
Adam 2e-3 and clipping at 5, both sides from the *same* initial weights (seqdl's
torch-style init copied into the torch model). Rounds of ``--round`` steps
alternate between the two so both see the same machine load; the ratio is the
median of the per-round ratios. At the end both report the validation loss.

Achieved GFLOP/s counts the GEMM FLOPs of one training step (one multiply-add = 2
FLOPs), for G gate blocks (4 LSTM, 3 GRU):

    forward recurrence   L * 2*B*T * H * G*H        (h @ W_hh^T per step)
    backward recurrence  L * 2*B*T * G*H * H        (dgates @ W_hh per step)
    weight gradients     L * 2*B*T * G*H * H        (dW_hh)  + the dW_ih terms below
    input projections    3 * 2*B*T * G*H * (E + (L-1)*H)   (x W_ih^T, dW_ih, dx per layer)
    output projection    3 * 2*B*T * H * V           (logits, dW_out, dh)

    total = 6*B*T * ((2L-1) * H*G*H + E*G*H + H*V)

the nominal count for this model, the same for both sides (seqdl's fused
embedding/projection does fewer FLOPs on the input side, which only helps it).
Peak for one core = clock * FLOP/cycle, with FLOP/cycle = 2 FMA pipes * lanes * 2
(lanes: 16 float32 for AVX-512, 8 for AVX2), from /proc/cpuinfo's flags and
``cpu MHz`` (the nominal clock of a VM; override with ``--clock-ghz`` /
``--flops-per-cycle``; e.g. AMD Zen 4 runs AVX-512 on 256-bit pipes, half that peak).

    python bench/recurrent_speed.py /work/shared/corpora/tinyshakespeare.txt --threads 1 --hidden 256
    python bench/recurrent_speed.py CORPUS --threads 2 --hidden 512 --cell gru --layers 2 --steps 200

AVX2-capped run on an AVX-512 machine (both libraries limited; the bench prints
numpy's OpenBLAS kernel, numba's code-generation target, torch's CPU capability
and oneDNN's ISA as evidence):

    NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES=-avx512f OPENBLAS_CORETYPE=Haswell MKL_ENABLE_INSTRUCTIONS=AVX2 \\
        ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python bench/recurrent_speed.py CORPUS --threads 1

(``ATEN_CPU_CAPABILITY`` caps torch's own vectorised kernels, ``MKL_ENABLE_INSTRUCTIONS``
and ``ONEDNN_MAX_CPU_ISA`` its BLAS and oneDNN, and ``MKL_ENABLE_INSTRUCTIONS`` also the MKL
seqdl's time loops use with the ``mkl`` extra; ``OPENBLAS_CORETYPE`` caps both
OpenBLAS builds seqdl may call (numpy's and SciPy's) and ``NUMBA_CPU_NAME`` with
``NUMBA_CPU_FEATURES=-avx512f`` seqdl's own kernels, which numba otherwise compiles for the
host's ISA: ``NUMBA_CPU_NAME`` alone keeps the host's feature list, AVX-512 included; the
first run after changing them recompiles the kernels, ~1-2 min.) Unset ``OPENBLAS_L2_SIZE`` (and ``OPENBLAS_CORETYPE`` unless
capping) for the bench command only, so both sides run the machine's kernels.

With ``--threads`` 2 or more each round first measures how far apart two cores
are (``bench/core_latency.py``: a cache line's round trip between them) and the
summary splits the rounds' ratios by it: a virtual machine's host may move its
virtual CPUs between cores that share a cache and cores that do not while the
bench runs, and both sides' threads share written memory every time step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import threadpoolctl
import torch

from char_lstm import TorchTrainer, alternate_rounds, batches_forever, timed_round, torch_evaluate
from core_latency import round_trip_ns
from seqdl.lm import LanguageModel, TokenVocabulary, TrainConfig, Trainer, evaluate, read_text, split_tokens
from seqdl.lm.pipeline import split_ids
from seqdl.lm.training import split_streams
from seqdl.nn.kernels.blas import kernel_blas

EMBEDDING, SEQ_LEN, BATCH = 64, 64, 32
GATES = {"lstm": 4, "gru": 3}


class TorchLM(torch.nn.Module):
    """nn.Embedding -> nn.LSTM / nn.GRU (batch_first) -> nn.Linear, loaded from a seqdl model's weights."""

    def __init__(self, ours: LanguageModel):
        super().__init__()
        vocab = ours.vocab_size
        self.embedding = torch.nn.Embedding(vocab, ours.embedding_dim)
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[ours.cell]
        self.rnn = rnn(ours.embedding_dim, ours.hidden_size, ours.num_layers, batch_first=True)
        self.output = torch.nn.Linear(ours.hidden_size, vocab)
        with torch.no_grad():
            self.embedding.weight.copy_(torch.from_numpy(ours.embedding.params["weight"]))
            for name, value in ours.rnn.params.items():
                getattr(self.rnn, name).copy_(torch.from_numpy(value))
            self.output.weight.copy_(torch.from_numpy(ours.output.params["weight"]))
            self.output.bias.copy_(torch.from_numpy(ours.output.params["bias"]))

    def forward(self, x, state):
        """(logits, state); the state is always a tuple ((h,) for the GRU), as char_lstm's TorchTrainer expects."""
        if isinstance(self.rnn, torch.nn.GRU) and state is not None:
            (state,) = state
        y, state = self.rnn(self.embedding(x), state)
        return self.output(y), state if isinstance(state, tuple) else (state,)


#: Core-to-core round trips from this many nanoseconds count as cores far apart (no shared cache): measured
#: ~70 ns near and ~370 ns far on the 2-vCPU AMD EPYC virtual machine of docs/benchmarks.md.
FAR_NS = 200


def step_flops(cell: str, layers: int, hidden: int, embedding: int, vocab: int, batch: int, seq_len: int) -> float:
    """GEMM FLOPs of one training step (the formula in the module docstring)."""
    gh = GATES[cell] * hidden
    return 6.0 * batch * seq_len * ((2 * layers - 1) * hidden * gh + embedding * gh + hidden * vocab)


def cpu_peak(clock_ghz: float | None, flops_per_cycle: float | None) -> tuple[str, float, float, float]:
    """(ISA, clock GHz, FLOP/cycle, one core's float32 peak GFLOP/s) from /proc/cpuinfo unless given.

    The ISA is AVX2 on an AVX-512 machine when ``MKL_ENABLE_INSTRUCTIONS=AVX2`` caps the run.
    """
    flags, mhz = set(), 0.0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "flags" and not flags:
                    flags = set(value.split())
                elif key.strip() == "cpu MHz" and not mhz:
                    mhz = float(value)
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    if isa == "AVX-512" and os.environ.get("MKL_ENABLE_INSTRUCTIONS", "").upper() == "AVX2":
        isa = "AVX2 (capped)"  # the AVX2 run of the docstring: both sides held to AVX2, so is the peak
    lanes = {"AVX-512": 16, "AVX2": 8, "AVX2 (capped)": 8, "SSE": 4}[isa]
    clock = clock_ghz or (mhz / 1000 if mhz else 2.0)
    per_cycle = flops_per_cycle or 2 * lanes * 2
    return isa, clock, per_cycle, clock * per_cycle


def numba_target() -> str:
    """The CPU numba generates code for (NUMBA_CPU_NAME when set, else the host's) and whether with AVX-512."""
    from numba.core import config

    from seqdl.nn.kernels.packed import vector_bytes

    return f"{config.CPU_NAME or 'the host CPU'} ({'with' if vector_bytes() == 64 else 'without'} AVX-512)"


def loop_products() -> str:
    """What multiplies in seqdl's recurrent time loops: packed weights (whose vector width) or a BLAS."""
    import numpy as np

    from seqdl.nn.kernels.blas import kernel_packs
    from seqdl.nn.kernels.packed import vector_bytes

    if kernel_packs(np.float32):
        return f"packed weights ({vector_bytes()}-byte vectors; other products: {kernel_blas()})"
    return kernel_blas()


def threading_used(rnn) -> str:
    """How the recurrent layer uses its workers (what ``threading="auto"`` came to)."""
    if rnn.uses_unit_threads():
        return f"unit threads ({rnn.unit_parts()})"
    return "BLAS threads" if rnn.uses_blas_threads() else "row blocks" if rnn.workers > 1 else "one thread"


def onednn_isa() -> str:
    """The ISA oneDNN reports for an LSTM step in a fresh torch process (ONEDNN_VERBOSE), or why not."""
    code = ("import torch; m=torch.nn.LSTM(8,8); torch.backends.mkldnn.enabled=True\n"
            "with torch.no_grad(): m(torch.zeros(2,1,8))\n"
            "torch.nn.functional.linear(torch.zeros(64,64), torch.zeros(64,64))")
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "DNNL_VERBOSE": "1"}
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    lines = [line for line in out.splitlines() if "isa:" in line]
    return lines[0].split("isa:", 1)[1].strip() if lines else "no oneDNN primitive reported"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--threads", type=int, default=1, help="seqdl workers and torch intra-op threads")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--cell", choices=sorted(GATES), default="lstm")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--round", type=int, default=25, help="steps per alternating round")
    parser.add_argument("--threading", choices=["auto", "rows", "blas", "units"], default="auto",
                        help="seqdl's use of workers > 1 (see seqdl.nn.recurrent)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock-ghz", type=float, default=None)
    parser.add_argument("--flops-per-cycle", type=float, default=None)
    args = parser.parse_args()
    config = TrainConfig(seq_len=SEQ_LEN, batch_size=BATCH, lr=2e-3, clip=5.0, workers=args.threads)

    tokens = split_tokens(read_text(args.corpus), "char")
    vocab = TokenVocabulary.from_tokens(tokens, "char")
    train_ids, val_ids = split_ids(vocab.ids(tokens), 0.1)
    streams = split_streams(train_ids, config.batch_size)

    def new_model() -> LanguageModel:
        model = LanguageModel(vocab, EMBEDDING, args.hidden, args.layers, cell=args.cell, seed=args.seed)
        model.rnn.threading = args.threading
        return model

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    # One BLAS thread outside the layer, as torch's one intra-op thread at --threads 1; with workers > 1 the
    # layer itself raises it where it uses BLAS threads.
    blas = threadpoolctl.threadpool_limits(1, user_api="blas")
    ours = Trainer(new_model(), config)
    theirs = TorchTrainer(TorchLM(ours.model), config)

    flops = step_flops(args.cell, args.layers, args.hidden, EMBEDDING, len(vocab), BATCH, SEQ_LEN)
    isa, clock, per_cycle, peak = cpu_peak(args.clock_ghz, args.flops_per_cycle)
    kernel_blas()  # loads MKL, when installed, so threadpoolctl lists it
    blas_info = [f"{i['internal_api']} {i.get('architecture')} kernels, {i['num_threads']} thread(s)"
                 for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    caps = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES",
                                       "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")
            if k in os.environ}
    print(f"corpus {args.corpus}: {len(tokens):,} chars, vocab {len(vocab)}; {args.cell.upper()} {args.layers} "
          f"layer(s) H={args.hidden}, E={EMBEDDING}, {BATCH}x{SEQ_LEN} tokens/step, {args.steps} steps in "
          f"alternating rounds of {args.round}")
    print(f"cpu: {isa} (flags), assumed {clock:.2f} GHz x {per_cycle:g} FLOP/cycle = one-core fp32 peak "
          f"{peak:,.0f} GFLOP/s; environment caps: {caps or 'none'}")
    print(f"BLAS libraries: {'; '.join(blas_info)}; seqdl's time-loop products: {loop_products()}; numba compiles for "
          f"{numba_target()}; seqdl workers {args.threads}, threading {args.threading} (the layer's cores: "
          f"{threading_used(ours.model.rnn)})")
    print(f"torch {torch.__version__}: cpu capability {torch.backends.cpu.get_cpu_capability()}, intra-op threads "
          f"{torch.get_num_threads()}, oneDNN ISA: {onednn_isa()}")
    print(f"GEMM work per step: {flops / 1e9:.3f} GFLOP (6*B*T*((2L-1)*H*G*H + E*G*H + H*V))")

    # Compile or load the numba kernels on a throwaway model, so both sides then take exactly `steps` updates.
    started = time.perf_counter()
    timed_round(Trainer(new_model(), config), batches_forever(streams, SEQ_LEN), 1)
    print(f"seqdl first step (kernel compile/cache load): {time.perf_counter() - started:.2f} s", flush=True)

    seconds = alternate_rounds({"seqdl": (ours, batches_forever(streams, SEQ_LEN)),
                                "torch": (theirs, batches_forever(streams, SEQ_LEN))},
                               args.steps, args.round, BATCH * SEQ_LEN,
                               probe=round_trip_ns if args.threads > 1 else None)

    val_ours = evaluate(ours.model, val_ids, SEQ_LEN, BATCH)
    val_torch = torch_evaluate(theirs.model, val_ids, SEQ_LEN, BATCH)
    blas.restore_original_limits()
    ratio = statistics.median(t / s for s, t in zip(seconds["seqdl"], seconds["torch"]))
    for name in ("seqdl", "torch"):
        per_step = statistics.median(seconds[name])
        gflops = flops / per_step / 1e9
        print(f"{name}: {BATCH * SEQ_LEN / per_step:9,.0f} tok/s (median round), {gflops:6.1f} GFLOP/s = "
              f"{100 * gflops / peak:4.1f}% of one core's peak ({100 * gflops / (peak * args.threads):4.1f}% of "
              f"{args.threads} cores')")
    print(f"ratio seqdl/torch {ratio:.2f}x (median of {len(seconds['seqdl'])} per-round ratios)")
    if "probe" in seconds:  # the cores' placement, round by round (see bench/core_latency.py)
        for label, near in (("near", True), ("far", False)):
            ratios = [t / s for s, t, ns in zip(seconds["seqdl"], seconds["torch"], seconds["probe"])
                      if ns is not None and (ns < FAR_NS) == near]  # None: fewer than two usable CPUs
            print(f"  rounds with the cores {label} ({'<' if near else '>='} {FAR_NS} ns a core-to-core round trip): "
                  + (f"{len(ratios)}, ratio {statistics.median(ratios):.2f}x" if ratios else "none"))
    print(f"val loss after {args.steps} steps: seqdl {val_ours:.4f}  torch {val_torch:.4f}  "
          f"difference {val_ours - val_torch:+.4f} ({'within' if abs(val_ours - val_torch) <= 0.03 else 'NOT within'}"
          f" 0.03)")


if __name__ == "__main__":
    main()
