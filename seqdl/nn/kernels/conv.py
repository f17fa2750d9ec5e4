"""Numba kernels for 2-D convolution by im2col + GEMM (1-D runs as H = 1).

Layout: ``cols`` is (C*KH*KW, N*OH*OW), so the forward pass is one GEMM
``W(OC, C*KH*KW) @ cols`` giving (OC, N*OH*OW), which :func:`gemm_to_nchw`
scatters into (N, OC, OH, OW) while adding the bias. Padding is given as the
top/left amount only; positions past the bottom/right edge read as zero, which
also covers PyTorch's asymmetric "same" padding for even kernels. Geometry
(stride, padding, kernel) is folded into a gather table, see
:func:`gather_table`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...kernel_flags import FASTMATH


@njit(cache=True, nogil=True, error_model="numpy")
def gather_table(h_, w_, kh, kw, sh, sw, ph, pw, oh, ow):
    """(KH*KW, OH*OW) table: flat H*W index each kernel tap reads at each output position, -1 in padding.

    Built once per input size; it turns im2col and col2im into one flat loop
    per row with no index arithmetic, about 2.5x faster on small images.
    """
    table = np.empty((kh * kw, oh * ow), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            for y in range(oh):
                iy = y * sh - ph + i
                for xo in range(ow):
                    ix = xo * sw - pw + j
                    inside = 0 <= iy < h_ and 0 <= ix < w_
                    table[i * kw + j, y * ow + xo] = iy * w_ + ix if inside else -1
    return table


@njit(cache=True, nogil=True, error_model="numpy")
def im2col(x, table, cols):
    """Unfold C-contiguous x (N, C, H, W) into cols (C*KH*KW, N*OH*OW) through a gather table."""
    n_, c_, h_, w_ = x.shape
    taps, p_ = table.shape
    hw = h_ * w_
    flat = x.reshape(n_ * c_ * hw)
    for c in range(c_):
        for k in range(taps):
            row = cols[c * taps + k]
            reads = table[k]
            for n in range(n_):
                base = (n * c_ + c) * hw
                dst = n * p_
                for p in range(p_):
                    s = reads[p]
                    row[dst + p] = flat[base + s] if s >= 0 else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def col2im(dcols, table, dx):
    """Fold dcols (C*KH*KW, N*OH*OW) back into C-contiguous dx (N, C, H, W), summing overlaps."""
    n_, c_, h_, w_ = dx.shape
    taps, p_ = table.shape
    hw = h_ * w_
    dx[...] = 0.0
    flat = dx.reshape(n_ * c_ * hw)
    for c in range(c_):
        for k in range(taps):
            row = dcols[c * taps + k]
            reads = table[k]
            for n in range(n_):
                base = (n * c_ + c) * hw
                src = n * p_
                for p in range(p_):
                    s = reads[p]
                    if s >= 0:
                        flat[base + s] += row[src + p]


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def gemm_to_nchw(out2, bias, y):
    """y[n, o, p] = out2[o, n*P + p] + bias[o] (bias may be empty)."""
    n_, o_, p_ = y.shape
    has_bias = bias.shape[0] > 0
    for n in range(n_):
        for o in range(o_):
            b = bias[o] if has_bias else 0.0
            for p in range(p_):
                y[n, o, p] = out2[o, n * p_ + p] + b


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def nchw_to_gemm(dy, dy2, dbias):
    """dy2[o, n*P + p] = dy[n, o, p]; dbias[o] += sum over n, p (dbias may be empty)."""
    n_, o_, p_ = dy.shape
    has_bias = dbias.shape[0] > 0
    for o in range(o_):
        acc = 0.0
        for n in range(n_):
            for p in range(p_):
                v = dy[n, o, p]
                dy2[o, n * p_ + p] = v
                acc += v
        if has_bias:
            dbias[o] += acc
