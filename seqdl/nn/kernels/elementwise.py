"""Numba kernels for activations and dropout on flat (1-D) contiguous arrays.

Callers pass ``a.reshape(-1)`` of C-contiguous arrays; softmax works on a
(rows, classes) view. ``error_model="numpy"`` everywhere: no zero-division
checks in the loops (a division by zero gives inf/NaN as in numpy).
"""

from __future__ import annotations

import math

from numba import njit

from ...kernel_flags import FASTMATH


@njit(cache=True, nogil=True, error_model="numpy")
def relu_forward(x, y):
    """y = max(x, 0); NaN stays NaN (as torch), so a diverging run is caught, not hidden."""
    for i in range(x.shape[0]):
        v = x[i]
        y[i] = 0.0 if v < 0.0 else v


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def relu_backward(y, dy, dx):
    """dx = dy where the output was positive, else 0."""
    for i in range(y.shape[0]):
        dx[i] = dy[i] if y[i] > 0.0 else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def tanh_forward(x, y):
    """y = tanh(x)."""
    for i in range(x.shape[0]):
        y[i] = math.tanh(x[i])


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def tanh_backward(y, dy, dx):
    """dx = dy * (1 - y^2)."""
    for i in range(y.shape[0]):
        dx[i] = dy[i] * (1.0 - y[i] * y[i])


@njit(cache=True, nogil=True, error_model="numpy")
def sigmoid_forward(x, y):
    """y = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
    for i in range(x.shape[0]):
        v = x[i]
        if v >= 0.0:
            y[i] = 1.0 / (1.0 + math.exp(-v))
        else:
            e = math.exp(v)
            y[i] = e / (1.0 + e)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def sigmoid_backward(y, dy, dx):
    """dx = dy * y * (1 - y)."""
    for i in range(y.shape[0]):
        dx[i] = dy[i] * y[i] * (1.0 - y[i])


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def dropout_forward(x, u, p, scale, y, mask):
    """Inverted dropout: keep where u >= p and scale kept values by 1/(1-p)."""
    for i in range(x.shape[0]):
        m = scale if u[i] >= p else 0.0
        mask[i] = m
        y[i] = x[i] * m


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def multiply(a, b, out):
    """out = a * b elementwise."""
    for i in range(a.shape[0]):
        out[i] = a[i] * b[i]


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_row(x, r, y):
    """y[r] = softmax(x[r]), shifted by the row max; returns log(sum(exp(x[r])))."""
    cols = x.shape[1]
    m = x[r, 0]
    for c in range(1, cols):
        if x[r, c] > m:
            m = x[r, c]
    total = 0.0
    for c in range(cols):
        e = math.exp(x[r, c] - m)
        y[r, c] = e
        total += e
    inv = 1.0 / total
    for c in range(cols):
        y[r, c] *= inv
    return m + math.log(total)


@njit(cache=True, nogil=True, error_model="numpy")
def softmax_rows(x, y):
    """y[r] = softmax(x[r]) for each row of a 2-D array."""
    for r in range(x.shape[0]):
        softmax_row(x, r, y)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def softmax_rows_backward(y, dy, dx):
    """dx[r] = y[r] * (dy[r] - <dy[r], y[r]>)."""
    rows, cols = y.shape
    for r in range(rows):
        dot = 0.0
        for c in range(cols):
            dot += dy[r, c] * y[r, c]
        for c in range(cols):
            dx[r, c] = y[r, c] * (dy[r, c] - dot)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def scatter_add_rows(target, index, rows):
    """target[index[r]] += rows[r] for every row r (repeated indices accumulate); np.add.at, ~10x faster."""
    cols = rows.shape[1]
    for r in range(index.shape[0]):
        t = index[r]
        for c in range(cols):
            target[t, c] += rows[r, c]
