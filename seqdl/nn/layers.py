"""Dense, Flatten, Dropout and Embedding layers (PyTorch's shapes and defaults)."""

from __future__ import annotations

import math

import numpy as np

from . import init
from ..errors import ShapeError
from .base import DEFAULT_DTYPE, Layer, make_rng
from .kernels.elementwise import dropout_forward, multiply, scatter_add_rows


def default_weight_and_bias(layer: Layer, weight_shape, out_features: int, bias: bool, dtype, rng) -> None:
    """PyTorch's default for Linear and ConvNd: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both."""
    rng = make_rng(rng)
    weight = init.kaiming_uniform(np.empty(weight_shape, dtype=dtype), a=math.sqrt(5.0), rng=rng)
    layer.add_param("weight", weight)
    if bias:
        bound = 1.0 / math.sqrt(init.fans(weight_shape)[0])
        layer.add_param("bias", init.uniform(np.empty(out_features, dtype=dtype), -bound, bound, rng))


class Dense(Layer):
    """Fully connected layer y = x W^T + b on input (*, in_features); weight is (out, in)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=DEFAULT_DTYPE, rng=None):
        super().__init__()
        self.in_features, self.out_features, self.bias = int(in_features), int(out_features), bool(bias)
        default_weight_and_bias(self, (self.out_features, self.in_features), self.out_features, self.bias, dtype, rng)

    def config(self) -> dict:
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.bias}

    @property
    def weight(self) -> np.ndarray:
        """The (out, in) matrix (a subclass may keep it elsewhere, e.g. tied to an embedding)."""
        return self.params["weight"]

    @property
    def weight_grad(self) -> np.ndarray:
        """Where the weight's gradient accumulates."""
        return self.grads["weight"]

    #: ``matmul(a, b, out, accumulate)`` computing ``out (+)= a @ b``, or None for numpy's ``@``. A language
    #: model hands its output layer the recurrent layer's :meth:`~seqdl.nn.recurrent.LSTM.matmul_rows`, so
    #: the output products run on the same threads as the recurrence.
    matmul = None

    def forward(self, x, training=False):
        x = self.cast_input(x)
        self.expect(x, tuple(range(1, 8)), "(*, in_features)", **{f"a{max(x.ndim - 1, 0)}": self.in_features})
        self._x = x.reshape(-1, self.in_features)
        if self.matmul is None:
            y = self._x @ self.weight.T
        else:
            y = np.empty((self._x.shape[0], self.out_features), dtype=np.result_type(self._x, self.weight))
            self.matmul(self._x, self.weight.T, y, False)
        if self.bias:
            y += self.params["bias"]
        return y.reshape(*x.shape[:-1], self.out_features)

    def backward(self, grad_out):
        g = np.ascontiguousarray(grad_out, dtype=self.dtype).reshape(-1, self.out_features)
        if self.matmul is None:
            self.weight_grad[...] += g.T @ self._x
            dx = g @ self.weight
        else:
            self.matmul(g.T, self._x, self.weight_grad, True)
            dx = np.empty((g.shape[0], self.in_features), dtype=np.result_type(g, self.weight))
            self.matmul(g, self.weight, dx, False)
        if self.bias:
            self.grads["bias"] += g.sum(axis=0)
        return dx.reshape(*grad_out.shape[:-1], self.in_features)


class Flatten(Layer):
    """Flatten every axis from ``start_dim`` on into one (torch.nn.Flatten)."""

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = int(start_dim)

    def config(self) -> dict:
        return {"start_dim": self.start_dim}

    def forward(self, x, training=False):
        x = np.asarray(x)
        if x.ndim <= self.start_dim:
            raise ShapeError(f"{self!r} expected input with more than {self.start_dim} axes, got shape {x.shape}")
        self._shape = x.shape
        return x.reshape(*x.shape[:self.start_dim], -1)

    def backward(self, grad_out):
        return grad_out.reshape(self._shape)


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability p and scale the rest by 1/(1-p)."""

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = make_rng(rng)

    def config(self) -> dict:
        return {"p": self.p}

    def forward(self, x, training=False):
        x = np.ascontiguousarray(x)
        if not training or self.p == 0.0:
            self._mask = None
            return x
        u = self.rng.random(x.size, dtype=np.float32 if x.dtype == np.float32 else np.float64)
        y = np.empty_like(x)
        self._mask = np.empty_like(x)
        dropout_forward(x.reshape(-1), u, self.p, 1.0 / (1.0 - self.p), y.reshape(-1), self._mask.reshape(-1))
        return y

    def backward(self, grad_out):
        if self._mask is None:
            return grad_out
        g = np.ascontiguousarray(grad_out, dtype=self._mask.dtype)
        dx = np.empty_like(g)
        multiply(g.reshape(-1), self._mask.reshape(-1), dx.reshape(-1))
        return dx


class Embedding(Layer):
    """Lookup table: integer ids of any shape -> (*, embedding_dim); weight N(0, 1) as torch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=DEFAULT_DTYPE, rng=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        weight = init.normal(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype), rng=make_rng(rng))
        self.add_param("weight", weight)

    def config(self) -> dict:
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim}

    def forward(self, x, training=False):
        ids = np.asarray(x)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"{self!r} expected integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise IndexError(f"{self!r} got ids outside [0, {self.num_embeddings})")
        self._ids = ids
        return self.params["weight"][ids]

    def backward(self, grad_out):
        """Scatter-add into the weight gradient; integer ids have no gradient, so returns None."""
        g = np.ascontiguousarray(grad_out, dtype=self.dtype).reshape(-1, self.embedding_dim)
        scatter_add_rows(self.grads["weight"], np.ascontiguousarray(self._ids.reshape(-1)), g)
        return None
