"""LSTM, GRU and Elman RNN layers with torch.nn's signature, batch-first.

``LSTM(input_size, hidden_size, num_layers=1, bias=True, dropout=0.0)`` (and
GRU, RNN with ``nonlinearity``) maps input (N, T, F) to the top layer's hidden
state at every step (N, T, H). ``forward(x, state=None, training=False)``
returns ``(out, state)``; the state is ``(h, c)`` with each (num_layers, N, H)
for the LSTM and ``h`` (num_layers, N, H) for the GRU and RNN, as torch. The
state given to ``forward`` is where gradients stop (truncated BPTT):
``backward(grad_out, grad_state=None)`` returns the input gradient, adds the
parameter gradients into ``grads`` and leaves the gradient reaching the given
state in :attr:`grad_state` (same layout as the state).

Parameters carry torch's names and shapes per layer (``weight_ih_l0``
(G*H, F), ``weight_hh_l0`` (G*H, H), ``bias_ih_l0``, ``bias_hh_l0``,
``weight_ih_l1``...; G = 4 gates i, f, g, o for the LSTM, 3 gates r, z, n for
the GRU, 1 for the RNN), initialised U(-1/sqrt(H), 1/sqrt(H)) in torch's
order, so a torch ``state_dict`` maps one to one. Dropout (inverted, drawn
from ``self.rng``) applies between layers only, when training.

The fast path: the input projection for all time steps is one GEMM; each step
costs only ``h @ W_hh^T`` plus one fused Numba kernel; the weight gradients
are single GEMMs after the backward time loop. Between layers the sequence
stays time-major, so only the outermost input and output are transposed.

With ``workers > 1`` there are three ways to use the cores (:attr:`_Recurrent.threading`):

- ``"rows"``: the batch rows are split into independent blocks whose time
  loops run in threads (the kernels and BLAS release the GIL), with no
  synchronisation per step, and the weight-gradient products are split the
  same way. BLAS must be single-threaded then (e.g. ``threadpoolctl``), or
  its threads and these compete for the cores.
- ``"blas"``: one time loop over the whole batch, with BLAS on ``workers``
  threads for the duration of the layer's forward and backward (set and
  restored around them, whatever limit the caller set), so every product,
  including the large weight-gradient ones, is one multi-threaded GEMM.
- ``"units"`` (LSTM only): the hidden units are split among ``workers``
  numba threads, which run the whole time loop without Python between steps
  and meet once per step (:mod:`seqdl.nn.kernels.unit_threads`); the weight
  gradients are GEMMs split over the same threads, and BLAS is held to one
  thread inside the layer (and inside a language model's products around it).
- ``"auto"`` (default): ``"units"`` for the LSTM, ``"blas"`` for the GRU and
  RNN, from :data:`BLAS_THREADS_MIN_HIDDEN` hidden units; ``"rows"`` below.
  Measured on 2 AVX-512 cores (LSTM training steps, B=32, T=64): with the
  machine nearly idle (load ~1.5) BLAS threads were 1.32x faster than row
  blocks at H=256 and 1.30x at H=512, and unit threads 1.13x faster than BLAS
  threads at H=256 (34.0 against 38.6 ms per step); with the machine
  oversubscribed (load 9-12) BLAS threads were 3-5x *slower* than row
  blocks, since threads that meet at every step wait for a descheduled
  partner (torch's OpenMP threads collapsed the same way, and unit threads
  meet at every step too). Set ``"rows"`` on a machine shared with other jobs.

With ``workers=1`` all are the same single-threaded loop. The threading
state lives on the layer, not per Python thread: one model must not be
trained or run from two Python threads at once.

Unit threads are numba's OpenMP threads, which do not survive ``fork()``: a
process forked after this one started them uses BLAS threads instead (numba
would terminate it otherwise).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from ..errors import ParameterError, SeqdlError, ShapeError
from . import init
from .base import DEFAULT_DTYPE, Layer, make_rng
from .kernels.blas import address_for, gemm, kernel_address_for
from .kernels.elementwise import scatter_add_rows
from .time_loops import GRULoop, LSTMLoop, RNNLoop, TimeLoop
from .layers import Dropout

__all__ = ["GRU", "LSTM", "RNN"]

#: Fewest batch rows worth a thread of their own.
MIN_ROWS_PER_WORKER = 4
#: Fewest hidden units worth a unit thread of their own.
MIN_UNITS_PER_WORKER = 16
#: Hidden size from which ``threading="auto"`` gives the cores to unit or BLAS threads rather than to row blocks.
BLAS_THREADS_MIN_HIDDEN = 128
#: The values of :attr:`_Recurrent.threading`.
THREADING = ("auto", "rows", "blas", "units")


@lru_cache(maxsize=None)
def _blas_controller():
    # Built once: a ThreadpoolController scans the loaded libraries (~1.5 ms); its limit() then costs ~40 us.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_unit_threads_lock = threading.Lock()
#: Set in a child forked after this process started unit threads (see the module docstring).
_forked_from_unit_threads = False


def _unit_threads():
    """(the unit-thread kernels module, a ThreadpoolController that sees the BLAS numba calls), or None.

    None when numba's threading layer is its fallback "workqueue", which two
    Python threads must never enter at once (aborting the process), or in a
    child forked after unit threads started: then the LSTM uses BLAS threads
    instead. The controller holds numpy's BLAS (which the kernels call unless
    MKL, single-threaded anyway, is installed) to one thread.
    """
    if _forked_from_unit_threads:
        return None
    with _unit_threads_lock:  # the first call runs a parallel kernel, which workqueue must not see twice at once
        return _start_unit_threads()


@lru_cache(maxsize=None)
def _start_unit_threads():
    import numba
    from threadpoolctl import ThreadpoolController

    from .kernels import unit_threads

    scratch = np.zeros((1, 1, 1), dtype=np.float32)
    unit_threads.add_products_t(scratch[0], scratch[0], np.zeros((1, 1), dtype=np.float32), scratch, 0)
    if numba.threading_layer() not in ("omp", "tbb"):
        return None
    return unit_threads, ThreadpoolController()


def _after_fork_in_child() -> None:
    global _forked_from_unit_threads
    if _start_unit_threads.cache_info().currsize:
        _forked_from_unit_threads = True


os.register_at_fork(after_in_child=_after_fork_in_child)


@lru_cache(maxsize=None)
def _executor(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seqdl-recurrent")


def _blocks(size: int, parts: int) -> list[tuple[int, int]]:
    bounds = np.linspace(0, size, max(1, parts) + 1).astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


class _Recurrent(Layer):
    """What the LSTM, GRU and RNN share: the layer stack, states, dropout between layers, threads."""

    cell_class: type[TimeLoop] = TimeLoop

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 dropout: float = 0.0, *, dtype=DEFAULT_DTYPE, rng=None, workers: int = 1):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if int(value) < 1:
                raise ParameterError(name, f"must be at least 1, got {value}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ParameterError("dropout", f"must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.dropout = bool(bias), float(dropout)
        #: Threads for the time loops and weight-gradient products.
        self.workers = max(1, int(workers))
        #: How ``workers > 1`` threads are used: "auto", "rows", "blas" or "units" (see the module docstring).
        self.threading = "auto"
        #: Whether ``threading="auto"`` may choose unit threads. Inside them the caller's products around the
        #: layer (in :meth:`threads`) run on one BLAS thread, so a caller whose own products outweigh the
        #: layer's, like a word-level language model's output layer, turns this off.
        self.auto_units = True
        self._blas_threaded = False
        self._unit_threaded = False
        #: The initialisation's and the dropout masks' random state.
        self.rng = make_rng(rng)
        rows = self.cell_class.gates * self.hidden_size
        bound = 1.0 / math.sqrt(self.hidden_size)
        self._cells: list[TimeLoop] = []
        for k in range(self.num_layers):
            size = self.input_size if k == 0 else self.hidden_size
            shapes = {"weight_ih": (rows, size), "weight_hh": (rows, self.hidden_size)}
            if self.bias:
                shapes.update(bias_ih=(rows,), bias_hh=(rows,))
            for name, shape in shapes.items():
                self.add_param(f"{name}_l{k}", init.uniform(np.empty(shape, dtype=dtype), -bound, bound, self.rng))
            self._cells.append(self.cell_class(self, k, size))
        self._drops = [Dropout(self.dropout, rng=self.rng) for _ in range(self.num_layers - 1)]
        self.grad_state = None
        self._table_ids = self._table_rows = None
        self._out_time_major = self._projected = False

    @property
    def state_size(self) -> int:
        """Arrays in a state: 2 (h, c) for the LSTM, 1 otherwise."""
        return self.cell_class.state_size

    def config(self) -> dict:
        return {"input_size": self.input_size, "hidden_size": self.hidden_size, "num_layers": self.num_layers,
                "bias": self.bias, "dropout": self.dropout, "workers": self.workers}

    # -- threads --------------------------------------------------------------
    def uses_blas_threads(self) -> bool:
        """True when ``workers > 1`` go to BLAS on whole-batch products rather than to row blocks or unit threads."""
        return self._threading_mode() == "blas"

    def uses_unit_threads(self) -> bool:
        """True when ``workers > 1`` split the hidden units among numba threads (see the module docstring)."""
        return self._threading_mode() == "units"

    def _threading_mode(self) -> str:
        """What ``workers`` and ``threading`` come to: "single", "rows", "blas" or "units"."""
        if self.threading not in THREADING:
            raise ParameterError("threading", f"must be one of {', '.join(THREADING)}, got {self.threading!r}")
        if self.threading == "units" and self.cell_class is not LSTMLoop:
            raise ParameterError("threading", f"'units' is implemented for the LSTM only, not {type(self).__name__}")
        if self.workers < 2:
            return "single"
        if self.threading in ("rows", "blas"):
            return self.threading
        if self.threading == "auto" and self.hidden_size < BLAS_THREADS_MIN_HIDDEN:
            return "rows"
        if self.threading == "auto" and not self.auto_units:
            return "blas"
        if self.cell_class is LSTMLoop and self.unit_parts() > 1 and _unit_threads() is not None:
            return "units"
        return "blas"

    def unit_kernels(self):
        """The module of numba kernels the unit threads run (:mod:`seqdl.nn.kernels.unit_threads`)."""
        return _unit_threads()[0]

    def unit_parts(self) -> int:
        """Threads that share the hidden units: the most, up to ``workers`` and numba's threads, that divide H
        into blocks of at least MIN_UNITS_PER_WORKER units (1: no unit threads)."""
        import numba

        parts = max(1, min(self.workers, numba.config.NUMBA_NUM_THREADS, self.hidden_size // MIN_UNITS_PER_WORKER))
        while self.hidden_size % parts:
            parts -= 1
        return parts

    @contextlib.contextmanager
    def threads(self):
        """The section where this layer's products run: BLAS on ``workers`` threads when :meth:`uses_blas_threads`,
        BLAS on one thread and numba on :meth:`unit_parts` threads when :meth:`uses_unit_threads`.

        Re-entrant; a caller (the language model) may wrap its own products
        around the layer's in it too.
        """
        if self._blas_threaded or self._unit_threaded:  # re-entered: the outer section holds the threads
            yield
            return
        mode = self._threading_mode()
        if mode not in ("blas", "units"):
            yield
            return
        if mode == "units":
            import numba

            _, controller = _unit_threads()
            previous = numba.get_num_threads()
            numba.set_num_threads(self.unit_parts())
            self._unit_threaded = True
            try:
                with controller.limit(limits=1, user_api="blas"):
                    yield
            finally:
                numba.set_num_threads(previous)
                self._unit_threaded = False
            return
        self._blas_threaded = True
        try:
            with _blas_controller().limit(limits=self.workers, user_api="blas"):
                yield
        finally:
            self._blas_threaded = False

    def in_parallel(self, fn, blocks: list[tuple[int, int]]) -> None:
        """Run ``fn(start, stop)`` for every block, in the worker threads when there are several."""
        if len(blocks) == 1:
            fn(*blocks[0])
            return
        # Each thread runs in a copy of the caller's context, so numpy's error state
        # (np.errstate is a context variable) holds in the workers as in the caller.
        futures = [_executor(self.workers).submit(contextvars.copy_context().run, fn, a, b) for a, b in blocks]
        for future in futures:
            future.result()

    def batch_blocks(self, n: int) -> list[tuple[int, int]]:
        """Blocks of batch rows, one per worker thread (each with at least MIN_ROWS_PER_WORKER rows).

        One block when BLAS or the unit threads have the cores.
        """
        parts = min(self.workers, n // MIN_ROWS_PER_WORKER)
        if self._blas_threaded or self._unit_threaded or parts <= 1:
            return [(0, n)]
        return _blocks(n, parts)

    def matmul_rows(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
        """out (+)= a @ b, computed in blocks of rows across the workers (or split over the unit threads)."""
        if self._unit_threaded:
            self._unit_product(a, b, out, accumulate)
            return

        blas = address_for(out.dtype) if a.dtype == b.dtype == out.dtype else 0

        def block(start, stop):
            if accumulate and blas:  # added inside the GEMM (beta 1): no product-sized temporary and pass
                gemm(a[start:stop], b, out[start:stop], 1.0, blas)
            elif accumulate:
                out[start:stop] += a[start:stop] @ b
            else:
                np.matmul(a[start:stop], b, out=out[start:stop])
        self.in_parallel(block, _blocks(a.shape[0], 1 if self._blas_threaded else self.workers))

    def _unit_product(self, a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
        """out (+)= a @ b on the unit threads: a transposed ``a`` (a weight gradient) splits K, else rows of ``a``."""
        kernels, _ = _unit_threads()
        parts, blas = self.unit_parts(), kernel_address_for(out.dtype)
        if a.T.flags.c_contiguous:
            if not accumulate:
                out[...] = 0
            kernels.add_products_t(a.T, b, out, np.empty((parts - 1,) + out.shape, dtype=out.dtype), blas)
        else:
            kernels.products(a, b, out, parts, 1.0 if accumulate else 0.0, blas)

    # -- states ---------------------------------------------------------------
    def _layer_states(self, state, n: int) -> list[tuple[np.ndarray, ...]]:
        """The given state (or zeros) as one tuple of (N, H) arrays per layer."""
        shape = (self.num_layers, n, self.hidden_size)
        if state is None:
            zeros = np.zeros(shape, dtype=self.dtype)
            return [tuple(zeros[k] for _ in range(self.state_size)) for k in range(self.num_layers)]
        parts = (state,) if isinstance(state, np.ndarray) else tuple(state)
        if len(parts) != self.state_size or any(np.shape(s) != shape for s in parts):
            kind = "(h, c)" if self.state_size == 2 else "h"
            raise ShapeError(f"{self!r} expected a state {kind} of shape {shape}, got {[np.shape(s) for s in parts]}")
        parts = [np.asarray(s, dtype=self.dtype) for s in parts]
        return [tuple(s[k] for s in parts) for k in range(self.num_layers)]

    def _join(self, per_layer: list[tuple[np.ndarray, ...]]):
        """Per-layer state tuples back into the public layout."""
        if len(per_layer) == 1:  # a view, not a copy: a decoder steps one layer once per token
            joined = tuple(part[None] for part in per_layer[0])
        else:
            joined = tuple(np.stack([s[i] for s in per_layer]) for i in range(self.state_size))
        return joined if self.state_size == 2 else joined[0]

    # -- forward / backward ---------------------------------------------------
    def _time_major_input(self, x) -> np.ndarray:
        x = self.cast_input(x)
        self.expect(x, 3, "(N, T, input_size)", a2=self.input_size)
        return np.ascontiguousarray(x.transpose(1, 0, 2))

    def _run(self, pre, xt, state, training: bool, keep: bool, ids=None, time_major=False):
        """Layer 0 from ``pre`` (or from ``xt``), then the rest; returns (out, batch-first unless ``time_major``, state)."""
        with self.threads():
            return self._run_layers(pre, xt, state, training, keep, ids, time_major)

    def _run_layers(self, pre, xt, state, training: bool, keep: bool, ids=None, time_major=False):
        n = (ids if ids is not None else pre if pre is not None else xt).shape[1]
        states = self._layer_states(state, n)
        finals = []
        h = xt
        for k, cell in enumerate(self._cells):
            if k > 0:
                h = self._drops[k - 1].forward(h, training) if keep else h
            if k == 0 and pre is not None:
                h, final = cell.run(pre, states[k], keep, ids)
            else:
                h, final = cell.run(cell.project(h, keep), states[k], keep)
            finals.append(final)
        out = h if time_major else np.ascontiguousarray(h.transpose(1, 0, 2))
        if keep:
            self._out_shape, self._out_time_major, self._projected = out.shape, time_major, pre is not None
            self._table_ids, self._table_rows = ids, None if ids is None else pre.shape[0]
        return out, self._join(finals)

    def forward(self, x, state=None, training=False):
        """(out (N, T, H), final state) for x (N, T, input_size), starting from ``state`` (zeros if None)."""
        return self._run(None, self._time_major_input(x), state, training, keep=True)

    def infer(self, x, state=None):
        """As :meth:`forward` when not training, keeping nothing for backward (a decoder's path)."""
        return self._run(None, self._time_major_input(x), state, False, keep=False)

    def project_input(self, rows: np.ndarray) -> np.ndarray:
        """``rows @ weight_ih_l0^T`` plus the biases the first layer folds into its pre-activations.

        Lets a caller whose inputs are rows of a small table (a language model's
        embedding) project the table once and look up pre-activations.
        """
        return self._cells[0].project(np.ascontiguousarray(rows)[None], keep=False)[0]

    def forward_projected(self, pre: np.ndarray, state=None, training=False, keep=True, ids=None, time_major=False):
        """As :meth:`forward` from the first layer's pre-activations (T, N, G*H), which may be overwritten.

        With ``ids`` (T, N) of integers, ``pre`` is a table (rows, G*H) and
        step t's row b starts from ``pre[ids[t, b]]`` (a language model's
        embedding projected once by :meth:`project_input`): the LSTM reads the
        rows where it needs them instead of gathering a (T, N, G*H) array. The
        table is left as it is. With ``time_major`` the output is (T, N, H),
        as the layers compute it, and :meth:`backward_projected` takes its
        gradient in that layout too (no transposes at either end); that
        output is then the layer's own record of its states, which backward
        reads, so a caller must not write into it.
        """
        if ids is not None:
            ids = np.ascontiguousarray(ids, dtype=np.int64)
            if ids.ndim != 2 or pre.ndim != 2 or pre.shape[1] != self._cells[0].gates * self.hidden_size:
                raise ShapeError(f"{self!r} expected ids (T, N) and a table (rows, "
                                 f"{self._cells[0].gates * self.hidden_size}), got {ids.shape} and {pre.shape}")
            if ids.size and (ids.min() < 0 or ids.max() >= pre.shape[0]):
                raise ValueError(f"ids must be in [0, {pre.shape[0]}), the table's rows")
        pre = np.ascontiguousarray(pre, dtype=self.dtype)  # the kernels' products take one dtype throughout
        return self._run(pre, None, state, training, keep, ids, time_major)

    def _back(self, grad_out, grad_state, to_input: bool):
        with self.threads():
            return self._back_layers(grad_out, grad_state, to_input)

    def _back_layers(self, grad_out, grad_state, to_input: bool):
        g = np.asarray(grad_out, dtype=self.dtype)
        if g.shape != getattr(self, "_out_shape", None):
            raise ShapeError(f"{self!r} expected an output gradient of shape {getattr(self, '_out_shape', None)}, "
                             f"got {g.shape}")
        g = np.ascontiguousarray(g if self._out_time_major else g.transpose(1, 0, 2))
        given = None if grad_state is None else self._layer_states(grad_state, g.shape[1])
        into_state = [None] * self.num_layers
        dpre = None
        for k in range(self.num_layers - 1, -1, -1):
            cell = self._cells[k]
            dpre, into_state[k] = cell.back(g, None if given is None else given[k])
            if k > 0:
                g = np.ascontiguousarray(self._drops[k - 1].backward(cell.input_gradients(dpre)))
        self.grad_state = self._join(into_state)
        return self._cells[0].input_gradients(dpre) if to_input else dpre

    def backward(self, grad_out, grad_state=None):
        """Gradient of the input (N, T, input_size); ``grad_state`` adds the gradient arriving at the final state."""
        if self._projected:
            raise SeqdlError(f"{self!r}: the last forward was forward_projected(); call backward_projected()")
        return np.ascontiguousarray(self._back(grad_out, grad_state, True).transpose(1, 0, 2))

    def backward_projected(self, grad_out, grad_state=None) -> np.ndarray:
        """As :meth:`backward` but stop at the first layer's pre-activations: return dpre (T, N, G*H), or after a
        :meth:`forward_projected` with ``ids`` the table's gradient (rows, G*H).

        ``weight_ih_l0`` gets no gradient here; the caller that projected the
        input adds it. dpre is scratch space, valid until the next backward.
        """
        dpre = self._back(grad_out, grad_state, False)
        ids = self._table_ids
        if ids is None:
            return dpre
        table_grad = self._cells[0].table_grad_
        if table_grad is None:
            table_grad = np.zeros((self._table_rows, dpre.shape[-1]), dtype=dpre.dtype)
            scatter_add_rows(table_grad, ids.reshape(-1), dpre.reshape(-1, dpre.shape[-1]))
        return table_grad

    def step(self, x: np.ndarray, state=None):
        """One time step for a batch x (N, input_size), cache-free: (h of the top layer (N, H), new state).

        What :meth:`infer` gives for a sequence of length one, by a shorter
        path: a decoder calls it once per generated token.
        """
        x = self.cast_input(x)
        self.expect(x, 2, "(N, input_size)", a1=self.input_size)
        states = self._layer_states(state, x.shape[0])
        h, finals = x, []
        for k, cell in enumerate(self._cells):
            h, final = cell.step(h, states[k])
            finals.append(final)
        # The top layer's h is also its state: return a copy, so writing into the output leaves the state be.
        return h.copy(), self._join(finals)


class LSTM(_Recurrent):
    """Long short-term memory (torch.nn.LSTM with batch_first=True); the state is ``(h, c)``."""

    cell_class = LSTMLoop


class GRU(_Recurrent):
    """Gated recurrent unit (torch.nn.GRU with batch_first=True, gate order r, z, n); the state is ``h``.

    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)) with ``b_hn`` inside the
    reset product, and h' = (1 - z) * n + z * h, exactly as torch.
    """

    cell_class = GRULoop


class RNN(_Recurrent):
    """Elman RNN h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), f = tanh or relu (torch.nn.RNN); state ``h``."""

    cell_class = RNNLoop

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 dropout: float = 0.0, *, nonlinearity: str = "tanh", dtype=DEFAULT_DTYPE, rng=None,
                 workers: int = 1):
        if nonlinearity not in ("tanh", "relu"):
            raise ParameterError("nonlinearity", f"must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, dropout, dtype=dtype, rng=rng, workers=workers)

    def config(self) -> dict:
        return {**super().config(), "nonlinearity": self.nonlinearity}
