"""Gradient clipping with torch.nn.utils' semantics, in place on layers' ``grads``.

``layers`` is a model with ``.layers``, one layer, or an iterable of layers.
"""

from __future__ import annotations

import math

import numpy as np


def _gradients(layers) -> list[np.ndarray]:
    layers = getattr(layers, "layers", layers)
    if hasattr(layers, "grads"):
        layers = [layers]
    return [grad for layer in layers for grad in layer.grads.values()]


def clip_grad_norm(layers, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so their global norm is at most ``max_norm``; return the norm before.

    As ``torch.nn.utils.clip_grad_norm_``: the norm is taken over all
    gradients as one vector (``norm_type`` 2, any p >= 1, or ``inf``) and the
    gradients are multiplied by ``max_norm / (norm + 1e-6)`` when that is
    below 1. A non-finite norm is returned unchanged and nothing is scaled,
    so the caller can report it.
    """
    grads = _gradients(layers)
    norm_type = float(norm_type)
    if not grads:
        return 0.0
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in grads))
    else:
        total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads) ** (1.0 / norm_type)
    if not math.isfinite(total):
        return total
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= g.dtype.type(coef)
    return total


def clip_grad_value(layers, clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] (torch.nn.utils.clip_grad_value_)."""
    clip_value = float(clip_value)
    for g in _gradients(layers):
        np.clip(g, -clip_value, clip_value, out=g)
