"""Numba kernels for one time step of the LSTM, GRU and Elman RNN cells.

The matrix products (input projection, ``h @ W_hh^T``, weight gradients) run
in BLAS; these kernels fuse everything elementwise around them into one pass
over the batch: adding the recurrent product to the precomputed input
projection, the gate nonlinearities, and the cell update, or in reverse their
derivatives. Arrays are C-contiguous (N, 4H) gate blocks and (N, H) states,
gate order i, f, g, o (LSTM) and r, z, n (GRU) as PyTorch. The activated
gates are all the backward pass needs of the gate block: the GRU's replace
the pre-activations in place, the LSTM's go to an array of their own.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from ...kernel_flags import FASTMATH

# error_model="numpy" drops the ZeroDivisionError check that would otherwise
# keep the rational tanh's division from vectorising.

# Eigen's rational minimax approximation of tanh for float32 (odd 13/even 6),
# accurate to a few ulp on [-7.9, 7.9] and saturated outside. Unlike libm
# calls it vectorises, which makes the LSTM gate pass ~10x faster.
_F32 = np.float32
_CLAMP = _F32(7.90531110763549805)
_A1, _A3, _A5, _A7 = _F32(4.89352455891786e-03), _F32(6.37261928875436e-04), _F32(1.48572235717979e-05), \
    _F32(5.12229709037114e-08)
_A9, _A11, _A13 = _F32(-8.60467152213735e-11), _F32(2.00018790482477e-13), _F32(-2.76076847742355e-16)
_B0, _B2, _B4, _B6 = _F32(4.89352518554385e-03), _F32(2.26843463243900e-03), _F32(1.18534705686654e-04), \
    _F32(1.19825839466702e-06)
_HALF = _F32(0.5)


def fast_tanh(x):
    """tanh: a vectorisable rational approximation for float32, exact ``math.tanh`` otherwise."""
    return math.tanh(x)


def fast_sigmoid(x):
    """The logistic function through :func:`fast_tanh`: 0.5 + 0.5 tanh(x / 2)."""
    return 0.5 + 0.5 * math.tanh(0.5 * x)


@overload(fast_tanh)
def _fast_tanh_impl(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def tanh32(x):
            v = min(max(x, -_CLAMP), _CLAMP)
            v2 = v * v
            p = ((((((_A13 * v2 + _A11) * v2 + _A9) * v2 + _A7) * v2 + _A5) * v2 + _A3) * v2 + _A1) * v
            q = ((_B6 * v2 + _B4) * v2 + _B2) * v2 + _B0
            return p / q
        return tanh32
    return lambda x: math.tanh(x)


@overload(fast_sigmoid)
def _fast_sigmoid_impl(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: _HALF + _HALF * fast_tanh(_HALF * x)
    return lambda x: 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def lstm_step_forward(pre, gates, recurrent, c_prev, c, h, tanh_c):
    """Activate the gates and update the cell for one step.

    ``pre`` holds the input projection plus biases, ``recurrent`` is
    ``h_prev @ W_hh^T``; writes the activated (i, f, g, o) into ``gates``
    (another array than ``pre``: see :func:`lstm_units_forward`), the new
    cell ``c``, hidden state ``h`` and ``tanh_c = tanh(c)``.
    """
    lstm_units_forward(pre, gates, recurrent, c_prev, c, h, tanh_c, 0, c.shape[1])


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def lstm_units_forward(pre, gates, recurrent, c_prev, c, h, tanh_c, first, units):
    """:func:`lstm_step_forward` for the hidden units ``first:first + units`` only (one thread's share).

    ``pre``, ``gates``, ``c_prev``, ``c``, ``h`` and ``tanh_c`` are the whole
    (N, 4H) and (N, H) arrays; ``recurrent`` (N, 4 * units) holds just these
    units' four gate blocks of ``h_prev @ W_hh^T``. ``gates`` must not be
    ``pre``: LLVM checks the two for overlap and, finding it, runs the
    scalar loop (61 against 9 us for 32 x 128 units, float32); reading one
    array and writing another it vectorises.
    """
    hidden = c.shape[1]
    for b in range(c.shape[0]):
        _lstm_units_row(pre[b], gates[b], recurrent[b], c_prev[b], c[b], h[b], tanh_c[b], first, units, hidden)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def lstm_units_forward_rows(table, ids, gates, recurrent, c_prev, c, h, tanh_c, first, units):
    """:func:`lstm_units_forward` with row b's pre-activations ``table[ids[b]]`` (a language model's embedding
    projected once), so they are never gathered into an array of their own."""
    hidden = c.shape[1]
    for b in range(c.shape[0]):
        _lstm_units_row(table[ids[b]], gates[b], recurrent[b], c_prev[b], c[b], h[b], tanh_c[b], first, units,
                        hidden)


@njit(inline="always", nogil=True, fastmath=FASTMATH, error_model="numpy")
def _lstm_units_row(pre, gates, rec, c_prev, c, h, tanh_c, first, units, hidden):
    """One batch row of :func:`lstm_units_forward`: pre-activations ``pre`` (4H,) to activated ``gates`` (4H,)."""
    last = first + units
    # 1-D views per gate: with them LLVM vectorises the loop (2-D indexing
    # with offsets made it ~10x slower).
    pi_, pf_ = pre[first:last], pre[hidden + first:hidden + last]
    pg_, po_ = pre[2 * hidden + first:2 * hidden + last], pre[3 * hidden + first:3 * hidden + last]
    gi_, gf_ = gates[first:last], gates[hidden + first:hidden + last]
    gg_, go_ = gates[2 * hidden + first:2 * hidden + last], gates[3 * hidden + first:3 * hidden + last]
    ri, rf, rg, ro = rec[:units], rec[units:2 * units], rec[2 * units:3 * units], rec[3 * units:4 * units]
    cp, cb, hb, tb = c_prev[first:last], c[first:last], h[first:last], tanh_c[first:last]
    for j in range(units):
        gi = fast_sigmoid(pi_[j] + ri[j])
        gf = fast_sigmoid(pf_[j] + rf[j])
        gg = fast_tanh(pg_[j] + rg[j])
        go = fast_sigmoid(po_[j] + ro[j])
        gi_[j], gf_[j], gg_[j], go_[j] = gi, gf, gg, go
        cv = gf * cp[j] + gi * gg
        tc = fast_tanh(cv)
        cb[j], tb[j], hb[j] = cv, tc, go * tc


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def lstm_step_backward(gates, c_prev, tanh_c, grad_h_out, dh, dc, dgates):
    """Back through one LSTM step.

    ``gates`` are the activated gates saved by the forward pass;
    ``grad_h_out`` is the loss gradient arriving at this step's output and
    ``dh`` the gradient carried back from the next step into this ``h``.
    ``dc`` holds the gradient into this step's cell on entry and is replaced
    by the gradient into ``c_prev``. Writes the pre-activation gate gradients
    into ``dgates``.
    """
    lstm_units_backward(gates, c_prev, tanh_c, grad_h_out, dh, dc, dgates, 0, dc.shape[1])


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def lstm_units_backward(gates, c_prev, tanh_c, grad_h_out, dh, dc, dgates, first, units):
    """:func:`lstm_step_backward` for the hidden units ``first:first + units`` only (one thread's share).

    ``gates``, ``c_prev``, ``tanh_c``, ``grad_h_out`` and ``dgates`` are the
    whole arrays; ``dh`` and ``dc`` (N, units) hold just these units.
    """
    n, hidden = c_prev.shape
    last = first + units
    for b in range(n):
        row, drow = gates[b], dgates[b]
        gi_, gf_ = row[first:last], row[hidden + first:hidden + last]
        gg_, go_ = row[2 * hidden + first:2 * hidden + last], row[3 * hidden + first:3 * hidden + last]
        di, df = drow[first:last], drow[hidden + first:hidden + last]
        dg, do = drow[2 * hidden + first:2 * hidden + last], drow[3 * hidden + first:3 * hidden + last]
        cp, tb, gh = c_prev[b][first:last], tanh_c[b][first:last], grad_h_out[b][first:last]
        dhb, dcb = dh[b], dc[b]
        for j in range(units):
            gi, gf, gg, go, tc = gi_[j], gf_[j], gg_[j], go_[j], tb[j]
            dhv = gh[j] + dhb[j]
            dcv = dcb[j] + dhv * go * (1 - tc * tc)
            di[j] = dcv * gg * gi * (1 - gi)
            df[j] = dcv * cp[j] * gf * (1 - gf)
            dg[j] = dcv * gi * (1 - gg * gg)
            do[j] = dhv * tc * go * (1 - go)
            dcb[j] = dcv * gf


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def rnn_step_forward(pre, recurrent, h, relu):
    """h = tanh(pre + recurrent), or relu(...) when ``relu``."""
    n, hidden = h.shape
    for b in range(n):
        p, r, hb = pre[b], recurrent[b], h[b]
        for j in range(hidden):
            v = p[j] + r[j]
            if relu:
                hb[j] = v if v > 0 else 0 * v
            else:
                hb[j] = fast_tanh(v)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def rnn_step_backward(h, grad_h_out, dh, dpre, relu):
    """dpre = (grad_h_out + dh) * f'(pre), with f' read from the saved output h."""
    n, hidden = h.shape
    for b in range(n):
        hb, gb, dhb, db = h[b], grad_h_out[b], dh[b], dpre[b]
        for j in range(hidden):
            g = gb[j] + dhb[j]
            v = hb[j]
            if relu:
                db[j] = g if v > 0 else 0 * g
            else:
                db[j] = g * (1 - v * v)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def gru_step_forward(gates, recurrent, b_hn, h_prev, h, hn):
    """One GRU step as torch: r, z = sigmoid(.), n = tanh(x_n + r * (W_hn h + b_hn)), h = (1 - z) n + z h_prev.

    ``gates`` holds the input projection (plus ``b_ih``, and ``b_hh`` for r and
    z) on entry and the activated (r, z, n) on return; ``recurrent`` is
    ``h_prev @ W_hh^T`` without bias. Writes ``h`` and ``hn = W_hn h_prev + b_hn``,
    which the backward pass needs for the reset gate.
    """
    n, hidden = h.shape
    for b in range(n):
        row, rec = gates[b], recurrent[b]
        gr_, gz_, gn_ = row[:hidden], row[hidden:2 * hidden], row[2 * hidden:]
        rr, rz, rn = rec[:hidden], rec[hidden:2 * hidden], rec[2 * hidden:]
        hp, hb, hnb = h_prev[b], h[b], hn[b]
        for j in range(hidden):
            r = fast_sigmoid(gr_[j] + rr[j])
            z = fast_sigmoid(gz_[j] + rz[j])
            hv = rn[j] + b_hn[j]
            nv = fast_tanh(gn_[j] + r * hv)
            gr_[j], gz_[j], gn_[j] = r, z, nv
            hnb[j] = hv
            hb[j] = (1 - z) * nv + z * hp[j]


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def gru_step_backward(gates, hn, h_prev, grad_h_out, dh_rec, dh_direct, dgates, drec):
    """Back through one GRU step.

    The gradient reaching this step's ``h`` is ``grad_h_out + dh_rec +
    dh_direct`` (the output's, and the next step's through ``W_hh`` and
    through ``z * h``). Writes the pre-activation gradients of the input
    projection into ``dgates`` and of ``h_prev @ W_hh^T + b_hh`` into ``drec``
    (they differ in the n block by the factor r), and replaces ``dh_direct``
    by the part of the gradient into ``h_prev`` that bypasses ``W_hh``.
    """
    n, hidden = h_prev.shape
    for b in range(n):
        row, drow, rrow = gates[b], dgates[b], drec[b]
        gr_, gz_, gn_ = row[:hidden], row[hidden:2 * hidden], row[2 * hidden:]
        dr, dz, dn = drow[:hidden], drow[hidden:2 * hidden], drow[2 * hidden:]
        rn = rrow[2 * hidden:]
        hp, hnb, gh, dhr, dhd = h_prev[b], hn[b], grad_h_out[b], dh_rec[b], dh_direct[b]
        for j in range(hidden):
            r, z, nv = gr_[j], gz_[j], gn_[j]
            dhv = gh[j] + dhr[j] + dhd[j]
            dnv = dhv * (1 - z) * (1 - nv * nv)
            drv = dnv * hnb[j] * r * (1 - r)
            dzv = dhv * (hp[j] - nv) * z * (1 - z)
            dr[j], dz[j], dn[j] = drv, dzv, dnv
            rrow[j], rrow[hidden + j] = drv, dzv
            rn[j] = dnv * r
            dhd[j] = dhv * z
