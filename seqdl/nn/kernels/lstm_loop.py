"""The LSTM's whole time loop for one block of batch rows on one thread, no Python between steps.

The single-thread path (``workers=1``, and each block of ``threading="rows"``)
of :class:`seqdl.nn.time_loops.LSTMLoop` in training and long loops. Each step
multiplies ``W_hh @ h^T`` (the long dimension first, as
:class:`~seqdl.nn.time_loops.RecurrentProduct` found faster for the LSTM),
copies it back to row-major and runs the fused cell kernel; backwards, the
cell's derivative then ``W_hh^T @ dgates^T``, copied back into ``dh``. The
products go through :func:`seqdl.nn.kernels.blas.gemm` to the caller's
``blas`` (:func:`~seqdl.nn.kernels.blas.kernel_address_for`: MKL's
single-threaded GEMM with the ``mkl`` extra, else numpy's OpenBLAS with the
threads numpy's BLAS has). Measured on one AVX-512 core (Intel Xeon, H=256,
N=32, T=64), whole training steps with OpenBLAS: 7 % faster than a Python
loop over the steps, 4 % at H=512.
"""

from __future__ import annotations

from numba import njit

from .blas import gemm
from .packed import packed_product
from .recurrent import lstm_units_backward, lstm_units_forward_rows
from .transpose import transpose_into


@njit(cache=True, nogil=True)
def lstm_forward_block(table, ids, w_hh, gates, hs, cs, tanh_c, product, recurrent, a, b, blas, panels, packed, edge):
    """Rows ``a:b`` of the forward loop: step t's row r starts from ``table[ids[t, r]]``.

    ``gates`` (T, N, 4H), ``hs``, ``cs`` (T+1, N, H) with the initial state
    in row 0, ``tanh_c`` (T, N, H) as :func:`seqdl.nn.kernels.unit_threads.lstm_forward_units`
    writes them; ``product`` (4H, b - a) and ``recurrent`` (b - a, at least
    4H) are scratch; ``blas`` the address for :func:`~seqdl.nn.kernels.blas.gemm`.
    With ``panels`` (``W_hh`` packed by :func:`~seqdl.nn.kernels.packed.pack_panels`;
    empty for none) each step multiplies with :func:`~seqdl.nn.kernels.packed.packed_product`
    instead, ``packed`` and ``edge`` its scratch, straight into ``recurrent``.
    """
    hidden = hs.shape[2]
    own = panels.shape[0] > 0
    for t in range(gates.shape[0]):
        if own:
            packed_product(panels, 4 * hidden, hs[t, a:b], packed, recurrent, 0.0, edge)
        else:
            gemm(w_hh, hs[t, a:b].T, product, 0.0, blas)
            transpose_into(product, recurrent)
        lstm_units_forward_rows(table, ids[t, a:b], gates[t, a:b], recurrent, cs[t, a:b], cs[t + 1, a:b],
                                hs[t + 1, a:b], tanh_c[t, a:b], 0, hidden)


@njit(cache=True, nogil=True)
def lstm_backward_block(gates, cs, tanh_c, grad_out, w_hh, dh, dc, dgates, product, a, b, blas, panels, packed,
                        edge):
    """Rows ``a:b`` of the backward loop after :func:`lstm_forward_block`.

    ``dh``, ``dc`` (N, H): the final state's gradient on entry, the initial
    state's on return (rows ``a:b``); ``dgates`` (T, N, 4H) is written;
    ``product`` (H, b - a) is scratch; ``panels`` (``W_hh^T`` packed by
    :func:`~seqdl.nn.kernels.packed.pack_panels_of_transpose`, or empty),
    ``packed`` and ``edge`` as for :func:`lstm_forward_block`.
    """
    hidden = dh.shape[1]
    own = panels.shape[0] > 0
    for t in range(gates.shape[0] - 1, -1, -1):
        lstm_units_backward(gates[t, a:b], cs[t, a:b], tanh_c[t, a:b], grad_out[t, a:b], dh[a:b], dc[a:b],
                            dgates[t, a:b], 0, hidden)
        if own:
            packed_product(panels, hidden, dgates[t, a:b], packed, dh[a:b], 0.0, edge)
        else:
            gemm(w_hh.T, dgates[t, a:b].T, product, 0.0, blas)
            transpose_into(product, dh[a:b])
