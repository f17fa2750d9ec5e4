"""Gradient clipping agrees with torch.nn.utils and scales all layers together."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqdl.nn import Dense
from seqdl.nn.clip import clip_grad_norm, clip_grad_value


def _layers_with_grads(seed, scale):
    rng = np.random.default_rng(seed)
    layers = [Dense(3, 4, dtype=np.float64, rng=0), Dense(4, 2, dtype=np.float64, rng=1)]
    for layer in layers:
        for g in layer.grads.values():
            g[...] = rng.standard_normal(g.shape) * scale
    return layers


def _flat(layers):
    return np.concatenate([g.reshape(-1) for layer in layers for g in layer.grads.values()])


@pytest.mark.parametrize("scale,norm_type", [(10.0, 2.0), (0.01, 2.0), (3.0, math.inf), (3.0, 1.0)])
def test_clip_grad_norm_matches_torch(scale, norm_type):
    torch = pytest.importorskip("torch")
    layers = _layers_with_grads(0, scale)
    tensors = []
    for layer in layers:
        for g in layer.grads.values():
            t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
            t.grad = torch.from_numpy(g.copy())
            tensors.append(t)
    expected_norm = float(torch.nn.utils.clip_grad_norm_(tensors, 1.5, norm_type=norm_type))
    norm = clip_grad_norm(layers, 1.5, norm_type=norm_type)
    assert norm == pytest.approx(expected_norm, rel=1e-12)
    np.testing.assert_allclose(_flat(layers), np.concatenate([t.grad.numpy().reshape(-1) for t in tensors]),
                               rtol=1e-12)


def test_clip_grad_norm_rescales_to_max_norm_and_keeps_direction():
    layers = _layers_with_grads(1, 10.0)
    before = _flat(layers)
    total = clip_grad_norm(layers, 5.0)
    after = _flat(layers)
    assert total == pytest.approx(np.linalg.norm(before))
    assert np.linalg.norm(after) == pytest.approx(5.0, rel=1e-6)
    np.testing.assert_allclose(after / np.linalg.norm(after), before / np.linalg.norm(before))


def test_non_finite_norm_is_reported_and_nothing_scaled():
    layers = _layers_with_grads(2, 1.0)
    layers[0].grads["weight"][0, 0] = np.nan
    before = _flat(layers)
    assert math.isnan(clip_grad_norm(layers, 1.0))
    np.testing.assert_array_equal(_flat(layers), before)


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    layers = _layers_with_grads(3, 2.0)
    tensors = [torch.from_numpy(_flat(layers).copy())]
    t = torch.zeros_like(tensors[0], requires_grad=True)
    t.grad = tensors[0]
    torch.nn.utils.clip_grad_value_([t], 0.7)
    clip_grad_value(layers, 0.7)
    np.testing.assert_array_equal(_flat(layers), t.grad.numpy())
    assert np.abs(_flat(layers)).max() == pytest.approx(0.7)
