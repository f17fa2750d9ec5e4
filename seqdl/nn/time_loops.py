"""One recurrent layer's time loop per cell type (LSTM, GRU, Elman RNN), for :mod:`seqdl.nn.recurrent`.

A cell runs the recurrence of one layer of the stack over a time-major
sequence (T, N, ...) and back: per step ``h @ W_hh^T`` (in BLAS, or for a few
rows in a numba kernel, see :class:`RecurrentProduct`) plus one fused Numba
kernel, and the weight gradients as GEMMs after the backward loop (one, or
split over the owner's threads). With unit threads the LSTM's whole loop is
one numba call instead (:mod:`seqdl.nn.kernels.unit_threads`). It keeps the forward caches its backward needs; the parameters and
gradients live in the owning layer's dicts under torch's names
(``weight_ih_l0``...), and the owner supplies the worker threads.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from .autotune import Chooser
from .kernels.blas import address_for, kernel_address_for, kernel_packs
from .kernels.lstm_loop import lstm_backward_block, lstm_forward_block
from .kernels.packed import packed_shape, packed_weight, product_scratch, thread_panels, thread_scratch
from .kernels.products import MAX_ROWS as KERNEL_ROWS
from .kernels.products import rows_times_transpose, times_transpose
from .kernels.recurrent import (gru_step_backward, gru_step_forward, lstm_step_backward, lstm_step_forward,
                                lstm_units_forward_rows, rnn_step_backward, rnn_step_forward)
from .workspace import Workspace

__all__ = ["GRULoop", "LSTMLoop", "RNNLoop", "RecurrentProduct", "TimeLoop"]

#: Most rows (steps x batch) for which the input projection is computed as ``W_ih @ x^T``.
FEW_ROWS = 32
#: Shortest loop for which :class:`RecurrentProduct` may copy W_hh^T into contiguous memory (cells with
#: ``copies_recurrent_weight``) and below which a few rows use the numba kernel.
MIN_STEPS_FOR_COPY = 4


if TYPE_CHECKING:
    from .recurrent import _Recurrent


class RecurrentProduct:
    """``h @ W_hh^T`` for one block of rows of a time loop, into buffers reused at every step.

    OpenBLAS (SkylakeX kernels, one thread) is slow at ``h @ W_hh^T`` for a
    few rows, and which layout is fastest depends on the shape. Measured at
    H=256: for a long loop (training) of the GRU and RNN, a C-contiguous copy
    of ``W_hh^T`` is about a third faster than the transposed view and is
    made once per loop (``copy_weight``). For the LSTM in training and for
    any short loop (decoding: one step for a few beams or samples, where
    copying the weight would not pay), ``W_hh @ h^T`` (the long dimension
    first) copied back to row-major is faster: about twice the view's speed
    for 5 rows (108 against 221 us for the LSTM, 81 against 156 us for the
    GRU). The copy back matters: the step kernels vectorise only over
    contiguous rows (a transposed view made the LSTM step 7 times slower).
    A short loop (fewer than ``MIN_STEPS_FOR_COPY`` steps) of at most
    :data:`KERNEL_ROWS` rows uses :func:`rows_times_transpose`, faster still
    and the same bits for a row whether it is stepped alone or in a batch:
    decoding, and training on very short windows of a tiny batch.
    """

    def __init__(self, w_hh: np.ndarray, rows: int, copy_weight: bool, dtype, few_rows: bool = False):
        self.copy_weight, self.few_rows = copy_weight, few_rows and not copy_weight
        self.weight = np.ascontiguousarray(w_hh.T) if copy_weight else w_hh
        self.buffer = None if copy_weight or self.few_rows else np.empty((w_hh.shape[0], rows), dtype=dtype)
        self.out = np.empty((rows, w_hh.shape[0]), dtype=dtype)

    def __call__(self, h: np.ndarray) -> np.ndarray:
        if self.copy_weight:
            return np.matmul(h, self.weight, out=self.out)
        if self.few_rows:
            rows_times_transpose(np.ascontiguousarray(h), self.weight, self.out)
            return self.out
        np.matmul(self.weight, h.T, out=self.buffer)
        np.copyto(self.out, self.buffer.T)
        return self.out


class TimeLoop:
    """One layer of the stack: its time loop, caches and gradients; parameters live in the owner's dicts.

    ``run`` and ``back`` work on time-major arrays; the owner chains the
    layers, applies dropout between them and transposes at the ends.
    """

    #: Number of gate blocks stacked in the weights.
    gates = 1
    #: Number of arrays in a state (h, or h and c).
    state_size = 1
    #: Whether a long loop multiplies by a contiguous copy of W_hh^T (see :class:`RecurrentProduct`).
    copies_recurrent_weight = True
    #: After :meth:`back` of a loop that ran from a table (``run(..., ids)``): the table's gradient when the
    #: loop summed it itself, else None.
    table_grad_ = None

    def __init__(self, owner: _Recurrent, index: int, input_size: int):
        self.owner, self.suffix, self.input_size = owner, f"_l{index}", input_size
        self.hidden = owner.hidden_size
        self.work = Workspace()

    def p(self, name: str) -> np.ndarray:
        """This layer's parameter ``name`` (``weight_ih`` -> the owner's ``weight_ih_l<k>``)."""
        return self.owner.params[name + self.suffix]

    def g(self, name: str) -> np.ndarray:
        """The gradient of this layer's parameter ``name``."""
        return self.owner.grads[name + self.suffix]

    def recurrent_rows(self, rows: int, steps: int, dtype) -> RecurrentProduct:
        """A reusable ``h @ W_hh^T`` for ``rows`` rows of the batch (a worker thread's block) over ``steps`` steps."""
        short = steps < MIN_STEPS_FOR_COPY
        return RecurrentProduct(self.p("weight_hh"), rows, not short and self.copies_recurrent_weight, dtype,
                                few_rows=short and rows <= KERNEL_ROWS)

    def input_bias(self) -> np.ndarray | None:
        """The bias folded into the input projection: both biases (the GRU keeps b_hn apart)."""
        if not self.owner.bias:
            return None
        return self.p("bias_ih") + self.p("bias_hh")

    def project(self, xt: np.ndarray, keep: bool) -> np.ndarray:
        """Pre-activations (T, N, G*H) of a time-major input (T, N, F)."""
        steps, n, _ = xt.shape
        flat, w_ih = xt.reshape(steps * n, self.input_size), self.p("weight_ih")
        if steps * n <= KERNEL_ROWS:  # decoding (or a tiny batch): as in RecurrentProduct
            pre = times_transpose(flat, w_ih)
        elif steps * n <= FEW_ROWS:  # the long dimension first, as in RecurrentProduct
            pre = np.ascontiguousarray((w_ih @ flat.T).T)
        elif self.owner._unit_threaded:  # BLAS has one thread there; split the rows over the unit threads
            pre = np.empty((steps * n, w_ih.shape[0]), dtype=np.result_type(flat, w_ih))
            self.owner.matmul_rows(flat, w_ih.T, pre, False)
        else:
            pre = flat @ w_ih.T
        bias = self.input_bias()
        if bias is not None:
            pre += bias
        if keep:
            self.xt = xt
        return pre.reshape(steps, n, -1)

    def step(self, x: np.ndarray, state: tuple) -> tuple[np.ndarray, tuple]:
        """One step for rows ``x`` (N, F) after ``state``, nothing kept: (h (N, H), the new state).

        The same products and kernel as :meth:`run` for one step, without the
        loop's buffers and threads (a decoder's step is a few rows).
        """
        pre = self.project(x[None], keep=False)[0]
        recurrent = self.recurrent_rows(x.shape[0], 1, pre.dtype)(state[0])
        return self.cell_step(pre, recurrent, state)

    def cell_step(self, pre: np.ndarray, recurrent: np.ndarray, state: tuple) -> tuple[np.ndarray, tuple]:
        """The cell's update from pre-activations and ``h @ W_hh^T`` (both (N, G*H); ``pre`` may be overwritten)."""
        raise NotImplementedError

    def weight_gradients(self, dpre: np.ndarray, drec: np.ndarray, h_prev: np.ndarray, bias_sums=None) -> None:
        """Accumulate ``weight_hh`` and bias gradients; ``drec`` is dpre except for the GRU's n block.

        ``bias_sums``: dpre's column sums when the caller has them already (the LSTM's unit threads).
        """
        steps, n, rows = dpre.shape
        flat_rec = drec.reshape(steps * n, rows)
        self.owner.matmul_rows(flat_rec.T, h_prev.reshape(steps * n, self.hidden), self.g("weight_hh"), True)
        if self.owner.bias:
            db_ih = dpre.reshape(steps * n, rows).sum(axis=0) if bias_sums is None else bias_sums
            self.g("bias_ih")[...] += db_ih
            self.g("bias_hh")[...] += db_ih if drec is dpre else flat_rec.sum(axis=0)

    def input_gradients(self, dpre: np.ndarray) -> np.ndarray:
        """Accumulate the gradient of ``weight_ih``; return dx time-major (T, N, F)."""
        steps, n, rows = dpre.shape
        flat = dpre.reshape(steps * n, rows)
        owner = self.owner
        owner.matmul_rows(flat.T, self.xt.reshape(steps * n, self.input_size), self.g("weight_ih"), True)
        dx = np.empty((steps * n, self.input_size), dtype=owner.dtype)
        owner.matmul_rows(flat, self.p("weight_ih"), dx, False)
        return dx.reshape(steps, n, self.input_size)

    def run(self, pre: np.ndarray, state: tuple, keep: bool, ids: np.ndarray | None = None):
        """The recurrence from pre-activations (T, N, G*H) (which may be overwritten); returns (outputs (T, N, H),
        final state).

        With ``ids`` (T, N), ``pre`` is a table (rows, G*H) and step t's row b
        starts from ``pre[ids[t, b]]``; the table is left as it is.
        """
        raise NotImplementedError

    def back(self, g: np.ndarray, grad_state: tuple | None):
        """Back through the recurrence from output gradients (T, N, H): (dpre, gradient into the initial state)."""
        raise NotImplementedError


class LSTMLoop(TimeLoop):
    """The LSTM's loop: gates i, f, g, o; state (h, c)."""

    gates = 4
    state_size = 2
    #: Numbers of calls between two runs of the slower forward kernel on unit threads (see :meth:`run`).
    PROBE_EVERY = 20
    # W_hh @ h^T is faster for the LSTM's 4H-row weight in training too (whole training steps at 1 and
    # 2 threads, alternating in one process: 1.01-1.03x at H=256, 1.07x at H=512); not for the GRU's 3H.
    copies_recurrent_weight = False

    def cell_step(self, pre, recurrent, state):
        h, c, tanh_c = (np.empty_like(state[0]) for _ in range(3))
        lstm_step_forward(pre, np.empty_like(pre), recurrent, state[1], c, h, tanh_c)
        return h, (h, c)

    def __init__(self, owner: _Recurrent, index: int, input_size: int):
        super().__init__(owner, index, input_size)
        #: On unit threads the time loops run either with each thread owning a share of the units
        #: (meeting every step) or a block of batch rows (never meeting), and which is faster depends on how
        #: far apart the machine's cores are, which a virtual machine's host may change while training runs.
        #: A Chooser per (batch, dtype, threads) times both (a forward loop and the backward loop after it,
        #: which splits the work the same way; per step, as windows differ in length) and keeps the faster.
        #: Row blocks are offered only where they give the unit split's bits (see :meth:`_rows_agree`).
        self.forward_ways: tuple[str, ...] = ("units", "rows")
        self.forward_choosers: dict[tuple, Chooser] = {}
        self._timed_forward: tuple[Chooser, str, float, int] | None = None
        #: How the last kept forward split the work ("units", "rows", or None off the unit threads).
        self.forward_way_: str | None = None

    def run(self, pre, state, keep, ids=None):
        steps, n = pre.shape[:2] if ids is None else ids.shape
        hidden, dtype = self.hidden, pre.dtype

        def cache(name, shape):
            # Kept for backward, never handed out: reused from call to call when kept (fresh memory costs a
            # page fault per 4 KB: 13 us a step of 152 at H=256, N=32), so a kept forward replaces the last.
            return self.work.get(name, shape, dtype) if keep else np.empty(shape, dtype=dtype)

        gates = cache("gates", (steps, n, 4 * hidden))
        hs = np.empty((steps + 1, n, hidden), dtype=dtype)  # the caller gets hs[1:]
        cs = cache("cs", (steps + 1, n, hidden))
        tanh_c = cache("tanh_c", (steps, n, hidden))
        hs[0], cs[0] = state
        way = None
        if self._unit_threads(steps):
            table, rows = (pre, ids) if ids is not None else \
                (pre.reshape(steps * n, -1), np.arange(steps * n, dtype=np.int64).reshape(steps, n))
            chooser = self._chooser(n, dtype)
            way = chooser.pick()
            started = time.perf_counter()
            w_parts = self._forward_kernel(way, table, rows, gates, hs, cs, tanh_c)
            if keep:  # timed with the backward loop that follows: it reads what this one wrote
                self._timed_forward = (chooser, way, time.perf_counter() - started, steps)
        elif steps >= MIN_STEPS_FOR_COPY:  # training or a long loop: each block's whole loop in one numba call
            w_parts = None
            table, rows = (pre, ids) if ids is not None else \
                (pre.reshape(steps * n, -1), np.arange(steps * n, dtype=np.int64).reshape(steps, n))
            w_hh, blas = self.p("weight_hh"), self._loop_blas(dtype)
            panels = self._panels(w_hh.astype(dtype, copy=False), transposed=False, reuse=keep)

            def block(a, b):
                lstm_forward_block(table, rows, w_hh, gates, hs, cs, tanh_c, np.empty((4 * hidden, b - a), dtype),
                                   np.empty((b - a, 4 * hidden + 16), dtype), a, b, blas,  # + 16: see _forward_kernel
                                   panels, *product_scratch(b - a, hidden, dtype))

            self.owner.in_parallel(block, self.owner.batch_blocks(n))
        else:
            w_parts = None

            def rows(a, b):
                product = self.recurrent_rows(b - a, steps, dtype)
                for t in range(steps):
                    if ids is None:
                        lstm_step_forward(pre[t, a:b], gates[t, a:b], product(hs[t, a:b]), cs[t, a:b],
                                          cs[t + 1, a:b], hs[t + 1, a:b], tanh_c[t, a:b])
                    else:
                        lstm_units_forward_rows(pre, ids[t, a:b], gates[t, a:b], product(hs[t, a:b]), cs[t, a:b],
                                                cs[t + 1, a:b], hs[t + 1, a:b], tanh_c[t, a:b], 0, hidden)

            self.owner.in_parallel(rows, self.owner.batch_blocks(n))
        if keep:
            self.gates_, self.hs, self.cs, self.tanh_c, self.w_parts_ = gates, hs, cs, tanh_c, w_parts
            self.forward_way_ = way
            self.ids_, self.table_rows_ = ids, None if ids is None else pre.shape[0]
        return hs[1:], (hs[steps].copy(), cs[steps].copy())

    def back(self, g, grad_state):
        steps, n, hidden = g.shape
        if self._unit_threads(steps):
            return self._back_units(g, grad_state)
        dh = np.zeros((n, hidden), dtype=g.dtype)
        dc = np.zeros((n, hidden), dtype=g.dtype)
        if grad_state is not None:
            dh += grad_state[0]
            dc += grad_state[1]
        dgates = self.work.get("dgates", self.gates_.shape, g.dtype)
        w_hh = self.p("weight_hh")
        gates, cs, tanh_c = self.gates_, self.cs, self.tanh_c
        self.table_grad_ = None

        if steps >= MIN_STEPS_FOR_COPY:  # as the forward ran
            grad_out, blas = np.ascontiguousarray(g), self._loop_blas(g.dtype)
            panels = self._panels(w_hh.astype(g.dtype, copy=False), transposed=True, reuse=True)

            def rows(a, b):
                lstm_backward_block(gates, cs, tanh_c, grad_out, w_hh, dh, dc, dgates,
                                    np.empty((hidden, b - a), g.dtype), a, b, blas, panels,
                                    *product_scratch(b - a, 4 * hidden, g.dtype))
        else:
            def rows(a, b):
                for t in range(steps - 1, -1, -1):
                    lstm_step_backward(gates[t, a:b], cs[t, a:b], tanh_c[t, a:b], g[t, a:b], dh[a:b], dc[a:b],
                                       dgates[t, a:b])
                    np.matmul(dgates[t, a:b], w_hh, out=dh[a:b])

        self.owner.in_parallel(rows, self.owner.batch_blocks(n))
        self.weight_gradients(dgates, dgates, self.hs[:-1])
        return dgates, (dh, dc)

    def _loop_blas(self, dtype) -> int:
        """The GEMM address for the block loops: numpy's BLAS on the owner's threads in ``"blas"`` mode, else the
        kernels' own (MKL's one-thread GEMM, when installed: each block's products run on one thread)."""
        return address_for(dtype) if self.owner._blas_threaded else kernel_address_for(dtype)

    def _panels(self, w_hh, transposed: bool, reuse: bool) -> np.ndarray:
        """``W_hh`` (or its transpose) packed for the block loops' products, or an empty array where they multiply
        through BLAS (numpy's threaded BLAS in ``"blas"`` mode; ``SEQDL_PACKED=0``: see
        :func:`~seqdl.nn.kernels.blas.kernel_packs`). ``reuse``: pack into the layer's workspace (training; a
        forward that keeps nothing gets its own, as it may run beside another)."""
        if self.owner._blas_threaded or not kernel_packs(w_hh.dtype):
            return np.empty((0, 0, 0), dtype=w_hh.dtype)
        rows, depth = w_hh.shape[::-1] if transposed else w_hh.shape
        into = self.work.get("panels_t" if transposed else "panels", packed_shape(rows, depth, w_hh.dtype),
                             w_hh.dtype) if reuse else None
        return packed_weight(w_hh, transposed, into)

    def _unit_threads(self, steps: int) -> bool:
        """Whether this loop runs on the owner's unit threads: inside its threads section, and not a decoder's
        short loop (which stays on the one-thread path, so a row's bits do not depend on the batch)."""
        return self.owner._unit_threaded and steps >= MIN_STEPS_FOR_COPY

    def _unit_split(self) -> tuple[int, int]:
        """(threads, units per thread) for the unit threads."""
        parts = self.owner.unit_parts()
        return parts, self.hidden // parts

    def _chooser(self, n: int, dtype) -> Chooser:
        """The Chooser of the forward loop's way for ``n`` rows of ``dtype`` on the current unit threads."""
        key = (n, np.dtype(dtype).str, self._unit_split()[0])
        if key not in self.forward_choosers:
            ways = tuple(way for way in self.forward_ways if way != "rows" or self._rows_agree(n, dtype))
            self.forward_choosers[key] = Chooser(ways or ("units",), probe_every=self.PROBE_EVERY)
        return self.forward_choosers[key]

    def _rows_agree(self, n: int, dtype) -> bool:
        """Whether row blocks give the unit split's bits for ``n`` rows of ``dtype``: both loops run on random data.

        They add the same products in the same order only where BLAS does
        for both GEMM shapes: OpenBLAS, for one, takes another path for a
        one-column product and rounds differently for some column counts
        (at H=34, batches 2, 3 and 5 differ). The order depends on the
        shapes, not the values, so a short loop of the real shapes tells.
        """
        rng = np.random.default_rng(0)
        steps, hidden = 2, self.hidden
        table = rng.standard_normal((steps * n, 4 * hidden)).astype(dtype)
        ids = np.arange(steps * n, dtype=np.int64).reshape(steps, n)
        state = [rng.standard_normal((n, hidden)).astype(dtype) for _ in range(2)]
        g = rng.standard_normal((steps, n, hidden)).astype(dtype)
        outputs = []
        for way in ("units", "rows"):
            gates = np.empty((steps, n, 4 * hidden), dtype=dtype)
            hs, cs = np.empty((steps + 1, n, hidden), dtype=dtype), np.empty((steps + 1, n, hidden), dtype=dtype)
            tanh_c = np.empty((steps, n, hidden), dtype=dtype)
            hs[0], cs[0] = state
            w_parts = self._forward_kernel(way, table, ids, gates, hs, cs, tanh_c)
            dgates, bias_sums = np.empty_like(gates), np.zeros(4 * hidden, dtype=dtype)
            table_grad = np.zeros_like(table)
            dh, dc = self._backward_kernel(way, gates, cs, tanh_c, g, w_parts, state, dgates, bias_sums, ids,
                                           table_grad)
            outputs.append([gates, hs, cs, tanh_c, dgates, bias_sums, table_grad, dh, dc])
        return all(np.array_equal(a, b) for a, b in zip(*outputs))

    def _forward_kernel(self, way: str, table, rows, gates, hs, cs, tanh_c) -> np.ndarray | None:
        """The forward loop on the unit threads, split by ``way``; returns the threads' rows of W_hh for the
        unit split's backward (None after row blocks)."""
        parts, units = self._unit_split()
        steps, n = rows.shape
        hidden, dtype = self.hidden, gates.dtype
        kernels = self.owner.unit_kernels()
        packs = kernel_packs(dtype)
        if way == "units":
            w_parts = np.empty((parts, 4 * units, hidden), dtype=dtype)
            kernels.lstm_forward_units(
                table, rows, self.p("weight_hh"), gates, hs, cs, tanh_c, w_parts,
                # 16 spare columns: without them the transposed copy into this buffer writes its rows 4U
                # floats apart, a power of two at the usual sizes, which crowds them into a few cache sets
                # (at H=512: 13-16 against 19-32 us per step).
                np.empty((parts, 4 * units, n), dtype=dtype), np.empty((parts, n, 4 * units + 16), dtype=dtype),
                kernel_address_for(dtype), thread_panels(parts if packs else 0, 4 * units, hidden, dtype),
                *thread_scratch(parts, n, hidden, dtype))
            return w_parts
        most = -(-n // parts)
        w_hh = self.p("weight_hh")
        kernels.lstm_forward_row_blocks(
            table, rows, w_hh, gates, hs, cs, tanh_c,
            np.empty((parts, 4 * hidden * most), dtype=dtype), np.empty((parts, most, 4 * hidden + 16), dtype),
            kernel_address_for(dtype), self._panels(w_hh.astype(dtype, copy=False), transposed=False, reuse=False),
            *thread_scratch(parts, most, hidden, dtype))
        return None

    def _backward_kernel(self, way: str, gates, cs, tanh_c, g, w_parts, grad_state, dgates, bias_sums, ids,
                         table_grad) -> tuple[np.ndarray, np.ndarray]:
        """The backward loop on the unit threads, split by ``way`` as the forward was; returns the gradient
        into the initial state (dh, dc), each (N, H)."""
        steps, n, hidden = g.shape
        parts, units = self._unit_split()
        dtype = g.dtype
        kernels = self.owner.unit_kernels()
        packs = kernel_packs(dtype)
        panels = thread_panels(parts if packs else 0, hidden, 4 * units, dtype)
        if way == "rows":
            dh, dc = np.zeros((n, hidden), dtype=dtype), np.zeros((n, hidden), dtype=dtype)
            if grad_state is not None:
                dh += grad_state[0]
                dc += grad_state[1]
            most = -(-n // parts)
            kernels.lstm_backward_row_blocks(
                gates, cs, tanh_c, g, self.p("weight_hh"), dh, dc, dgates, bias_sums, ids, table_grad,
                np.empty((parts, 4 * units, hidden), dtype), np.empty((parts, hidden, 4 * units), dtype),
                np.empty((parts, most, 4 * units), dtype), np.empty((parts, parts, hidden * most), dtype),
                kernel_address_for(dtype), panels, *thread_scratch(parts, most, 4 * units, dtype))
            return dh, dc

        def by_thread(a):  # (N, H) -> (P, N, U), each thread's units contiguous
            return np.ascontiguousarray(a.reshape(n, parts, units).transpose(1, 0, 2))

        dh, dc = np.zeros((parts, n, units), dtype=dtype), np.zeros((parts, n, units), dtype=dtype)
        if grad_state is not None:
            dh += by_thread(grad_state[0])
            dc += by_thread(grad_state[1])
        if w_parts is None or w_parts.shape[0] != parts:  # the forward ran on another path (threading changed)
            w_parts = np.ascontiguousarray(self.p("weight_hh").reshape(4, parts, units, hidden)
                                           .transpose(1, 0, 2, 3).reshape(parts, 4 * units, hidden))
        kernels.lstm_backward_units(
            gates, cs, tanh_c, g, w_parts, dh, dc, dgates, bias_sums, ids, table_grad,
            np.empty((parts, hidden, 4 * units), dtype), np.empty((parts, n, 4 * units), dtype),
            np.empty((2, parts, n, hidden) if packs else (2, parts, hidden, n), dtype), kernel_address_for(dtype),
            panels, *thread_scratch(parts, n, 4 * units, dtype))
        return tuple(d.transpose(1, 0, 2).reshape(n, hidden) for d in (dh, dc))

    def _back_units(self, g, grad_state):
        """:meth:`back` on the unit threads (see :mod:`seqdl.nn.kernels.unit_threads`), split as the forward was."""
        steps, n, hidden = g.shape
        dgates = self.work.get("dgates", self.gates_.shape, g.dtype)
        bias_sums = np.zeros(4 * hidden if self.owner.bias else 0, dtype=g.dtype)
        ids = self.ids_ if self.ids_ is not None else np.zeros((0, 0), dtype=np.int64)
        table_grad = np.zeros((self.table_rows_ or 0, 4 * hidden), dtype=g.dtype)
        started = time.perf_counter()
        way = "rows" if self.forward_way_ == "rows" else "units"
        grad_h0 = self._backward_kernel(way, self.gates_, self.cs, self.tanh_c, np.ascontiguousarray(g),
                                        self.w_parts_, grad_state, dgates, bias_sums, ids, table_grad)
        if self._timed_forward is not None:  # the forward's way is judged by both loops' time, per step
            chooser, timed_way, seconds, timed_steps = self._timed_forward
            if timed_way == way and timed_steps == steps:
                chooser.record(way, (seconds + time.perf_counter() - started) / steps)
            self._timed_forward = None
        self.table_grad_ = table_grad if self.ids_ is not None else None
        self.weight_gradients(dgates, dgates, self.hs[:-1], bias_sums)
        return dgates, grad_h0


class RNNLoop(TimeLoop):
    """The Elman RNN's loop: h = tanh or relu of the pre-activation; state (h,)."""

    def cell_step(self, pre, recurrent, state):
        h = np.empty_like(state[0])
        rnn_step_forward(pre, recurrent, h, self.owner.nonlinearity == "relu")
        return h, (h,)

    def run(self, pre, state, keep, ids=None):
        if ids is not None:
            pre = pre[ids]
        steps, n, _ = pre.shape
        hs = np.empty((steps + 1, n, self.hidden), dtype=pre.dtype)
        hs[0] = state[0]
        relu = self.owner.nonlinearity == "relu"

        def rows(a, b):
            product = self.recurrent_rows(b - a, steps, pre.dtype)
            for t in range(steps):
                rnn_step_forward(pre[t, a:b], product(hs[t, a:b]), hs[t + 1, a:b], relu)

        self.owner.in_parallel(rows, self.owner.batch_blocks(n))
        if keep:
            self.hs = hs
        return hs[1:], (hs[steps].copy(),)

    def back(self, g, grad_state):
        steps, n, hidden = g.shape
        dh = np.zeros((n, hidden), dtype=g.dtype)
        if grad_state is not None:
            dh += grad_state[0]
        dpre = self.work.get("dpre", g.shape, g.dtype)
        w_hh = self.p("weight_hh")
        relu = self.owner.nonlinearity == "relu"
        hs = self.hs

        def rows(a, b):
            for t in range(steps - 1, -1, -1):
                rnn_step_backward(hs[t + 1, a:b], g[t, a:b], dh[a:b], dpre[t, a:b], relu)
                np.matmul(dpre[t, a:b], w_hh, out=dh[a:b])

        self.owner.in_parallel(rows, self.owner.batch_blocks(n))
        self.weight_gradients(dpre, dpre, hs[:-1])
        return dpre, (dh,)


class GRULoop(TimeLoop):
    """The GRU's loop: gates r, z, n with b_hn inside the reset product; state (h,)."""

    gates = 3

    def input_bias(self):
        if not self.owner.bias:
            return None
        bias = self.p("bias_ih").copy()
        bias[:2 * self.hidden] += self.p("bias_hh")[:2 * self.hidden]
        return bias

    def _b_hn(self, dtype) -> np.ndarray:
        hidden = self.hidden
        return self.p("bias_hh")[2 * hidden:] if self.owner.bias else np.zeros(hidden, dtype=dtype)

    def cell_step(self, pre, recurrent, state):
        h, hn = np.empty_like(state[0]), np.empty_like(state[0])
        gru_step_forward(pre, recurrent, self._b_hn(pre.dtype), state[0], h, hn)
        return h, (h,)

    def run(self, pre, state, keep, ids=None):
        if ids is not None:
            pre = pre[ids]
        steps, n, _ = pre.shape
        hidden, dtype = self.hidden, pre.dtype
        hs = np.empty((steps + 1, n, hidden), dtype=dtype)
        hn = np.empty((steps, n, hidden), dtype=dtype)
        hs[0] = state[0]
        b_hn = self._b_hn(dtype)

        def rows(a, b):
            product = self.recurrent_rows(b - a, steps, dtype)
            for t in range(steps):
                gru_step_forward(pre[t, a:b], product(hs[t, a:b]), b_hn, hs[t, a:b], hs[t + 1, a:b], hn[t, a:b])

        self.owner.in_parallel(rows, self.owner.batch_blocks(n))
        if keep:
            self.gates_, self.hs, self.hn = pre, hs, hn
        return hs[1:], (hs[steps].copy(),)

    def back(self, g, grad_state):
        steps, n, hidden = g.shape
        dh_rec = np.zeros((n, hidden), dtype=g.dtype)
        dh_direct = np.zeros((n, hidden), dtype=g.dtype)
        if grad_state is not None:
            dh_rec += grad_state[0]
        dgates = self.work.get("dgates", self.gates_.shape, g.dtype)
        drec = self.work.get("drec", self.gates_.shape, g.dtype)
        w_hh = self.p("weight_hh")
        gates, hs, hn = self.gates_, self.hs, self.hn

        def rows(a, b):
            for t in range(steps - 1, -1, -1):
                gru_step_backward(gates[t, a:b], hn[t, a:b], hs[t, a:b], g[t, a:b], dh_rec[a:b], dh_direct[a:b],
                                  dgates[t, a:b], drec[t, a:b])
                np.matmul(drec[t, a:b], w_hh, out=dh_rec[a:b])

        self.owner.in_parallel(rows, self.owner.batch_blocks(n))
        self.weight_gradients(dgates, drec, hs[:-1])
        dh_rec += dh_direct
        return dgates, (dh_rec,)
