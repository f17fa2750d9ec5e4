"""Max and average pooling in 1-D and 2-D (floor mode, as PyTorch's defaults).

``padding`` pads each side as torch: with -inf for max pooling (a padded
cell never wins) and with zeros counted in the mean for average pooling
(torch's ``count_include_pad=True``). It is at most half the kernel size.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .base import Layer
from .conv import _pair
from .kernels.pool import (avg_pool_backward, avg_pool_forward, max_pool_2x2_forward, max_pool_backward,
                           max_pool_forward)


class _Pool(Layer):
    """Shared machinery; 1-D pooling runs as 2-D with height 1."""

    dims = 2
    layout = "(N, C, H, W)"

    #: Value the input is padded with.
    pad_value = 0.0

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", self.dims)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", self.dims)
        self.padding = _pair(padding, "padding", self.dims)
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise ValueError(f"kernel_size and stride must be positive, got {kernel_size!r} and {stride!r}")
        if any(p < 0 or 2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"padding must be between 0 and half the kernel size, got {padding!r}")

    def config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding)}

    def _pad(self, x4):
        ph, pw = (0,) * (2 - self.dims) + self.padding
        self._pads = (ph, pw)
        if not ph and not pw:
            return x4
        return np.pad(x4, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=self.pad_value)

    def _crop(self, dx):
        ph, pw = self._pads
        return np.ascontiguousarray(dx[:, :, ph:dx.shape[2] - ph, pw:dx.shape[3] - pw]) if ph or pw else dx

    def _prepare(self, x):
        x = np.ascontiguousarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        self.expect(x, self.dims + 2, self.layout)
        x4 = self._pad(x if self.dims == 2 else x[:, :, None, :])
        kh, kw = (1,) * (2 - self.dims) + self.kernel_size
        sh, sw = (1,) * (2 - self.dims) + self.stride
        h, w = x4.shape[2:]
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        if h < kh or w < kw:
            raise ShapeError(f"{self!r} expected a spatial size of at least {self.kernel_size}, "
                             f"got {x.shape[2:]}")
        self._x_shape = x4.shape
        return x4, kh, kw, sh, sw, np.empty((*x4.shape[:2], oh, ow), dtype=x.dtype)

    def _output(self, y):
        return y if self.dims == 2 else y[:, :, 0, :]

    def _grad4(self, grad_out):
        g = np.ascontiguousarray(grad_out, dtype=self._dtype_seen)
        return g if self.dims == 2 else g[:, :, None, :]


class _MaxPool(_Pool):
    pad_value = -np.inf

    def forward(self, x, training=False):
        x4, kh, kw, sh, sw, y = self._prepare(x)
        self._argmax = np.empty(y.shape, dtype=np.int64)
        if (kh, kw, sh, sw) == (2, 2, 2, 2):
            max_pool_2x2_forward(x4, y, self._argmax)
        else:
            max_pool_forward(x4, kh, kw, sh, sw, y, self._argmax)
        self._dtype_seen = y.dtype
        return self._output(y)

    def backward(self, grad_out):
        dx = np.empty(self._x_shape, dtype=self._dtype_seen)
        max_pool_backward(self._grad4(grad_out), self._argmax, dx)
        return self._output(self._crop(dx))


class _AvgPool(_Pool):
    def forward(self, x, training=False):
        x4, kh, kw, sh, sw, y = self._prepare(x)
        self._window = (kh, kw, sh, sw)
        avg_pool_forward(x4, kh, kw, sh, sw, y)
        self._dtype_seen = y.dtype
        return self._output(y)

    def backward(self, grad_out):
        dx = np.empty(self._x_shape, dtype=self._dtype_seen)
        avg_pool_backward(self._grad4(grad_out), *self._window, dx)
        return self._output(self._crop(dx))


class MaxPool2D(_MaxPool):
    """Max over kernel_size windows of (N, C, H, W); stride defaults to kernel_size."""


class MaxPool1D(_MaxPool):
    """Max over kernel_size windows of (N, C, L); stride defaults to kernel_size."""

    dims = 1
    layout = "(N, C, L)"


class AvgPool2D(_AvgPool):
    """Mean over kernel_size windows of (N, C, H, W); stride defaults to kernel_size."""


class AvgPool1D(_AvgPool):
    """Mean over kernel_size windows of (N, C, L); stride defaults to kernel_size."""

    dims = 1
    layout = "(N, C, L)"
