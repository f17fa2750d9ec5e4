"""Why Conv2D uses im2col + BLAS: both candidate kernels timed on the digits CNN's conv layers.

Candidates, forward + backward (input and weight gradients) per batch of 32:
- im2col: seqdl.nn.Conv2D as shipped (Numba im2col/col2im + one float32 GEMM per product, 1 BLAS thread);
- direct: fused Numba loop nests over a zero-padded copy, no unfolded matrix,
  innermost loop over output channels (contiguous, vectorised) with the
  weight kept as (C, KH, KW, OC).
Runs alternate and the median per-call time of each is printed.

    python bench/conv_kernels.py [--repeats 5] [--calls 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

from seqdl import nn
from seqdl.kernel_flags import FASTMATH


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def direct_forward(xp, wt, b, y):
    """y = conv(xp, w) + b for a padded input xp, stride 1; wt is w as (C, KH, KW, OC).

    The innermost loop runs over output channels, contiguous in wt, so it vectorises.
    """
    n_, oc_, oh, ow = y.shape
    ic_, kh, kw = wt.shape[:3]
    acc = np.empty(oc_, dtype=y.dtype)
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                for o in range(oc_):
                    acc[o] = b[o]
                for c in range(ic_):
                    for ky in range(kh):
                        for kx in range(kw):
                            v = xp[n, c, i + ky, j + kx]
                            for o in range(oc_):
                                acc[o] += v * wt[c, ky, kx, o]
                for o in range(oc_):
                    y[n, o, i, j] = acc[o]


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def direct_backward(xp, wt, dy, dwt, db, dxp):
    """Weight (as (C, KH, KW, OC)), bias and padded-input gradients of direct_forward."""
    n_, oc_, oh, ow = dy.shape
    ic_, kh, kw = wt.shape[:3]
    g = np.empty(oc_, dtype=dy.dtype)
    dxp[...] = 0.0
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                for o in range(oc_):
                    g[o] = dy[n, o, i, j]
                    db[o] += g[o]
                for c in range(ic_):
                    for ky in range(kh):
                        for kx in range(kw):
                            v = xp[n, c, i + ky, j + kx]
                            s = 0.0
                            for o in range(oc_):
                                s += g[o] * wt[c, ky, kx, o]
                                dwt[c, ky, kx, o] += v * g[o]
                            dxp[n, c, i + ky, j + kx] += s


def time_im2col(layer, x, dy, calls):
    started = time.perf_counter()
    for _ in range(calls):
        layer.forward(x, training=True)
        layer.backward(dy)
    return (time.perf_counter() - started) / calls


def time_direct(layer, x, dy, calls):
    w, b = layer.params["weight"], layer.params["bias"]
    p = (w.shape[2] - 1) // 2
    dwt, db = np.zeros(w.shape[1:] + w.shape[:1], dtype=w.dtype), np.zeros_like(b)
    started = time.perf_counter()
    for _ in range(calls):
        wt = np.ascontiguousarray(w.transpose(1, 2, 3, 0))
        xp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * p, x.shape[3] + 2 * p), dtype=x.dtype)
        xp[:, :, p:-p, p:-p] = x
        y = np.empty_like(dy)
        direct_forward(xp, wt, b, y)
        dxp = np.empty_like(xp)
        direct_backward(xp, wt, dy, dwt, db, dxp)
        np.ascontiguousarray(dxp[:, :, p:-p, p:-p])
    return (time.perf_counter() - started) / calls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    for cin, cout, size in ((1, 16, 8), (16, 32, 4)):
        layer = nn.Conv2D(cin, cout, 3, padding="same", rng=0)
        x = rng.normal(size=(32, cin, size, size)).astype(np.float32)
        dy = rng.normal(size=(32, cout, size, size)).astype(np.float32)
        # the two must agree before their speed means anything
        w, b = layer.params["weight"], layer.params["bias"]
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        y = np.empty_like(dy)
        direct_forward(xp, np.ascontiguousarray(w.transpose(1, 2, 3, 0)), b, y)
        np.testing.assert_allclose(y, layer.forward(x), rtol=1e-4, atol=1e-4)
        ours, direct = [], []
        with threadpool_limits(limits=1, user_api="blas"):
            time_direct(layer, x, dy, 5)
            for _ in range(args.repeats):
                ours.append(time_im2col(layer, x, dy, args.calls))
                direct.append(time_direct(layer, x, dy, args.calls))
        a, b = statistics.median(ours) * 1e6, statistics.median(direct) * 1e6
        print(f"conv {cin}->{cout} on {size}x{size}, batch 32, fwd+bwd: im2col+BLAS {a:7.1f} us  "
              f"direct Numba {b:7.1f} us  (direct/im2col {b / a:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
