"""Gradient checking by centred finite differences in float64.

:func:`gradcheck` compares a layer's (or a model's, or a loss's) analytic
gradients with ``(f(v + eps) - f(v - eps)) / (2 eps)`` for every input and
parameter element, and returns the largest relative error
``||analytic - numeric|| / (||analytic|| + ||numeric||)`` over the arrays
checked. Below about 1e-6 the backward pass is right.
"""

from __future__ import annotations

import copy

import numpy as np

from .losses import Loss


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0.0 else float(np.linalg.norm(analytic - numeric) / scale)


def numeric_gradient(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d ``array`` by centred differences: each element perturbed in place by +-eps, then restored."""
    return _numeric(f, array, eps, np.arange(array.size)).reshape(array.shape)


def _with_children(layers):
    """The layers and, depth first, every layer inside a container (for their random generators)."""
    for layer in layers:
        yield layer
        children = getattr(layer, "children", None)
        if callable(children):
            yield from _with_children(children())


def _numeric(f, array: np.ndarray, eps: float, indices) -> np.ndarray:
    flat = array.reshape(-1)
    out = np.empty(len(indices))
    for k, i in enumerate(indices):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        out[k] = (plus - minus) / (2.0 * eps)
    return out


def _indices(size: int, max_checks: int | None, rng) -> np.ndarray:
    if max_checks is None or size <= max_checks:
        return np.arange(size)
    return rng.choice(size, max_checks, replace=False)


def _check_loss(loss: Loss, x: np.ndarray, targets, eps, max_checks, rng) -> float:
    x = np.array(x, dtype=np.float64)
    if np.issubdtype(np.asarray(targets).dtype, np.floating):
        targets = np.asarray(targets, dtype=np.float64)
    _, grad = loss(x, targets)
    idx = _indices(x.size, max_checks, rng)
    numeric = _numeric(lambda: loss(x, targets)[0], x, eps, idx)
    return _relative_error(grad.reshape(-1)[idx], numeric)


def gradcheck(target, x, targets=None, *, training: bool = True, eps: float = 1e-6,
              max_checks: int | None = None, seed: int = 0) -> float:
    """Largest relative error between analytic and numeric gradients, in float64.

    ``target`` is a layer, a model with ``.layers``, or a :class:`~seqdl.nn.losses.Loss`
    (then ``targets`` are its targets). For a layer the scalar checked is
    ``sum(forward(x) * R)`` with a fixed random R, covering the input
    gradient (unless x holds integer ids) and every parameter. The target is
    copied, so the caller's layer keeps its dtype and state; a layer's
    ``rng`` is replayed so dropout masks match between evaluations.
    ``max_checks`` limits the elements checked per array (chosen at random).
    A target whose ``forward`` returns ``(output, state)`` is checked on its output.
    """
    rng = np.random.default_rng(seed)
    if isinstance(target, Loss):
        return _check_loss(target, x, targets, eps, max_checks, rng)
    model = copy.deepcopy(target)
    layers = list(getattr(model, "layers", [model]))
    for layer in layers:
        layer.astype(np.float64)
    if hasattr(model, "astype") and model not in layers:
        model.astype(np.float64)
    generators = {id(layer.rng): layer.rng for layer in _with_children(layers)
                  if isinstance(getattr(layer, "rng", None), np.random.Generator)}
    rng_states = [(generator, copy.deepcopy(generator.bit_generator.state)) for generator in generators.values()]
    x = np.array(x)
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)

    def run():
        for generator, state in rng_states:
            generator.bit_generator.state = copy.deepcopy(state)
        out = model.forward(x, training=training)
        return out[0] if isinstance(out, tuple) else out  # recurrent layers return (output, state)

    projection = rng.standard_normal(np.shape(run()))

    def f():
        return float(np.sum(run() * projection))

    for layer in layers:
        layer.zero_grad()
    run()
    dx = model.backward(projection.copy())
    errors = []
    if np.issubdtype(x.dtype, np.floating):
        idx = _indices(x.size, max_checks, rng)
        errors.append(_relative_error(np.asarray(dx).reshape(-1)[idx], _numeric(f, x, eps, idx)))
    for layer in layers:
        for name, param in layer.params.items():
            idx = _indices(param.size, max_checks, rng)
            analytic = layer.grads[name].reshape(-1)[idx].copy()
            errors.append(_relative_error(analytic, _numeric(f, param, eps, idx)))
    return max(errors, default=0.0)
