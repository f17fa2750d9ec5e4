"""LSTM and Elman RNN layers, batch-first like ``torch.nn.LSTM(batch_first=True)``.

Input (N, T, F), output (N, T, H): the hidden state at every step. Parameters
carry torch's names and shapes (``weight_ih`` (G*H, F), ``weight_hh``
(G*H, H), ``bias_ih``, ``bias_hh``; G = 4 gates i, f, g, o for the LSTM,
1 for the RNN) and torch's initialisation U(-1/sqrt(H), 1/sqrt(H)).

The fast path: the input projection for all time steps is one GEMM; each step
costs only ``h @ W_hh^T`` plus one fused Numba kernel; the weight gradients
are single GEMMs after the backward time loop. ``forward(x, state=...)``
starts from a given state and leaves the final one in ``final_state``, which
is how truncated BPTT carries state across batches: gradients stop at the
given state, and ``backward`` leaves the gradient reaching it in
``grad_state``.

With ``workers > 1`` the batch rows are split into independent blocks whose
time loops run in threads (the kernels and BLAS release the GIL), with no
synchronisation per step, and the weight-gradient products are split the
same way. Run BLAS single-threaded then (e.g. ``threadpoolctl``), or its
threads and these compete for the cores.
"""

from __future__ import annotations

import contextvars
import math
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from ..errors import ShapeError
from . import init
from .base import DEFAULT_DTYPE, Layer, make_rng
from .recurrent_kernels import lstm_step_backward, lstm_step_forward, rnn_step_backward, rnn_step_forward
from .workspace import Workspace


#: Fewest batch rows worth a thread of their own.
MIN_ROWS_PER_WORKER = 4


@lru_cache(maxsize=None)
def _executor(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seqdl-recurrent")


def _blocks(size: int, parts: int) -> list[tuple[int, int]]:
    bounds = np.linspace(0, size, max(1, parts) + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


class _Recurrent(Layer):
    """What the LSTM and RNN share: parameters, projections, weight gradients."""

    #: Number of gate blocks stacked in the weights (4 for the LSTM).
    gates = 1
    #: Number of arrays in a state (h, or h and c).
    state_size = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool, dtype, rng, workers: int = 1):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        #: Threads for the time loops and weight-gradient products.
        self.workers = max(1, int(workers))
        rng = make_rng(rng)
        rows = self.gates * self.hidden_size
        bound = 1.0 / math.sqrt(self.hidden_size)
        shapes = {"weight_ih": (rows, self.input_size), "weight_hh": (rows, self.hidden_size)}
        if self.bias:
            shapes.update(bias_ih=(rows,), bias_hh=(rows,))
        for name, shape in shapes.items():
            self.add_param(name, init.uniform(np.empty(shape, dtype=dtype), -bound, bound, rng))
        self.final_state: tuple[np.ndarray, ...] | None = None
        self.grad_state: tuple[np.ndarray, ...] | None = None
        self._work = Workspace()

    def _initial_state(self, n: int, state) -> list[np.ndarray]:
        shape = (n, self.hidden_size)
        if state is None:
            return [np.zeros(shape, dtype=self.dtype) for _ in range(self.state_size)]
        state = (state,) if isinstance(state, np.ndarray) else tuple(state)
        if len(state) != self.state_size or any(np.shape(s) != shape for s in state):
            raise ShapeError(f"{self!r} expected a state of {self.state_size} array(s) of shape {shape}, "
                             f"got {[np.shape(s) for s in state]}")
        return [np.asarray(s, dtype=self.dtype) for s in state]

    def _in_parallel(self, fn, blocks: list[tuple[int, int]]) -> None:
        """Run ``fn(start, stop)`` for every block, in the worker threads when there are several."""
        if len(blocks) == 1:
            fn(*blocks[0])
            return
        # Each thread runs in a copy of the caller's context, so numpy's error state
        # (np.errstate is a context variable) holds in the workers as in the caller.
        futures = [_executor(self.workers).submit(contextvars.copy_context().run, fn, a, b) for a, b in blocks]
        for future in futures:
            future.result()

    def _batch_blocks(self, n: int) -> list[tuple[int, int]]:
        return _blocks(n, min(self.workers, n // MIN_ROWS_PER_WORKER))

    def _matmul_rows(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
        """out (+)= a @ b, computed in blocks of rows across the workers."""
        def block(start, stop):
            product = a[start:stop] @ b
            if accumulate:
                out[start:stop] += product
            else:
                out[start:stop] = product
        self._in_parallel(block, _blocks(a.shape[0], self.workers))

    def _project(self, x: np.ndarray) -> np.ndarray:
        """Time-major copy of the input and its projection (T, N, G*H) with both biases added."""
        x = self.cast_input(x)
        self.expect(x, 3, "(N, T, input_size)", a2=self.input_size)
        n, steps, _ = x.shape
        xt = np.ascontiguousarray(x.transpose(1, 0, 2))
        pre = xt.reshape(steps * n, self.input_size) @ self.params["weight_ih"].T
        if self.bias:
            pre += self.params["bias_ih"]
            pre += self.params["bias_hh"]
        self._xt = xt
        return pre.reshape(steps, n, -1)

    def _recurrent_gradients(self, dpre: np.ndarray, h_prev: np.ndarray) -> None:
        """Accumulate the gradients of ``weight_hh`` and the biases from the pre-activation gradients."""
        steps, n, rows = dpre.shape
        flat = dpre.reshape(steps * n, rows)
        self._matmul_rows(flat.T, h_prev.reshape(steps * n, self.hidden_size), self.grads["weight_hh"], True)
        if self.bias:
            db = flat.sum(axis=0)
            self.grads["bias_ih"] += db
            self.grads["bias_hh"] += db

    def _input_gradients(self, dpre: np.ndarray) -> np.ndarray:
        """Accumulate the gradient of ``weight_ih``; return dx (N, T, input_size)."""
        steps, n, rows = dpre.shape
        flat = dpre.reshape(steps * n, rows)
        self._matmul_rows(flat.T, self._xt.reshape(steps * n, self.input_size), self.grads["weight_ih"], True)
        dx = np.empty((steps * n, self.input_size), dtype=self.dtype)
        self._matmul_rows(flat, self.params["weight_ih"], dx, False)
        return np.ascontiguousarray(dx.reshape(steps, n, self.input_size).transpose(1, 0, 2))

    def forward(self, x, training=False, state=None):
        return self.forward_projected(self._project(x), state)

    def backward(self, grad_out, grad_state=None):
        """Gradient of the input; ``grad_state`` optionally adds the gradient arriving at the final state."""
        return self._input_gradients(self.backward_projected(grad_out, grad_state))

    def forward_projected(self, pre: np.ndarray, state=None) -> np.ndarray:
        """Run the recurrence from pre-activations (T, N, G*H): input projection plus both biases.

        For callers that project the input more cheaply themselves, such as a
        language model whose inputs are embedding rows. ``pre`` is overwritten.
        Returns the outputs (N, T, H).
        """
        raise NotImplementedError

    def backward_projected(self, grad_out, grad_state=None) -> np.ndarray:
        """Back through the recurrence only: accumulate ``weight_hh`` and bias gradients, return dpre (T, N, G*H).

        The returned array is scratch space, valid until the next backward.
        """
        raise NotImplementedError

    def _grad_steps(self, grad_out: np.ndarray) -> np.ndarray:
        g = np.asarray(grad_out, dtype=self.dtype)
        if g.shape != self._out_shape:
            raise ShapeError(f"{self!r} expected an output gradient of shape {self._out_shape}, got {g.shape}")
        return np.ascontiguousarray(g.transpose(1, 0, 2))

    def _outputs(self, hs: np.ndarray) -> np.ndarray:
        out = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
        self._out_shape = out.shape
        return out

    def config(self) -> dict:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias,
                "workers": self.workers}


class LSTM(_Recurrent):
    """Long short-term memory layer (torch.nn.LSTM, one layer, batch_first=True).

    ``forward(x, training=False, state=None)`` maps (N, T, input_size) to
    (N, T, hidden_size); ``state`` is ``(h0, c0)``, each (N, hidden_size),
    zeros when omitted. After it, ``final_state`` is ``(h_T, c_T)``.
    """

    gates = 4
    state_size = 2

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=DEFAULT_DTYPE, rng=None,
                 workers: int = 1):
        super().__init__(input_size, hidden_size, bias, dtype, rng, workers)

    def forward_projected(self, pre, state=None):
        gates = pre
        steps, n, _ = gates.shape
        hidden = self.hidden_size
        h0, c0 = self._initial_state(n, state)
        hs = np.empty((steps + 1, n, hidden), dtype=self.dtype)
        cs = np.empty_like(hs)
        tanh_c = np.empty((steps, n, hidden), dtype=self.dtype)
        hs[0], cs[0] = h0, c0
        w_hh_t = self.params["weight_hh"].T

        def rows(a, b):
            recurrent = np.empty((b - a, 4 * hidden), dtype=self.dtype)
            for t in range(steps):
                np.matmul(hs[t, a:b], w_hh_t, out=recurrent)
                lstm_step_forward(gates[t, a:b], recurrent, cs[t, a:b], cs[t + 1, a:b], hs[t + 1, a:b],
                                  tanh_c[t, a:b])

        self._in_parallel(rows, self._batch_blocks(n))
        self._gates, self._hs, self._cs, self._tanh_c = gates, hs, cs, tanh_c
        self.final_state = (hs[steps].copy(), cs[steps].copy())
        return self._outputs(hs)

    def backward_projected(self, grad_out, grad_state=None):
        g = self._grad_steps(grad_out)
        steps, n, hidden = g.shape
        dh = np.zeros((n, hidden), dtype=self.dtype)
        dc = np.zeros((n, hidden), dtype=self.dtype)
        if grad_state is not None:
            dh += grad_state[0]
            dc += grad_state[1]
        dgates = self._work.get("dgates", self._gates.shape, self.dtype)
        w_hh = self.params["weight_hh"]
        gates, cs, tanh_c = self._gates, self._cs, self._tanh_c

        def rows(a, b):
            for t in range(steps - 1, -1, -1):
                lstm_step_backward(gates[t, a:b], cs[t, a:b], tanh_c[t, a:b], g[t, a:b], dh[a:b], dc[a:b],
                                   dgates[t, a:b])
                np.matmul(dgates[t, a:b], w_hh, out=dh[a:b])

        self._in_parallel(rows, self._batch_blocks(n))
        self.grad_state = (dh, dc)
        self._recurrent_gradients(dgates, self._hs[:-1])
        return dgates


class RNN(_Recurrent):
    """Elman RNN h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), f = tanh or relu (torch.nn.RNN).

    ``state`` is h0 (N, hidden_size), zeros when omitted; ``final_state`` is ``(h_T,)``.
    """

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh", bias: bool = True,
                 dtype=DEFAULT_DTYPE, rng=None, workers: int = 1):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype, rng, workers)

    def config(self) -> dict:
        return {**super().config(), "nonlinearity": self.nonlinearity}

    def forward_projected(self, pre, state=None):
        steps, n, _ = pre.shape
        (h0,) = self._initial_state(n, state)
        hs = np.empty((steps + 1, n, self.hidden_size), dtype=self.dtype)
        hs[0] = h0
        w_hh_t = self.params["weight_hh"].T
        relu = self.nonlinearity == "relu"

        def rows(a, b):
            recurrent = np.empty((b - a, self.hidden_size), dtype=self.dtype)
            for t in range(steps):
                np.matmul(hs[t, a:b], w_hh_t, out=recurrent)
                rnn_step_forward(pre[t, a:b], recurrent, hs[t + 1, a:b], relu)

        self._in_parallel(rows, self._batch_blocks(n))
        self._hs = hs
        self.final_state = (hs[steps].copy(),)
        return self._outputs(hs)

    def backward_projected(self, grad_out, grad_state=None):
        g = self._grad_steps(grad_out)
        steps, n, hidden = g.shape
        dh = np.zeros((n, hidden), dtype=self.dtype)
        if grad_state is not None:
            dh += grad_state[0]
        dpre = self._work.get("dpre", g.shape, self.dtype)
        w_hh = self.params["weight_hh"]
        relu = self.nonlinearity == "relu"
        hs = self._hs

        def rows(a, b):
            for t in range(steps - 1, -1, -1):
                rnn_step_backward(hs[t + 1, a:b], g[t, a:b], dh[a:b], dpre[t, a:b], relu)
                np.matmul(dpre[t, a:b], w_hh, out=dh[a:b])

        self._in_parallel(rows, self._batch_blocks(n))
        self.grad_state = (dh,)
        self._recurrent_gradients(dpre, self._hs[:-1])
        return dpre
