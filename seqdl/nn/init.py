"""Weight initialisers with torch.nn.init's formulas.

Each fills ``array`` in place from ``rng`` (a seed or numpy Generator) and
returns it. Fans follow torch: for a weight of shape (out, in, *kernel),
fan_in = in * prod(kernel) and fan_out = out * prod(kernel).
"""

from __future__ import annotations

import math

import numpy as np

from .base import make_rng


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as torch.nn.init computes them."""
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need at least 2 dimensions, got shape {tuple(shape)}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch.nn.init.calculate_gain)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _fill(array: np.ndarray, values: np.ndarray) -> np.ndarray:
    array[...] = values
    return array


def uniform(array: np.ndarray, low: float = 0.0, high: float = 1.0, rng=None) -> np.ndarray:
    """U(low, high)."""
    return _fill(array, make_rng(rng).uniform(low, high, array.shape))


def normal(array: np.ndarray, mean: float = 0.0, std: float = 1.0, rng=None) -> np.ndarray:
    """N(mean, std^2)."""
    return _fill(array, make_rng(rng).normal(mean, std, array.shape))


def zeros(array: np.ndarray) -> np.ndarray:
    """All zeros."""
    array.fill(0)
    return array


def xavier_uniform(array: np.ndarray, gain: float = 1.0, rng=None) -> np.ndarray:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(array.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(array, -bound, bound, rng)


def xavier_normal(array: np.ndarray, gain: float = 1.0, rng=None) -> np.ndarray:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(array.shape)
    return normal(array, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def _kaiming_std(shape, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(shape)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform(array: np.ndarray, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng=None) -> np.ndarray:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan) (torch's defaults)."""
    bound = math.sqrt(3.0) * _kaiming_std(array.shape, a, mode, nonlinearity)
    return uniform(array, -bound, bound, rng)


def kaiming_normal(array: np.ndarray, a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu", rng=None) -> np.ndarray:
    """He normal: N(0, std^2) with std = gain / sqrt(fan) (torch's defaults)."""
    return normal(array, 0.0, _kaiming_std(array.shape, a, mode, nonlinearity), rng)


def orthogonal(array: np.ndarray, gain: float = 1.0, rng=None) -> np.ndarray:
    """A (semi-)orthogonal matrix over the array flattened to (rows, rest), times gain.

    As torch: QR of a normal matrix, signs fixed by diag(R) so the result is
    uniformly distributed.
    """
    if array.ndim < 2:
        raise ValueError(f"orthogonal init needs at least 2 dimensions, got shape {array.shape}")
    rows = array.shape[0]
    cols = array.size // rows
    flat = make_rng(rng).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(array, gain * q.reshape(array.shape))
