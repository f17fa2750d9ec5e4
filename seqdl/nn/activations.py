"""Activation layers: ReLU, Tanh, Sigmoid (elementwise, in Numba) and Softmax."""

from __future__ import annotations

import numpy as np

from .base import Layer
from .kernels import elementwise as k


class _Elementwise(Layer):
    """y = f(x) elementwise; the backward pass needs only the output y."""

    _forward = _backward = None

    def forward(self, x, training=False):
        x = np.ascontiguousarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        y = np.empty_like(x)
        type(self)._forward(x.reshape(-1), y.reshape(-1))
        self._y = y
        return y

    def backward(self, grad_out):
        g = np.ascontiguousarray(grad_out, dtype=self._y.dtype)
        dx = np.empty_like(self._y)
        type(self)._backward(self._y.reshape(-1), g.reshape(-1), dx.reshape(-1))
        return dx


class ReLU(_Elementwise):
    """max(x, 0)."""

    _forward, _backward = staticmethod(k.relu_forward), staticmethod(k.relu_backward)


class Tanh(_Elementwise):
    """tanh(x)."""

    _forward, _backward = staticmethod(k.tanh_forward), staticmethod(k.tanh_backward)


class Sigmoid(_Elementwise):
    """1 / (1 + exp(-x))."""

    _forward, _backward = staticmethod(k.sigmoid_forward), staticmethod(k.sigmoid_backward)


class Softmax(Layer):
    """Softmax along ``dim`` (default the last axis). For training, prefer cross-entropy on logits."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = int(dim)

    def config(self) -> dict:
        return {"dim": self.dim}

    def forward(self, x, training=False):
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        moved = np.ascontiguousarray(np.moveaxis(x, self.dim, -1))
        y = np.empty_like(moved)
        k.softmax_rows(moved.reshape(-1, moved.shape[-1]), y.reshape(-1, moved.shape[-1]))
        self._y = y
        return np.moveaxis(y, -1, self.dim)

    def backward(self, grad_out):
        g = np.ascontiguousarray(np.moveaxis(np.asarray(grad_out, dtype=self._y.dtype), self.dim, -1))
        dx = np.empty_like(self._y)
        cols = self._y.shape[-1]
        k.softmax_rows_backward(self._y.reshape(-1, cols), g.reshape(-1, cols), dx.reshape(-1, cols))
        return np.moveaxis(dx, -1, self.dim)
