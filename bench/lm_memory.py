"""Peak memory of ``seqdl train --level word`` against corpus size: bounded by the vocabulary, not the corpus.

Builds corpora of the given sizes (``--sizes`` in MB) by repeating the whole
lines of ``CORPUS`` (so every size has the same vocabulary), runs
``seqdl train`` on each in a child process, and samples the child's
``/proc/PID/status`` every 20 ms:

- ``RssAnon``: the process's own memory (heap, arrays, Python objects);
  what would grow if the tokens were held in a Python list;
- ``RssFile``: file pages mapped in (the int32 token-id file read through
  ``numpy.memmap``, shared libraries), which the kernel can drop at any
  time;
- ``VmHWM``: the peak of the two together, as ``ps``/``time -v`` report it.

Training runs ``--steps`` updates (tokenizing the whole corpus twice, once
to count and once to write the ids, is the part that scales with its size),
then evaluates the held-out tail. Evaluation's peak is its (batch, window,
vocabulary) logits, so a validation set too short to fill one window peaks
lower: keep ``--val-fraction`` large enough for full windows at every size.

    python bench/lm_memory.py /work/shared/corpora/speeches-news.txt --sizes 10,100
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIELDS = ("VmHWM", "RssAnon", "RssFile")


def build_corpus(source: Path, out: Path, megabytes: float) -> int:
    """Write whole lines of ``source``, over and over, to ``out`` until it holds ``megabytes`` MB; its size."""
    lines = source.read_bytes().splitlines(keepends=True)
    target = int(megabytes * 1_000_000)
    written = 0
    with open(out, "wb") as fh:
        while written < target:
            for line in lines:
                fh.write(line)
                written += len(line)
                if written >= target:
                    break
    return written


def status(pid: int) -> dict[str, int]:
    """The memory fields of ``/proc/PID/status`` in kB (empty once the process is gone)."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in FIELDS:
                    found[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def measure(corpus: Path, workdir: Path, args) -> dict[str, int]:
    """Run ``seqdl train`` on ``corpus``; the peak of each memory field in kB and the wall time in s."""
    command = [sys.executable, "-m", "seqdl", "train", str(corpus), "--level", "word", "--steps", str(args.steps),
               "--max-vocab", str(args.max_vocab), "--val-fraction", str(args.val_fraction), "--workers", "1",
               "--quiet", "-o", str(workdir / "model.npz")]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peaks = dict.fromkeys(FIELDS, 0)
    while child.poll() is None:
        for key, value in status(child.pid).items():
            peaks[key] = max(peaks[key], value)
        time.sleep(0.02)
    if child.returncode != 0:
        raise SystemExit(f"seqdl train failed on {corpus}: {child.stderr.read().strip()}")
    peaks["seconds"] = time.perf_counter() - started
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--sizes", default="10,100", help="corpus sizes in MB, comma-separated")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--max-vocab", type=int, default=10000)
    parser.add_argument("--val-fraction", type=float, default=0.01,
                        help="held out; large enough that evaluation reads full windows at every size")
    parser.add_argument("--workdir", type=Path, default=None, help="where the generated corpora go (default: a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="seqdl-lm-memory-", dir=args.workdir) as tmp:
        workdir = Path(tmp)
        print(f"seqdl train --level word --steps {args.steps} --max-vocab {args.max_vocab} on {args.corpus.name} "
              f"repeated; peaks in MB")
        print(f"{'corpus MB':>9}  {'tokens':>12}  {'VmHWM':>7}  {'RssAnon':>7}  {'RssFile':>7}  {'seconds':>7}")
        for size in (float(s) for s in args.sizes.split(",")):
            corpus = workdir / f"corpus-{size:g}MB.txt"
            written = build_corpus(args.corpus, corpus, size)
            tokens = sum(len(line.split()) for line in open(corpus, encoding="utf-8"))
            peaks = measure(corpus, workdir, args)
            print(f"{written / 1e6:9.1f}  {tokens:12,}  {peaks['VmHWM'] / 1024:7.0f}  {peaks['RssAnon'] / 1024:7.0f}  "
                  f"{peaks['RssFile'] / 1024:7.0f}  {peaks['seconds']:7.1f}", flush=True)
            os.unlink(corpus)


if __name__ == "__main__":
    main()
