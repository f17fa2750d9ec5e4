"""Batch normalisation with running statistics (torch.nn.BatchNorm1d/2d semantics).

In training the batch mean and biased variance normalise the input, and the
running estimates move by ``momentum`` towards the batch mean and the
*unbiased* batch variance; out of training the running estimates are used.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .base import DEFAULT_DTYPE, Layer


class _BatchNorm(Layer):
    ndims: tuple[int, ...] = ()
    layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, dtype=DEFAULT_DTYPE):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        self.add_param("weight", np.ones(self.num_features, dtype=dtype))
        self.add_param("bias", np.zeros(self.num_features, dtype=dtype))
        self.buffers["running_mean"] = np.zeros(self.num_features, dtype=dtype)
        self.buffers["running_var"] = np.ones(self.num_features, dtype=dtype)

    def config(self) -> dict:
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum}

    def forward(self, x, training=False):
        x = self.cast_input(x)
        self.expect(x, self.ndims, self.layout, a1=self.num_features)
        x3 = x.reshape(x.shape[0], self.num_features, -1)
        count = x3.shape[0] * x3.shape[2]
        if training:
            if count < 2:
                raise ShapeError(f"{self!r} needs more than one value per channel in training, got {x.shape}")
            mean = x3.mean(axis=(0, 2))
            var = x3.var(axis=(0, 2))
            m = self.momentum
            self.buffers["running_mean"] *= 1.0 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1.0 - m
            self.buffers["running_var"] += (m * count / (count - 1)) * var
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        xhat = (x3 - mean[None, :, None]) * inv_std[None, :, None]
        self._xhat, self._inv_std, self._training = xhat, inv_std, training
        y = xhat * self.params["weight"][None, :, None] + self.params["bias"][None, :, None]
        return y.reshape(x.shape)

    def backward(self, grad_out):
        xhat = self._xhat
        g = np.asarray(grad_out, dtype=self.dtype).reshape(xhat.shape)
        self.grads["weight"] += (g * xhat).sum(axis=(0, 2))
        self.grads["bias"] += g.sum(axis=(0, 2))
        dxhat = g * (self.params["weight"] * self._inv_std)[None, :, None]
        if not self._training:
            return dxhat.reshape(grad_out.shape)
        mean_d = dxhat.mean(axis=(0, 2), keepdims=True)
        mean_dx = (dxhat * xhat).mean(axis=(0, 2), keepdims=True)
        return (dxhat - mean_d - xhat * mean_dx).reshape(grad_out.shape)


class BatchNorm1D(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L), one weight/bias and running mean/var per channel C."""

    ndims = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2D(_BatchNorm):
    """Batch norm over (N, C, H, W), one weight/bias and running mean/var per channel C."""

    ndims = (4,)
    layout = "(N, C, H, W)"
