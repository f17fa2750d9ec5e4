"""Numba kernels for the losses: stable forms that never overflow exp."""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def bce_with_logits(x, y, scale, grad):
    """Sum of max(x, 0) - x*y + log1p(exp(-|x|)); grad = scale * (sigmoid(x) - y)."""
    total = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        a = -v if v < 0.0 else v
        total += (v if v > 0.0 else 0.0) - v * y[i] + math.log1p(math.exp(-a))
        if v >= 0.0:
            s = 1.0 / (1.0 + math.exp(-v))
        else:
            e = math.exp(v)
            s = e / (1.0 + e)
        grad[i] = scale * (s - y[i])
    return total
