"""LSTM, GRU and RNN: float64 gradient checks, truncated-BPTT state, dropout, and agreement with PyTorch."""

from __future__ import annotations

import os

import numpy as np
import pytest

from seqdl.errors import ParameterError, SeqdlError, ShapeError
from seqdl.nn import GRU, LSTM, RNN, Layer, gradcheck
from seqdl.nn.gradcheck import numeric_gradient
from seqdl.nn.kernels.blas import kernel_packs
from seqdl.nn.kernels.recurrent import lstm_step_forward
from seqdl.nn.recurrent import _unit_threads

KINDS = {"lstm": (LSTM, {}), "gru": (GRU, {}), "rnn": (RNN, {}), "relu": (RNN, {"nonlinearity": "relu"})}


def _layer(kind, f, h, seed, **kw):
    cls, extra = KINDS[kind]
    return cls(f, h, dtype=np.float64, rng=seed, **extra, **kw)


def _random_state(layer, n, rng):
    parts = [rng.standard_normal((layer.num_layers, n, layer.hidden_size)) for _ in range(layer.state_size)]
    return tuple(parts) if layer.state_size == 2 else parts[0]


def _parts(state):
    return state if isinstance(state, tuple) else (state,)


class _OutputOnly(Layer):
    """Adapter for gradcheck: the recurrent layer's output, from a fixed initial state."""

    def __init__(self, inner, state=None):
        super().__init__()
        self.inner, self.state = inner, state
        self.params, self.grads = inner.params, inner.grads
        self.rng = inner.rng

    def astype(self, dtype):
        self.inner.astype(dtype)
        self.params, self.grads = self.inner.params, self.inner.grads
        return self

    def forward(self, x, training=False):
        return self.inner.forward(x, self.state, training=training)[0]

    def backward(self, grad_out):
        return self.inner.backward(grad_out)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("layers,bias", [(1, True), (2, False), (2, True)])
def test_gradients_match_finite_differences(kind, layers, bias):
    rng = np.random.default_rng(1)
    layer = _layer(kind, 3, 4, 2, num_layers=layers, bias=bias)
    x = rng.standard_normal((2, 4, 3))
    assert gradcheck(_OutputOnly(layer, _random_state(layer, 2, rng)), x) < 1e-6


def test_dropout_between_layers_is_gradient_checked_with_its_masks_replayed():
    rng = np.random.default_rng(2)
    layer = _layer("gru", 3, 5, 0, num_layers=3, dropout=0.4)
    assert gradcheck(_OutputOnly(layer), rng.standard_normal((3, 4, 3)), training=True) < 1e-6


def test_dropout_only_when_training_and_only_between_layers():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, 3))
    one = _layer("lstm", 3, 5, 0, dropout=0.5)
    plain = _layer("lstm", 3, 5, 0)
    np.testing.assert_array_equal(one.forward(x, training=True)[0], plain.forward(x)[0])
    two = _layer("lstm", 3, 5, 0, num_layers=2, dropout=0.5)
    assert not np.allclose(two.forward(x, training=True)[0], two.forward(x)[0])
    np.testing.assert_array_equal(two.forward(x)[0], two.forward(x)[0])


@pytest.mark.parametrize("kind", list(KINDS))
def test_gradient_reaches_the_given_initial_state(kind):
    rng = np.random.default_rng(3)
    layer = _layer(kind, 2, 3, 4, num_layers=2)
    x = rng.standard_normal((2, 4, 2))
    state = _random_state(layer, 2, rng)
    projection = rng.standard_normal((2, 4, 3))
    final_projection = [rng.standard_normal(s.shape) for s in _parts(state)]

    def loss():
        out, final = layer.forward(x, state)
        return float(np.sum(out * projection) + sum(np.sum(f * p) for f, p in zip(_parts(final), final_projection)))

    loss()
    grad_state = tuple(final_projection) if layer.state_size == 2 else final_projection[0]
    layer.backward(projection, grad_state)
    for s, analytic in zip(_parts(state), _parts(layer.grad_state)):
        numeric = numeric_gradient(loss, s)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_carried_state_equals_one_long_sequence(kind):
    """Truncated BPTT: two halves fed with the carried state give the whole sequence's outputs."""
    rng = np.random.default_rng(5)
    layer = _layer(kind, 3, 6, 0, num_layers=2)
    x = rng.standard_normal((2, 10, 3))
    whole, final = layer.forward(x)
    first, mid = layer.forward(x[:, :4])
    second, end = layer.forward(x[:, 4:], mid)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)
    for a, b in zip(_parts(end), _parts(final)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(_parts(final)[0][-1], whole[:, -1], rtol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru", "relu"])
def test_cache_free_step_equals_forward(kind):
    rng = np.random.default_rng(6)
    layer = _layer(kind, 3, 4, 1, num_layers=2)
    x = rng.standard_normal((5, 3, 3))
    out, final = layer.forward(x)
    state = None
    for t in range(3):
        h, state = layer.step(x[:, t], state)
        np.testing.assert_allclose(h, out[:, t], rtol=1e-12)
    for a, b in zip(_parts(state), _parts(final)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", ["lstm", "gru", "relu"])
def test_writing_into_a_step_output_leaves_its_state_be(kind, layers):
    layer = _layer(kind, 3, 4, 1, num_layers=layers)
    out, state = layer.step(np.ones((2, 3)))
    before = [part.copy() for part in _parts(state)]
    out *= 0
    assert all(np.array_equal(a, b) for a, b in zip(_parts(state), before))


def test_parameter_names_and_shapes_follow_torch():
    lstm = LSTM(5, 7, num_layers=2)
    assert {k: v.shape for k, v in lstm.params.items()} == {
        "weight_ih_l0": (28, 5), "weight_hh_l0": (28, 7), "bias_ih_l0": (28,), "bias_hh_l0": (28,),
        "weight_ih_l1": (28, 7), "weight_hh_l1": (28, 7), "bias_ih_l1": (28,), "bias_hh_l1": (28,)}
    assert lstm.params["weight_ih_l0"].dtype == np.float32
    bound = 1 / np.sqrt(7)
    assert all(np.abs(p).max() <= bound for p in lstm.params.values())
    assert set(RNN(5, 7, bias=False).params) == {"weight_ih_l0", "weight_hh_l0"}
    assert GRU(5, 7).params["weight_hh_l0"].shape == (21, 7)


def test_wrong_shapes_and_values_are_refused():
    lstm = LSTM(3, 4, num_layers=2)
    with pytest.raises(ShapeError):
        lstm.forward(np.zeros((2, 5, 4)))
    with pytest.raises(ShapeError):
        lstm.forward(np.zeros((2, 5, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 2, 4))))
    with pytest.raises(ShapeError):
        GRU(3, 4).forward(np.zeros((2, 5, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 2, 4))))
    with pytest.raises(ParameterError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ParameterError, match="dropout"):
        GRU(3, 4, dropout=1.0)
    with pytest.raises(ParameterError, match="num_layers"):
        LSTM(3, 4, num_layers=0)


def test_float32_fast_activations_are_accurate():
    """The vectorised float32 tanh/sigmoid used in the gate kernel stay within a few ulp-scale errors."""
    x = np.linspace(-20, 20, 4001).astype(np.float32)
    gates = np.concatenate([x[:, None]] * 4, axis=1).reshape(-1, 4).astype(np.float32)
    n = gates.shape[0]
    c_prev = np.zeros((n, 1), np.float32)
    c, h, tanh_c = (np.empty((n, 1), np.float32) for _ in range(3))
    activated = np.empty_like(gates)
    lstm_step_forward(gates, activated, np.zeros_like(gates), c_prev, c, h, tanh_c)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(activated[:, 0], 1 / (1 + np.exp(-x64)), atol=3e-7)
    np.testing.assert_allclose(activated[:, 2], np.tanh(x64), atol=3e-7)


# -- PyTorch ------------------------------------------------------------------

def _torch_module(layer, torch):
    f, h, kw = layer.input_size, layer.hidden_size, {"bias": layer.bias, "num_layers": layer.num_layers}
    if isinstance(layer, LSTM):
        module = torch.nn.LSTM(f, h, batch_first=True, **kw)
    elif isinstance(layer, GRU):
        module = torch.nn.GRU(f, h, batch_first=True, **kw)
    else:
        module = torch.nn.RNN(f, h, nonlinearity=layer.nonlinearity, batch_first=True, **kw)
    module = module.to(torch.float64 if layer.dtype == np.float64 else torch.float32)
    assert set(module.state_dict()) == set(layer.params)
    module.load_state_dict({name: torch.from_numpy(value.copy()) for name, value in layer.params.items()})
    return module


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("layers,bias", [(1, True), (1, False), (2, True), (2, False)])
def test_matches_torch_outputs_states_and_gradients(kind, layers, bias):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(layers * 10 + bias)
    n, steps, f, h = 3, 5, 4, 6
    layer = _layer(kind, f, h, 0, num_layers=layers, bias=bias)
    module = _torch_module(layer, torch)
    x = rng.standard_normal((n, steps, f))
    state = _random_state(layer, n, rng)
    grad_out = rng.standard_normal((n, steps, h))
    grad_final = [rng.standard_normal(s.shape) for s in _parts(state)]

    xt = torch.from_numpy(x).requires_grad_()
    st = [torch.from_numpy(s).requires_grad_() for s in _parts(state)]
    out_t, final_t = module(xt, tuple(st) if kind == "lstm" else st[0])
    final_t = final_t if kind == "lstm" else (final_t,)
    torch.autograd.backward([out_t, *final_t], [torch.from_numpy(grad_out), *map(torch.from_numpy, grad_final)])

    out, final = layer.forward(x, state)
    dx = layer.backward(grad_out, tuple(grad_final) if kind == "lstm" else grad_final[0])
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(_parts(final), final_t):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for ours, theirs in zip(_parts(layer.grad_state), st):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
    parameters = dict(module.named_parameters())
    for name, grad in layer.grads.items():
        np.testing.assert_allclose(grad, parameters[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_float32_tracks_torch(cls):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    layer = cls(8, 16, num_layers=2, rng=0)
    module = _torch_module(layer, torch)
    x = rng.standard_normal((4, 12, 8)).astype(np.float32)
    grad_out = rng.standard_normal((4, 12, 16)).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    out_t, _ = module(xt)
    out_t.backward(torch.from_numpy(grad_out))
    np.testing.assert_allclose(layer.forward(x)[0], out_t.detach().numpy(), atol=2e-6)
    np.testing.assert_allclose(layer.backward(grad_out), xt.grad.numpy(), atol=2e-5)
    np.testing.assert_allclose(layer.grads["weight_hh_l0"], module.weight_hh_l0.grad.numpy(), atol=1e-4)


@pytest.mark.parametrize("threading", ["rows", "blas"])
@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_worker_threads_give_the_same_results(cls, threading):
    """Batch rows split over threads, or BLAS threads: same outputs, input and parameter gradients as one thread."""
    rng = np.random.default_rng(11)
    single = cls(3, 5, 2, dtype=np.float64, rng=0)
    threaded = cls(3, 5, 2, dtype=np.float64, rng=0, workers=3)
    threaded.threading = threading
    x = rng.standard_normal((13, 6, 3))
    grad_out = rng.standard_normal((13, 6, 5))
    np.testing.assert_allclose(threaded.forward(x)[0], single.forward(x)[0], rtol=1e-13)
    np.testing.assert_allclose(threaded.backward(grad_out), single.backward(grad_out), rtol=1e-12)
    for name, grad in single.grads.items():
        np.testing.assert_allclose(threaded.grads[name], grad, rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(_parts(threaded.grad_state), _parts(single.grad_state)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def _unit_threads_available() -> bool:
    """Whether this machine can run unit threads at all (two numba threads, a thread-safe threading layer)."""
    return LSTM(3, 32, rng=0, workers=2).unit_parts() > 1 and _unit_threads() is not None


needs_unit_threads = pytest.mark.skipif("not _unit_threads_available()",
                                        reason="one numba thread, or numba's workqueue threading layer")


@needs_unit_threads
@pytest.mark.parametrize("layers,bias,hidden", [(1, True, 32), (2, False, 32), (1, True, 34)])
def test_unit_threads_give_the_same_results(layers, bias, hidden):
    """The LSTM's hidden units split over numba threads: same outputs, states and gradients as one thread,
    for loops long enough to use them and for a decoder's short ones (34 units: 17 a thread, so a thread's
    68 gate rows are no multiple of the kernels' blocks of 8)."""
    rng = np.random.default_rng(12)
    single = LSTM(3, hidden, layers, bias, dtype=np.float64, rng=0)
    threaded = LSTM(3, hidden, layers, bias, dtype=np.float64, rng=0, workers=2)
    threaded.threading = "units"
    assert threaded.uses_unit_threads()
    for steps in (7, 2):
        x = rng.standard_normal((9, steps, 3))
        state = tuple(rng.standard_normal((layers, 9, hidden)) for _ in range(2))
        grad_out = rng.standard_normal((9, steps, hidden))
        grad_state = tuple(rng.standard_normal((layers, 9, hidden)) for _ in range(2))
        for layer in (single, threaded):
            layer.zero_grad()
        out, final = threaded.forward(x, state)
        out_1, final_1 = single.forward(x, state)
        np.testing.assert_allclose(out, out_1, rtol=1e-13, atol=1e-15)
        for ours, theirs in zip(final, final_1):
            np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(threaded.backward(grad_out, grad_state), single.backward(grad_out, grad_state),
                                   rtol=1e-12, atol=1e-15)
        for name, grad in single.grads.items():
            np.testing.assert_allclose(threaded.grads[name], grad, rtol=1e-12, atol=1e-14)
        for ours, theirs in zip(_parts(threaded.grad_state), _parts(single.grad_state)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cls,threading,workers", [
    (LSTM, "auto", 1), (LSTM, "rows", 2), pytest.param(LSTM, "units", 2, marks=needs_unit_threads), (GRU, "auto", 1)])
def test_a_table_and_ids_give_what_the_gathered_rows_give(cls, threading, workers):
    """forward_projected(table, ids=...) runs as from table[ids], and backward_projected then returns the
    table's gradient: dpre summed into the rows the ids name. The table is left as it is."""
    rng = np.random.default_rng(3)
    gathered = cls(3, 32, dtype=np.float64, rng=0)
    layer = cls(3, 32, dtype=np.float64, rng=0, workers=workers)
    layer.threading = threading
    table = rng.standard_normal((5, cls.cell_class.gates * 32))
    kept = table.copy()
    ids = rng.integers(0, 5, (6, 8))  # (T, N)
    state = tuple(rng.standard_normal((1, 8, 32)) for _ in range(cls.cell_class.state_size))
    state = state if len(state) == 2 else state[0]
    grad_out = rng.standard_normal((8, 6, 32))
    out, final = layer.forward_projected(table, state, ids=ids)
    out_1, final_1 = gathered.forward_projected(table[ids], state)
    np.testing.assert_allclose(out, out_1, rtol=1e-13, atol=1e-15)
    for ours, theirs in zip(_parts(final), _parts(final_1)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-15)
    table_grad = layer.backward_projected(grad_out)
    dpre = gathered.backward_projected(grad_out)
    expected = np.zeros_like(table)
    np.add.at(expected, ids.reshape(-1), dpre.reshape(-1, table.shape[1]))
    np.testing.assert_allclose(table_grad, expected, rtol=1e-12, atol=1e-14)
    for name, grad in gathered.grads.items():
        if name != "weight_ih_l0":
            np.testing.assert_allclose(layer.grads[name], grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(table, kept)
    with pytest.raises(ValueError, match=r"ids must be in \[0, 5\)"):
        layer.forward_projected(table, state, ids=ids + 1)
    layer.forward_projected(table, state, ids=ids)
    with pytest.raises(SeqdlError, match="call backward_projected"):
        layer.backward(grad_out)


def _both_ways(dtype, batch, hidden, ways, patch=None):
    """Outputs, final state, input and table gradients and weight gradients of a 2-layer LSTM on unit threads
    whose forward loops may run only ``ways``; and the ways each loop's choosers offered."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((batch, 6, 3)).astype(dtype)
    grad_out = rng.standard_normal((batch, 6, hidden)).astype(dtype)
    table, ids = rng.standard_normal((5, 4 * hidden)).astype(dtype), rng.integers(0, 5, (6, batch))
    layer = LSTM(3, hidden, 2, dtype=dtype, rng=0, workers=2)
    layer.threading = "units"
    for loop in layer._cells:
        loop.forward_ways = ways
    out, final = layer.forward(x)
    dx = layer.backward(grad_out)
    projected, _ = layer.forward_projected(table, ids=ids)
    table_grad = layer.backward_projected(grad_out)
    offered = {chooser.options for loop in layer._cells for chooser in loop.forward_choosers.values()}
    ran = {option for loop in layer._cells for chooser in loop.forward_choosers.values() for option in chooser._warm}
    return [out, *final, dx, projected, table_grad, *layer.grads.values()], offered, ran


@needs_unit_threads
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch,hidden", [(9, 34), (1, 34), (2, 34), (3, 34), (5, 34), (32, 34), (9, 256),
                                          (16, 128), (32, 256)])
def test_whichever_way_timing_picks_the_bits_are_the_unit_split_s(dtype, batch, hidden):
    """On unit threads the loops may run by row blocks instead (whichever timing found faster), but only
    where a check of the real shapes found them to give the unit split's bits: forward and backward, with
    the table and ids of a language model too, an odd batch and fewer rows than threads."""
    units, offered_units, _ = _both_ways(dtype, batch, hidden, ("units",))
    rows, offered_rows, ran = _both_ways(dtype, batch, hidden, ("rows",))
    assert offered_units == {("units",)} and offered_rows <= {("rows",), ("units",)}
    if kernel_packs(dtype) or (batch, hidden) in {(9, 34), (32, 34), (32, 256)}:
        assert offered_rows == {("rows",)}  # packed products always agree, OpenBLAS and MKL there: rows really ran
    assert ran == {option for options in offered_rows for option in options}  # what was offered really ran
    for ours, theirs in zip(units, rows):
        np.testing.assert_array_equal(ours, theirs)


@needs_unit_threads
def test_row_blocks_are_offered_where_they_agree_and_never_where_they_do_not(monkeypatch):
    """The check runs both loops: row blocks that round one output differently are never offered."""
    _, offered, _ = _both_ways(np.float64, 32, 34, ("units", "rows"))
    assert offered == {("units", "rows")}  # OpenBLAS and MKL add in the same order for these shapes
    from seqdl.nn.kernels import unit_threads

    original = unit_threads.lstm_forward_row_blocks

    def off_by_an_ulp(*args):
        original(*args)
        hs = args[4]
        hs[-1, 0, 0] = np.nextafter(hs[-1, 0, 0], np.inf)

    monkeypatch.setattr(unit_threads, "lstm_forward_row_blocks", off_by_an_ulp)
    units, _, _ = _both_ways(np.float64, 32, 34, ("units",))
    rows, offered, ran = _both_ways(np.float64, 32, 34, ("units", "rows"))
    assert offered == {("units",)} and ran == {"units"}
    for ours, theirs in zip(units, rows):
        np.testing.assert_array_equal(ours, theirs)


@needs_unit_threads
def test_each_batch_shape_has_its_own_chooser_and_only_trained_calls_count():
    layer = LSTM(3, 34, dtype=np.float32, rng=0, workers=2)
    layer.threading = "units"
    rng = np.random.default_rng(0)
    for batch in (4, 6):
        layer.forward(rng.standard_normal((batch, 8, 3)).astype(np.float32))
        layer.backward(rng.standard_normal((batch, 8, 34)).astype(np.float32))
    layer.infer(rng.standard_normal((4, 8, 3)).astype(np.float32))  # a decoder's path: nothing kept or timed
    [loop] = layer._cells
    assert sorted(key[0] for key in loop.forward_choosers) == [4, 6]
    assert all(chooser._calls == 1 for chooser in loop.forward_choosers.values())


@pytest.mark.parametrize("workers,threading", [(1, "auto"), (2, "rows"), (2, "units")])
def test_the_time_loops_give_the_same_training_on_mkl_and_on_openblas(monkeypatch, workers, threading):
    """The loops' per-step products through BLAS (SEQDL_PACKED=0) on MKL (the mkl extra) or on numpy's
    OpenBLAS: the same gradients to rounding."""
    if threading == "units" and not _unit_threads_available():
        pytest.skip("numba has no OpenMP or TBB threading layer here")
    import seqdl.nn.recurrent
    import seqdl.nn.time_loops
    from seqdl.nn.kernels.blas import address_for, kernel_address_for

    rng = np.random.default_rng(3)
    x, grad_out = rng.standard_normal((8, 7, 3)), rng.standard_normal((8, 7, 40))
    results = []
    monkeypatch.setenv("SEQDL_PACKED", "0")
    for kernels_blas in (kernel_address_for, address_for):
        monkeypatch.setattr(seqdl.nn.time_loops, "kernel_address_for", kernels_blas)
        monkeypatch.setattr(seqdl.nn.recurrent, "kernel_address_for", kernels_blas)
        layer = LSTM(3, 40, 2, dtype=np.float64, rng=0, workers=workers)
        layer.threading = threading
        out, _ = layer.forward(x)
        results.append([out, layer.backward(grad_out), *layer.grads.values()])
    for mkl, openblas in zip(*results):
        np.testing.assert_allclose(mkl, openblas, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("workers,threading", [(1, "auto"), (2, "rows"), (2, "units")])
@pytest.mark.parametrize("batch,hidden", [(8, 40), (9, 34), (32, 64)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_packed_loops_train_as_the_blas_loops_do(monkeypatch, workers, threading, batch, hidden, dtype):
    """W_hh packed once per loop (the default) or the kernel BLAS per step (SEQDL_PACKED=0): outputs, final
    states, the gradient into the input and every parameter's gradient agree to rounding; and the language
    model's path (a table of projected rows read by id), its table gradient too."""
    if threading == "units" and not _unit_threads_available():
        pytest.skip("numba has no OpenMP or TBB threading layer here")
    rng = np.random.default_rng(batch + hidden)
    x = rng.standard_normal((batch, 11, 3)).astype(dtype)
    grad_out = rng.standard_normal((batch, 11, hidden)).astype(dtype)
    table = rng.standard_normal((50, 4 * hidden)).astype(dtype)
    ids = rng.integers(0, 50, size=(11, batch))
    results = []
    for packs in ("1", "0"):
        monkeypatch.setenv("SEQDL_PACKED", packs)
        layer = LSTM(3, hidden, 2, dtype=dtype, rng=0, workers=workers)
        layer.threading = threading
        out, state = layer.forward(x)
        found = [np.array(a, copy=True) for a in (out, *state, layer.backward(grad_out), *layer.grads.values())]
        out, state = layer.forward_projected(table.copy(), ids=ids, time_major=True)
        found += [np.array(a, copy=True) for a in (out, *state, layer.backward_projected(grad_out.swapaxes(0, 1)))]
        results.append(found)
    tolerance = dict(rtol=1e-11, atol=1e-13) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    for packed, blas in zip(*results):
        np.testing.assert_allclose(packed, blas, **tolerance)


@needs_unit_threads
def test_unit_threads_backward_after_a_forward_on_another_path():
    """A forward on BLAS threads, then ``threading="units"`` before backward: the same gradients as one thread."""
    rng = np.random.default_rng(5)
    single = LSTM(3, 32, dtype=np.float64, rng=0)
    threaded = LSTM(3, 32, dtype=np.float64, rng=0, workers=2)
    x, grad_out = rng.standard_normal((4, 6, 3)), rng.standard_normal((4, 6, 32))
    threaded.threading = "blas"
    threaded.forward(x)
    threaded.threading = "units"
    single.forward(x)
    np.testing.assert_allclose(threaded.backward(grad_out), single.backward(grad_out), rtol=1e-12)
    for name, grad in single.grads.items():
        np.testing.assert_allclose(threaded.grads[name], grad, rtol=1e-12, atol=1e-14)


@needs_unit_threads
def test_unit_threads_hold_blas_to_one_thread_inside_the_layer():
    """threading="units" runs on numba's threads with every BLAS on one thread, restoring both afterwards."""
    import numba
    from threadpoolctl import threadpool_limits

    layer = LSTM(3, 32, rng=0, workers=2)
    layer.threading = "units"
    seen = []
    with threadpool_limits(2, user_api="blas"):
        with layer.threads():
            seen.append((_blas_threads(), numba.get_num_threads()))
            with layer.threads():  # re-entrant
                assert layer.batch_blocks(32) == [(0, 32)]
        seen.append(_blas_threads())
    assert seen == [(1, 2), 2]
    assert not layer._unit_threaded
    with pytest.raises(ParameterError, match="LSTM only"):
        gru = GRU(3, 32, workers=2)
        gru.threading = "units"
        gru.forward(np.zeros((2, 5, 3)))


@needs_unit_threads
def test_a_child_forked_after_unit_threads_started_uses_blas_threads():
    """GNU OpenMP's threads do not survive fork(): numba would terminate a child that used them."""
    layer = LSTM(3, 32, rng=0, workers=2)
    layer.threading = "units"
    x = np.random.default_rng(0).standard_normal((4, 6, 3)).astype(np.float32)
    expected = layer.forward(x)[0]  # starts the unit threads here
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        try:
            ok = np.allclose(layer.forward(x)[0], expected, rtol=1e-5) and not layer.uses_unit_threads()
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert (answer, os.waitstatus_to_exitcode(status)) == (b"1", 0)
    assert layer.uses_unit_threads()  # the parent keeps them


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


def test_blas_threading_sets_blas_threads_only_inside_the_layer():
    """threading="blas" runs the layer's products on `workers` BLAS threads and restores the caller's limit."""
    from threadpoolctl import threadpool_limits

    layer = LSTM(3, 4, dtype=np.float64, rng=0, workers=2)
    assert not layer.uses_blas_threads()  # auto: rows below BLAS_THREADS_MIN_HIDDEN
    layer.threading = "blas"
    assert layer.uses_blas_threads()
    seen = []
    with threadpool_limits(1, user_api="blas"):
        with layer.threads():
            seen.append(_blas_threads())
            with layer.threads():  # re-entrant
                assert layer.batch_blocks(32) == [(0, 32)]
            assert layer._blas_threaded
        seen.append(_blas_threads())
    assert seen == [2, 1]
    assert not layer._blas_threaded
    assert GRU(3, 128, workers=2).uses_blas_threads() and not GRU(3, 128, workers=1).uses_blas_threads()
    if _unit_threads_available():
        assert LSTM(3, 128, workers=2).uses_unit_threads() and not LSTM(3, 128, workers=2).uses_blas_threads()
        # An odd H does not split in two: BLAS threads rather than a unit loop on one thread.
        assert LSTM(3, 129, workers=2).uses_blas_threads()
    layer.threading = "cores"
    with pytest.raises(ParameterError, match="threading"):
        layer.forward(np.zeros((2, 3, 3)))


@pytest.mark.parametrize("cell", [LSTM, GRU, RNN])
@pytest.mark.parametrize("steps", [1, 5])
def test_the_short_and_long_loop_products_agree(cell, steps, monkeypatch):
    """Decoding's products (the few-row kernel, W @ h^T, W_ih @ x^T) and training's (contiguous W^T,
    x @ W_ih^T) give the same layer."""
    from seqdl.nn import time_loops

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, steps, 3))
    layer = cell(3, 6, num_layers=2, dtype=np.float64, rng=0)
    default, default_state = layer.forward(x)
    copies = steps >= time_loops.MIN_STEPS_FOR_COPY and cell.cell_class.copies_recurrent_weight
    if copies:  # the other product: W_hh @ h^T
        monkeypatch.setattr(time_loops, "MIN_STEPS_FOR_COPY", 10 ** 9)
    else:  # the other product: h @ (contiguous W_hh^T)
        monkeypatch.setattr(time_loops, "MIN_STEPS_FOR_COPY", 1)
        monkeypatch.setattr(cell.cell_class, "copies_recurrent_weight", True)
    monkeypatch.setattr(time_loops, "FEW_ROWS", 0 if steps * 4 <= time_loops.FEW_ROWS else 10 ** 9)
    monkeypatch.setattr(time_loops, "KERNEL_ROWS", 0)  # BLAS rather than the few-row kernel
    other, other_state = layer.forward(x)
    np.testing.assert_allclose(other, default, rtol=1e-13, atol=1e-15)
    as_tuple = lambda state: state if isinstance(state, tuple) else (state,)  # noqa: E731  (LSTM: (h, c))
    for a, b in zip(as_tuple(other_state), as_tuple(default_state)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_the_loops_products_follow_the_layer_s_threads(monkeypatch):
    """On BLAS threads the block loop multiplies with numpy's (threaded) BLAS; on one thread with the kernels'
    own GEMM (MKL's one-thread GEMM when installed) or, without MKL, with W_hh packed once."""
    import seqdl.nn.time_loops
    from seqdl.nn.kernels.blas import address_for, kernel_address_for, kernel_packs

    seen = []
    original = seqdl.nn.time_loops.lstm_forward_block

    def spy(*args):
        seen.append((args[-4], args[-3].shape[0] > 0))
        original(*args)

    monkeypatch.setattr(seqdl.nn.time_loops, "lstm_forward_block", spy)
    x = np.random.default_rng(0).standard_normal((4, 6, 3)).astype(np.float32)
    for workers, threading in ((2, "blas"), (1, "auto")):
        layer = LSTM(3, 32, rng=0, workers=workers)
        layer.threading = threading
        layer.forward(x)
    assert seen == [(address_for(np.float32), False), (kernel_address_for(np.float32), kernel_packs(np.float32))]


def test_pre_activations_of_another_dtype_are_converted():
    layer = LSTM(3, 8, rng=0)  # float32
    pre = np.random.default_rng(0).standard_normal((6, 2, 32))  # float64, (T, N, 4H): a long loop's kernels
    out, _ = layer.forward_projected(pre)
    expected, _ = layer.forward_projected(pre.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)
