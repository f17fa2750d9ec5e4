"""Numba kernels for 2-D convolution by im2col + GEMM (1-D runs as H = 1).

Layout: ``cols`` is (C*KH*KW, N*OH*OW), so the forward pass is one GEMM
``W(OC, C*KH*KW) @ cols`` giving (OC, N*OH*OW), which :func:`gemm_to_nchw`
scatters into (N, OC, OH, OW) while adding the bias. Padding is given as the
top/left amount only; positions past the bottom/right edge read as zero, which
also covers PyTorch's asymmetric "same" padding for even kernels.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def im2col(x, kh, kw, sh, sw, ph, pw, oh, ow, cols):
    """Unfold x (N, C, H, W) into cols (C*KH*KW, N*OH*OW)."""
    n_, c_, h_, w_ = x.shape
    p_ = oh * ow
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for n in range(n_):
                    base = n * p_
                    for y in range(oh):
                        iy = y * sh - ph + i
                        dst = base + y * ow
                        if iy < 0 or iy >= h_:
                            for xo in range(ow):
                                cols[row, dst + xo] = 0.0
                            continue
                        for xo in range(ow):
                            ix = xo * sw - pw + j
                            if 0 <= ix < w_:
                                cols[row, dst + xo] = x[n, c, iy, ix]
                            else:
                                cols[row, dst + xo] = 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def col2im(dcols, kh, kw, sh, sw, ph, pw, oh, ow, dx):
    """Fold dcols (C*KH*KW, N*OH*OW) back into dx (N, C, H, W), summing overlaps."""
    n_, c_, h_, w_ = dx.shape
    p_ = oh * ow
    dx[...] = 0.0
    for c in range(c_):
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j
                for n in range(n_):
                    base = n * p_
                    for y in range(oh):
                        iy = y * sh - ph + i
                        if iy < 0 or iy >= h_:
                            continue
                        src = base + y * ow
                        for xo in range(ow):
                            ix = xo * sw - pw + j
                            if 0 <= ix < w_:
                                dx[n, c, iy, ix] += dcols[row, src + xo]


@njit(cache=True, nogil=True, error_model="numpy", fastmath=True)
def gemm_to_nchw(out2, bias, y):
    """y[n, o, p] = out2[o, n*P + p] + bias[o] (bias may be empty)."""
    n_, o_, p_ = y.shape
    has_bias = bias.shape[0] > 0
    for n in range(n_):
        for o in range(o_):
            b = bias[o] if has_bias else 0.0
            for p in range(p_):
                y[n, o, p] = out2[o, n * p_ + p] + b


@njit(cache=True, nogil=True, error_model="numpy", fastmath=True)
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
