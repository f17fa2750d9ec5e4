"""The LSTM's time loops and the layer's GEMMs on numba's worker threads, the hidden units split among them.

``threading="units"`` of :mod:`seqdl.nn.recurrent`: each of P threads owns
H / P hidden units and, at every step, computes its units' four gate blocks of
``h @ W_hh^T`` for the whole batch (one single-threaded BLAS GEMM of
(4H/P, H) x (H, N)) and their cell update; the threads meet once per step,
at the end of a parallel region, because the next step needs every unit of
``h``. Backwards, each thread computes its units' gate derivatives, then
their share of ``dgates @ W_hh`` (see :func:`lstm_backward_units`). The
weight gradients are GEMMs split over the same threads
(:func:`add_products_t`, :func:`products`).

Why it is faster than BLAS threads on each step's GEMM (2 AVX-512 cores,
H=256, batch 32): a half-height GEMM runs near one core's full speed, where
OpenBLAS barely gains from a second thread on the whole (1024 x 256) x
(256 x 32) product; the cell kernel is split too; and there is no Python
between the steps. Everything in this module runs on one pool of threads
(numba's), with BLAS single-threaded: OpenBLAS's own threads keep spinning
for a while after a threaded call, and beside them these loops ran 2-3x
slower. Every product goes through :func:`seqdl.nn.kernels.blas.gemm` at the
address the caller passes (``blas``: :func:`~seqdl.nn.kernels.blas.kernel_address_for`,
MKL's single-threaded GEMM when the ``mkl`` extra is installed, else numpy's
OpenBLAS, which the caller holds to one thread).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .blas import gemm
from .packed import pack_panels, pack_panels_of_transpose, packed_product
from .transpose import transpose_into
from .recurrent import lstm_units_backward, lstm_units_forward_rows


@njit(cache=True, nogil=True)
def _rows_of_units(w_hh, first, units, dst):
    """dst (4U, H) = the rows of ``w_hh`` (4H, H) that belong to units ``first:first+units``, gate by gate."""
    hidden = w_hh.shape[1]
    for gate in range(4):
        for j in range(units):
            src, out = w_hh[gate * hidden + first + j], dst[gate * units + j]
            for i in range(hidden):
                out[i] = src[i]


@njit(cache=True, nogil=True, parallel=True)
def lstm_forward_units(table, ids, w_hh, gates, hs, cs, tanh_c, w_parts, buffers, recurrent, blas, panels, packed,
                       edge):
    """The LSTM's forward time loop, thread k running units ``k*U:(k+1)*U`` (U = H / P).

    Step t's row b starts from the pre-activations ``table[ids[t, b]]``
    (``table`` (rows, 4H); for a plain sequence the (T*N, 4H) pre-activations
    with ``ids[t, b] = t*N + b``); ``w_hh`` (4H, H) is the recurrent weight.
    Written: the activated ``gates`` (T, N, 4H), ``hs``, ``cs`` (T+1, N, H)
    (the initial state in row 0 on entry), ``tanh_c`` (T, N, H), and
    ``w_parts`` (P, 4U, H), thread k's rows of W_hh (its units in each gate
    block), kept for the backward loop; ``buffers`` (P, 4U, N) and
    ``recurrent`` (P, N, at least 4U) are scratch; ``blas`` is the GEMM's
    address (see the module docstring), as for every kernel here.

    With ``panels`` (P, ...) non-empty, thread k packs its rows of W_hh into
    ``panels[k]`` and multiplies with :func:`~seqdl.nn.kernels.packed.packed_product`
    (``packed[k]``, ``edge[k]`` its scratch) straight into ``recurrent[k]``,
    the same bits as the whole W_hh's packed product gives those columns.
    """
    steps = gates.shape[0]
    parts, rows, _ = w_parts.shape
    units = rows // 4
    own = panels.shape[0] > 0
    for k in prange(parts):
        _rows_of_units(w_hh, k * units, units, w_parts[k])
        if own:
            pack_panels(w_parts[k], panels[k])
    for t in range(steps):
        for k in prange(parts):
            if own:
                packed_product(panels[k], rows, hs[t], packed[k], recurrent[k], 0.0, edge[k])
            else:
                # W_k @ h^T (the long dimension first) and a transposed copy beat h @ W_k^T, as in RecurrentProduct.
                gemm(w_parts[k], hs[t].T, buffers[k], 0.0, blas)
                transpose_into(buffers[k], recurrent[k])
            lstm_units_forward_rows(table, ids[t], gates[t], recurrent[k], cs[t], cs[t + 1], hs[t + 1], tanh_c[t],
                                    k * units, units)


@njit(cache=True, nogil=True, parallel=True)
def lstm_forward_row_blocks(table, ids, w_hh, gates, hs, cs, tanh_c, buffers, recurrent, blas, panels, packed, edge):
    """:func:`lstm_forward_units`'s loop with thread k running a block of batch rows instead, for every step.

    Same arguments and results, without ``w_parts`` (the backward loop that
    follows is :func:`lstm_backward_row_blocks`); ``buffers`` (P, 4H * R)
    and ``recurrent`` (P, R, at least 4H) are scratch, R the most rows a
    thread gets. No thread ever reads what another wrote, so the threads
    never meet between steps; each multiplies the whole W_hh by its rows'
    states, a less efficient GEMM shape than the unit split's. Which is
    faster depends on the machine: on a virtual machine whose two cores sat
    apart (no shared cache, a 350-400 ns round trip), both loops took 377-383
    against 433-435 us a step at H=256, N=32; with the cores close, the unit
    split's forward and backward took 141-145 and 142-144 against 145-150
    and 176-181; at H=512 the unit split stayed ahead either way.
    :class:`seqdl.nn.autotune.Chooser` picks by timing both as training
    runs. The results are the same bits as the unit split's wherever BLAS
    adds each output's products in the same order for both shapes; OpenBLAS
    does for most but not all (not for one-row blocks, nor at H=128 for 16
    rows), so the caller offers this loop only for shapes a check has found
    to agree (:meth:`seqdl.nn.time_loops.LSTMLoop._rows_agree`). With
    ``panels`` (the whole W_hh packed by :func:`~seqdl.nn.kernels.packed.pack_panels`;
    empty for none) each thread multiplies with the packed product
    (``packed[p]``, ``edge[p]`` its scratch), which always agrees.
    """
    steps, n = ids.shape
    parts = recurrent.shape[0]
    hidden = hs.shape[2]
    own = panels.shape[0] > 0
    for p in prange(parts):
        a, b = p * n // parts, (p + 1) * n // parts
        if b > a:
            product = buffers[p, :4 * hidden * (b - a)].reshape(4 * hidden, b - a)
            for t in range(steps):
                if own:
                    packed_product(panels, 4 * hidden, hs[t, a:b], packed[p], recurrent[p], 0.0, edge[p])
                else:
                    gemm(w_hh, hs[t, a:b].T, product, 0.0, blas)
                    transpose_into(product, recurrent[p])
                lstm_units_forward_rows(table, ids[t, a:b], gates[t, a:b], recurrent[p], cs[t, a:b], cs[t + 1, a:b],
                                        hs[t + 1, a:b], tanh_c[t, a:b], 0, hidden)


@njit(cache=True, nogil=True)
def _units_of(rows, first, units, dst):
    """dst (N, 4U) = the columns of ``rows`` (N, 4H) that belong to units ``first:first+units``, gate by gate."""
    hidden = rows.shape[1] // 4
    for b in range(rows.shape[0]):
        src, out = rows[b], dst[b]
        for gate in range(4):
            part, into = src[gate * hidden + first:gate * hidden + first + units], out[gate * units:(gate + 1) * units]
            for j in range(units):  # an explicit loop: numba's slice assignment was 4x slower here
                into[j] = part[j]


@njit(cache=True, nogil=True)
def _sum_parts_into(partials, first, units, dst):
    """dst (N, U) = the sum over threads of ``partials[p][first:first+units]`` (each (U, N)), transposed."""
    parts, n = partials.shape[0], dst.shape[0]
    for j in range(units):
        row = partials[0, first + j]
        for b in range(n):
            dst[b, j] = row[b]
        for p in range(1, parts):
            row = partials[p, first + j]
            for b in range(n):
                dst[b, j] += row[b]


@njit(cache=True, nogil=True)
def _sum_row_parts_into(partials, first, units, dst):
    """dst (N, U) = the sum over threads of ``partials[p][:, first:first+units]`` (each (N, H))."""
    parts, n = partials.shape[0], dst.shape[0]
    for b in range(n):
        into = dst[b]
        row = partials[0, b, first:first + units]
        for j in range(units):
            into[j] = row[j]
        for p in range(1, parts):
            row = partials[p, b, first:first + units]
            for j in range(units):
                into[j] += row[j]


@njit(cache=True, nogil=True, parallel=True)
def lstm_backward_units(gates, cs, tanh_c, grad_out, w_parts, dh, dc, dgates, bias_grad, ids, table_grad, w_rows_t,
                        local, partials, blas, panels, packed, edge):
    """The LSTM's backward time loop, thread k running units ``k*U:(k+1)*U``.

    ``w_parts`` (P, 4U, H): thread k's rows of W_hh, as the forward loop
    left them; ``dh``, ``dc`` (P, N, U): each thread's gradient into h and
    c, the final state's on entry and the initial state's on return;
    ``dgates`` (T, N, 4H) is written, its column sums added into
    ``bias_grad`` (4H,) and row (t, b) of it into ``table_grad[ids[t, b]]``
    (each an empty array for none: the forward's table rows, see
    :func:`lstm_forward_units`); ``w_rows_t`` (P, H, 4U), ``local``
    (P, N, 4U) and ``partials`` (2, P, H, N) are scratch.

    The product ``dgates[t] @ W_hh`` is split over its inner dimension: each
    thread multiplies the gate gradients of its own units (which it has just
    computed, so no thread waits for another's before multiplying) into a
    partial for all H units, and at the next step each thread sums its units'
    rows of every partial. Measured at H=256, N=32 on AVX-512, this
    (256 x 512) x (512 x 32) product takes ~100 us where each thread's
    (128 x 1024) x (1024 x 32) share of the row split took ~120. The partials
    alternate between two buffers, since a thread writes its partial for
    step t while the others may still read theirs of step t + 1.

    With ``panels`` (P, ...) non-empty, thread k packs its rows' transpose
    into ``panels[k]`` and multiplies with :func:`~seqdl.nn.kernels.packed.packed_product`
    (``packed[k]``, ``edge[k]`` its scratch); ``partials`` is then
    (2, P, N, H), each partial row-major.
    """
    steps = gates.shape[0]
    parts, rows, hidden = w_parts.shape
    units = rows // 4
    sums, by_id = bias_grad.shape[0] > 0, table_grad.shape[0] > 0
    own = panels.shape[0] > 0
    for k in prange(parts):
        if own:
            pack_panels_of_transpose(w_parts[k], panels[k])
        else:
            transpose_into(w_parts[k], w_rows_t[k])
    for t in range(steps - 1, -1, -1):
        for k in prange(parts):
            first = k * units
            if t < steps - 1:
                if own:
                    _sum_row_parts_into(partials[(t + 1) % 2], first, units, dh[k])
                else:
                    _sum_parts_into(partials[(t + 1) % 2], first, units, dh[k])
            lstm_units_backward(gates[t], cs[t], tanh_c[t], grad_out[t], dh[k], dc[k], dgates[t], first, units)
            _units_of(dgates[t], first, units, local[k])
            if own:
                packed_product(panels[k], hidden, local[k], packed[k], partials[t % 2, k], 0.0, edge[k])
            else:
                gemm(w_rows_t[k], local[k].T, partials[t % 2, k], 0.0, blas)
            if sums:
                _add_column_sums(local[k], bias_grad, first, units, hidden)
            if by_id:
                _add_rows_by_id(local[k], ids[t], table_grad, first, units, hidden)
    for k in prange(parts):
        if own:
            _sum_row_parts_into(partials[0], k * units, units, dh[k])
        else:
            _sum_parts_into(partials[0], k * units, units, dh[k])


@njit(cache=True, nogil=True, parallel=True)
def lstm_backward_row_blocks(gates, cs, tanh_c, grad_out, w_hh, dh, dc, dgates, bias_grad, ids, table_grad, w_parts,
                             w_rows_t, local, partials, blas, panels, packed, edge):
    """:func:`lstm_backward_units`'s loop with thread k running a block of batch rows, after
    :func:`lstm_forward_row_blocks` (each thread then reads what it wrote itself).

    ``dh``, ``dc`` (N, H): the final state's gradient on entry, the initial
    state's on return; ``w_hh`` (4H, H); ``dgates``, ``bias_grad``, ``ids``
    and ``table_grad`` as for :func:`lstm_backward_units`. Scratch:
    ``w_parts`` (P, 4U, H), ``w_rows_t`` (P, H, 4U), ``local`` (P, R, 4U)
    and ``partials`` (P, P, H * R), R the most rows a thread gets.

    The same bits as the unit split: each thread multiplies its rows' gate
    gradients by W_hh in the unit split's P pieces (units ``k*U:(k+1)*U`` of
    every gate) and adds the pieces in the same order; the column sums and
    the table's rows are added after the loop in the same order (steps from
    the last, rows in order), each thread taking a share of the units so no
    two threads add into one entry. With ``panels`` (P, ...) non-empty the
    pieces are packed products as in :func:`lstm_backward_units`
    (``packed[p]``, ``edge[p]`` thread p's scratch; ``panels[k]`` packed
    here from piece k's weights).
    """
    steps, n, hidden = grad_out.shape
    parts, rows, _ = w_parts.shape
    units = rows // 4
    own = panels.shape[0] > 0
    for k in prange(parts):
        _rows_of_units(w_hh, k * units, units, w_parts[k])
        if own:
            pack_panels_of_transpose(w_parts[k], panels[k])
        else:
            transpose_into(w_parts[k], w_rows_t[k])
    for p in prange(parts):
        a, b = p * n // parts, (p + 1) * n // parts
        if b > a:
            mine = local[p, :b - a]
            count = b - a
            for t in range(steps - 1, -1, -1):
                lstm_units_backward(gates[t, a:b], cs[t, a:b], tanh_c[t, a:b], grad_out[t, a:b], dh[a:b], dc[a:b],
                                    dgates[t, a:b], 0, hidden)
                for k in range(parts):
                    _units_of(dgates[t, a:b], k * units, units, mine)
                    if own:
                        packed_product(panels[k], hidden, mine, packed[p],
                                       partials[p, k, :hidden * count].reshape(count, hidden), 0.0, edge[p])
                    else:
                        gemm(w_rows_t[k], mine.T, partials[p, k, :hidden * count].reshape(hidden, count), 0.0, blas)
                if own:  # dh = the pieces' sum, in the unit split's order (_sum_row_parts_into)
                    for r in range(count):
                        into = dh[a + r]
                        piece = partials[p, 0, r * hidden:(r + 1) * hidden]
                        for j in range(hidden):
                            into[j] = piece[j]
                        for k in range(1, parts):
                            piece = partials[p, k, r * hidden:(r + 1) * hidden]
                            for j in range(hidden):
                                into[j] += piece[j]
                else:
                    for j in range(hidden):  # dh = the pieces' sum, in the unit split's order (_sum_parts_into)
                        for r in range(count):
                            dh[a + r, j] = partials[p, 0, j * count + r]
                        for k in range(1, parts):
                            piece = partials[p, k]
                            for r in range(count):
                                dh[a + r, j] += piece[j * count + r]
    sums, by_id = bias_grad.shape[0] > 0, table_grad.shape[0] > 0
    if sums or by_id:
        for k in prange(parts):
            first, last = k * units, (k + 1) * units
            for t in range(steps - 1, -1, -1):
                for row in range(n):
                    source = dgates[t, row]
                    for gate in range(4):
                        part = source[gate * hidden + first:gate * hidden + last]
                        if sums:
                            into = bias_grad[gate * hidden + first:gate * hidden + last]
                            for j in range(units):
                                into[j] += part[j]
                        if by_id:
                            into = table_grad[ids[t, row], gate * hidden + first:gate * hidden + last]
                            for j in range(units):
                                into[j] += part[j]


@njit(cache=True, nogil=True)
def _add_column_sums(local, bias_grad, first, units, hidden):
    """bias_grad's entries for units ``first:first+units`` += the column sums of ``local`` (N, 4U)."""
    for gate in range(4):
        into = bias_grad[gate * hidden + first:gate * hidden + first + units]
        for b in range(local.shape[0]):
            row = local[b, gate * units:(gate + 1) * units]
            for j in range(units):
                into[j] += row[j]


@njit(cache=True, nogil=True)
def _add_rows_by_id(local, ids, table_grad, first, units, hidden):
    """Row b of ``local`` (N, 4U) into row ``ids[b]`` of ``table_grad`` (rows, 4H), in units ``first:first+units``."""
    for b in range(local.shape[0]):
        into = table_grad[ids[b]]
        for gate in range(4):
            part, row = into[gate * hidden + first:gate * hidden + first + units], local[b, gate * units:(gate + 1) * units]
            for j in range(units):
                part[j] += row[j]


@njit(cache=True, nogil=True, parallel=True)
def add_products_t(a, b, out, partials, blas):
    """``out += a.T @ b`` for a (K, M) and b (K, N), the K rows split over ``len(partials) + 1`` threads.

    The first thread adds its rows' product into ``out``; ``partials``
    (P - 1, M, N) is scratch for the others', added after it in thread order
    (so the result does not depend on timing). ``blas``: the address for
    :func:`seqdl.nn.kernels.blas.gemm`.
    """
    parts, depth = partials.shape[0] + 1, a.shape[0]
    for p in prange(parts):
        start, stop = p * depth // parts, (p + 1) * depth // parts
        if p == 0:
            gemm(a[start:stop].T, b[start:stop], out, 1.0, blas)
        else:
            gemm(a[start:stop].T, b[start:stop], partials[p - 1], 0.0, blas)
    rows, cols = out.shape
    for i in prange(rows):
        for p in range(parts - 1):
            part = partials[p]
            for j in range(cols):
                out[i, j] += part[i, j]


@njit(cache=True, nogil=True, parallel=True)
def products(a, b, out, parts, beta, blas):
    """``out = a @ b + beta * out``, the M rows of ``a`` (M, K) and ``out`` split over ``parts`` threads
    (any layouts :func:`seqdl.nn.kernels.blas.gemm` takes; ``blas``: its address)."""
    rows = a.shape[0]
    for p in prange(parts):
        start, stop = p * rows // parts, (p + 1) * rows // parts
        if stop > start:
            gemm(a[start:stop], b, out[start:stop], beta, blas)
