"""A matrix product for a few rows, where BLAS is slow: decoding's one step for a few beams or samples.

OpenBLAS (SkylakeX kernels, one thread) takes 114 us for ``h @ W^T`` with 5
rows of h and W of 1024 x 256 (float32), as long as for 8 rows; this kernel
takes 45 us for 5 rows and 18 us for one (BLAS's gemv: 25 us), and 168
against 386 us for 5 rows at 2048 x 512. Beyond about 8 rows BLAS is faster.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...kernel_flags import FASTMATH

__all__ = ["MAX_ROWS", "rows_times_transpose", "times_transpose"]

#: The most rows for which :func:`rows_times_transpose` beats BLAS (measured at H = 256 and 512).
MAX_ROWS = 8


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def rows_times_transpose(a, w, out):
    """``out = a @ w.T`` for a (n, k), w (m, k), out (n, m), all C-contiguous, n small.

    Blocks of four rows of ``w`` by two rows of ``a`` keep eight sums in
    registers, so each element of ``w`` read serves two rows. An odd last row
    is paired with itself rather than handled by other code: every element's
    sum runs in an order that depends on its column alone, never on ``n``, so
    a row gives the same bits stepped alone as in a batch.
    """
    n, k = a.shape
    m = w.shape[0]
    blocked = m - m % 4
    for j in range(0, blocked, 4):
        for i in range(0, n, 2):
            i2 = i + 1 if i + 1 < n else i
            a0 = np.float32(0.0)
            a1 = np.float32(0.0)
            a2 = np.float32(0.0)
            a3 = np.float32(0.0)
            b0 = np.float32(0.0)
            b1 = np.float32(0.0)
            b2 = np.float32(0.0)
            b3 = np.float32(0.0)
            for t in range(k):
                x = a[i, t]
                y = a[i2, t]
                w0 = w[j, t]
                w1 = w[j + 1, t]
                w2 = w[j + 2, t]
                w3 = w[j + 3, t]
                a0 += w0 * x
                a1 += w1 * x
                a2 += w2 * x
                a3 += w3 * x
                b0 += w0 * y
                b1 += w1 * y
                b2 += w2 * y
                b3 += w3 * y
            out[i, j] = a0
            out[i, j + 1] = a1
            out[i, j + 2] = a2
            out[i, j + 3] = a3
            out[i2, j] = b0
            out[i2, j + 1] = b1
            out[i2, j + 2] = b2
            out[i2, j + 3] = b3
    for j in range(blocked, m):
        for i in range(n):
            s = np.float32(0.0)
            for t in range(k):
                s += w[j, t] * a[i, t]
            out[i, j] = s


def times_transpose(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``a @ w.T`` as a new array: :func:`rows_times_transpose` for at most :data:`MAX_ROWS` rows of ``w``'s
    dtype (``w`` C-contiguous), BLAS otherwise."""
    if a.shape[0] <= MAX_ROWS and w.flags.c_contiguous and a.dtype == w.dtype:
        out = np.empty((a.shape[0], w.shape[0]), dtype=w.dtype)
        rows_times_transpose(np.ascontiguousarray(a), w, out)
        return out
    return a @ w.T
