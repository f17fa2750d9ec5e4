"""LSTM and RNN: float64 gradient checks, truncated-BPTT state, and agreement with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl.errors import ShapeError
from seqdl.nn import gradcheck
from seqdl.nn.gradcheck import _numeric
from seqdl.nn.recurrent import LSTM, RNN
from seqdl.nn.recurrent_kernels import lstm_step_forward


def _layer(kind, f, h, seed, **kw):
    cls = LSTM if kind == "lstm" else RNN
    return cls(f, h, dtype=np.float64, rng=seed, **kw)


@pytest.mark.parametrize("kind,kw", [("lstm", {}), ("lstm", {"bias": False}), ("rnn", {}),
                                     ("rnn", {"nonlinearity": "relu"})])
def test_gradients_match_finite_differences(kind, kw):
    rng = np.random.default_rng(1)
    layer = _layer(kind, 3, 4, 2, **kw)
    x = rng.standard_normal((2, 5, 3))
    assert gradcheck(layer, x) < 1e-6


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_gradient_reaches_the_given_initial_state(kind):
    rng = np.random.default_rng(3)
    layer = _layer(kind, 2, 3, 4)
    x = rng.standard_normal((2, 4, 2))
    state = [rng.standard_normal((2, 3)) for _ in range(layer.state_size)]
    projection = rng.standard_normal((2, 4, 3))

    def loss():
        return float(np.sum(layer.forward(x, state=state) * projection))

    loss()
    layer.backward(projection)
    for s, analytic in zip(state, layer.grad_state):
        numeric = _numeric(loss, s, 1e-6, np.arange(s.size)).reshape(s.shape)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_carried_state_equals_one_long_sequence():
    """Truncated BPTT: two halves fed with the carried state give the whole sequence's outputs."""
    rng = np.random.default_rng(5)
    layer = LSTM(3, 6, dtype=np.float64, rng=0)
    x = rng.standard_normal((2, 10, 3))
    whole = layer.forward(x)
    first = layer.forward(x[:, :4])
    second = layer.forward(x[:, 4:], state=layer.final_state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)
    np.testing.assert_allclose(layer.final_state[0], whole[:, -1], rtol=1e-12)


def test_parameter_names_and_shapes_follow_torch():
    lstm = LSTM(5, 7)
    assert {k: v.shape for k, v in lstm.params.items()} == {
        "weight_ih": (28, 5), "weight_hh": (28, 7), "bias_ih": (28,), "bias_hh": (28,)}
    assert lstm.params["weight_ih"].dtype == np.float32
    bound = 1 / np.sqrt(7)
    assert all(np.abs(p).max() <= bound for p in lstm.params.values())
    assert set(RNN(5, 7, bias=False).params) == {"weight_ih", "weight_hh"}


def test_wrong_shapes_are_refused():
    lstm = LSTM(3, 4)
    with pytest.raises(ShapeError):
        lstm.forward(np.zeros((2, 5, 4)))
    with pytest.raises(ShapeError):
        lstm.forward(np.zeros((2, 5, 3)), state=(np.zeros((2, 4)),))
    with pytest.raises(ValueError):
        RNN(3, 4, nonlinearity="sigmoid")


def test_float32_fast_activations_are_accurate():
    """The vectorised float32 tanh/sigmoid used in the gate kernel stay within a few ulp-scale errors."""
    x = np.linspace(-20, 20, 4001).astype(np.float32)
    gates = np.concatenate([x[:, None]] * 4, axis=1).reshape(-1, 4).astype(np.float32)
    n = gates.shape[0]
    c_prev = np.zeros((n, 1), np.float32)
    c, h, tanh_c = (np.empty((n, 1), np.float32) for _ in range(3))
    activated = gates.copy()
    lstm_step_forward(activated, np.zeros_like(gates), c_prev, c, h, tanh_c)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(activated[:, 0], 1 / (1 + np.exp(-x64)), atol=3e-7)
    np.testing.assert_allclose(activated[:, 2], np.tanh(x64), atol=3e-7)


# -- PyTorch ------------------------------------------------------------------

def _torch_module(layer, torch):
    f, h = layer.input_size, layer.hidden_size
    if isinstance(layer, LSTM):
        module = torch.nn.LSTM(f, h, bias=layer.bias, batch_first=True)
    else:
        module = torch.nn.RNN(f, h, nonlinearity=layer.nonlinearity, bias=layer.bias, batch_first=True)
    module = module.double()
    with torch.no_grad():
        for name, value in layer.params.items():
            getattr(module, f"{name}_l0").copy_(torch.from_numpy(value))
    return module


@pytest.mark.parametrize("kind,seed", [("lstm", 0), ("lstm", 1), ("rnn", 2), ("relu", 3)])
def test_matches_torch_outputs_and_gradients(kind, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    n, steps, f, h = (int(v) for v in rng.integers(1, 7, 4))
    bias = bool(rng.integers(0, 2))
    if kind == "lstm":
        layer = LSTM(f, h, bias=bias, dtype=np.float64, rng=seed)
    else:
        layer = RNN(f, h, nonlinearity="relu" if kind == "relu" else "tanh", bias=bias, dtype=np.float64, rng=seed)
    module = _torch_module(layer, torch)
    x = rng.standard_normal((n, steps, f))
    state = [rng.standard_normal((n, h)) for _ in range(layer.state_size)]
    grad_out = rng.standard_normal((n, steps, h))

    xt = torch.from_numpy(x).requires_grad_()
    st = [torch.from_numpy(s[None]).requires_grad_() for s in state]
    out_t, _ = module(xt, tuple(st) if kind == "lstm" else st[0])
    out_t.backward(torch.from_numpy(grad_out))

    out = layer.forward(x, state=state)
    dx = layer.backward(grad_out)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for ours, theirs in zip(layer.grad_state, st):
        np.testing.assert_allclose(ours, theirs.grad.numpy()[0], rtol=1e-9, atol=1e-12)
    for name, grad in layer.grads.items():
        np.testing.assert_allclose(grad, getattr(module, f"{name}_l0").grad.numpy(), rtol=1e-9, atol=1e-12)


def test_float32_lstm_tracks_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    layer = LSTM(8, 16, rng=0)
    module = _torch_module(layer, torch).float()
    x = rng.standard_normal((4, 12, 8)).astype(np.float32)
    grad_out = rng.standard_normal((4, 12, 16)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    out_t, _ = module(xt)
    out_t.backward(torch.from_numpy(grad_out))
    np.testing.assert_allclose(layer.forward(x), out_t.detach().numpy(), atol=2e-6)
    np.testing.assert_allclose(layer.backward(grad_out), xt.grad.numpy(), atol=2e-5)
    np.testing.assert_allclose(layer.grads["weight_hh"], module.weight_hh_l0.grad.numpy(), atol=1e-4)


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_worker_threads_give_the_same_results(cls):
    """Batch rows split over threads: same outputs, input and parameter gradients as one thread."""
    rng = np.random.default_rng(11)
    single, threaded = cls(3, 5, dtype=np.float64, rng=0), cls(3, 5, dtype=np.float64, rng=0, workers=3)
    x = rng.standard_normal((13, 6, 3))
    grad_out = rng.standard_normal((13, 6, 5))
    np.testing.assert_allclose(threaded.forward(x), single.forward(x), rtol=1e-13)
    np.testing.assert_allclose(threaded.backward(grad_out), single.backward(grad_out), rtol=1e-12)
    for name, grad in single.grads.items():
        np.testing.assert_allclose(threaded.grads[name], grad, rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(threaded.grad_state, single.grad_state):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
