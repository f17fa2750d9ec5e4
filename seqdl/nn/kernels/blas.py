"""GEMM for numba kernels through numpy's own OpenBLAS, where numpy has one.

Called from numba, ``np.dot`` multiplies with the OpenBLAS bundled with SciPy;
numpy's wheels bundle another, newer build. Measured on AVX-512 (one thread,
float32), numpy's is ~10 % faster at the transposed products of weight
gradients (``a.T @ b`` for (1024 x 1024) by (1024 x 256): 96 against 86-89
GFLOP/s), with bit-identical results. :func:`gemm` calls numpy's
``cblas_?gemm`` when :data:`SGEMM` / :data:`DGEMM` found it (the ILP64
``scipy_cblas_?gemm64_`` of numpy's scipy-openblas64 build) and falls back to
``np.dot`` otherwise (address 0).

The function's address is an argument, not a global, so the kernels that
call it stay cacheable (numba cannot cache a function that embeds a ctypes
pointer). It is whatever thread count the caller's ``threadpoolctl`` limit
gives numpy's OpenBLAS; the unit threads hold it to one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys
from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["DGEMM", "SGEMM", "address_for", "gemm", "kernel_address_for", "kernel_blas", "kernel_packs"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _numpy_cblas_addresses() -> tuple[int, int]:
    """(sgemm, dgemm) addresses in numpy's bundled ILP64 OpenBLAS, or (0, 0)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return 0, 0
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    for info in threadpool_info():
        path = info.get("filepath", "")
        if info.get("internal_api") != "openblas" or "openblas64_" not in os.path.basename(path) \
                or not path.startswith(os.path.join(numpy_dir, "numpy.libs")):
            continue
        try:
            library = ctypes.CDLL(path)
            found = [ctypes.cast(getattr(library, f"scipy_cblas_{kind}gemm64_"), ctypes.c_void_p).value
                     for kind in "sd"]
        except (OSError, AttributeError):
            return 0, 0
        return found[0] or 0, found[1] or 0
    return 0, 0


#: Addresses of numpy's OpenBLAS ``cblas_sgemm`` / ``cblas_dgemm`` (ILP64), 0 when not found.
SGEMM, DGEMM = _numpy_cblas_addresses()


def address_for(dtype) -> int:
    """The GEMM address for arrays of ``dtype`` (float32 or float64), 0 for the ``np.dot`` fallback."""
    return {np.dtype(np.float32): SGEMM, np.dtype(np.float64): DGEMM}.get(np.dtype(dtype), 0)


#: MKL's value for MKL_Set_Threading_Layer: no threads of its own.
_MKL_THREADING_SEQUENTIAL = 1


@lru_cache(maxsize=None)
def _mkl() -> tuple[int, int, str]:
    """(sgemm, dgemm, version) of MKL's ILP64 ``cblas_?gemm_64`` on its sequential layer, or (0, 0, "").

    MKL is the ``mkl`` extra (``pip install "seqdl[mkl]"``: Intel's wheel puts
    ``libmkl_rt`` in the environment's ``lib``). ``SEQDL_MKL=0`` turns it off.
    Left alone when any MKL is loaded already (numpy's own BLAS, say): its
    threading layer is process-wide, and those threads are the user's to set.
    """
    if os.environ.get("SEQDL_MKL", "1") == "0":
        return 0, 0, ""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return 0, 0, ""
    if any(info.get("internal_api") == "mkl" for info in threadpool_info()):
        return 0, 0, ""
    candidates = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")), reverse=True)
    found = ctypes.util.find_library("mkl_rt")
    for path in candidates + ([found] if found else []):
        try:
            library = ctypes.CDLL(path)
            sgemm, dgemm = (ctypes.cast(getattr(library, f"cblas_{kind}gemm_64"), ctypes.c_void_p).value
                            for kind in "sd")  # ILP64 entry points, as gemm calls them
            if not (sgemm and dgemm):
                continue
            # Before MKL's first call; it answers with the layer in force, which is another one when something
            # else in this process already started MKL with its threads: then leave MKL to that.
            if library.MKL_Set_Threading_Layer(_MKL_THREADING_SEQUENTIAL) != _MKL_THREADING_SEQUENTIAL:
                return 0, 0, ""
            text = ctypes.create_string_buffer(256)
            library.MKL_Get_Version_String(text, 256)
        except (OSError, AttributeError):
            continue
        if sgemm and dgemm:
            version = text.value.decode(errors="replace").split("-Product")[0]
            return sgemm, dgemm, version.replace("Intel(R) oneAPI Math Kernel Library Version", "MKL")
    return 0, 0, ""


def kernel_address_for(dtype) -> int:
    """The GEMM address for the numba kernels' own products (their time loops and split weight gradients).

    MKL's, single-threaded, when the ``mkl`` extra is installed (measured on
    one AVX-512 Intel Xeon core, float32: ``W_hh @ h^T`` at H=256, N=32 in 80
    against OpenBLAS's 120 us, the backward's product in 101 against 129;
    whole LSTM training steps 1.2x faster); else numpy's OpenBLAS
    (:func:`address_for`), with whatever threads its ``threadpoolctl`` limit
    gives. Only where these products already run one per thread: numpy's own
    products keep numpy's BLAS and its threads.
    """
    sgemm, dgemm, _ = _mkl()
    mkl = {np.dtype(np.float32): sgemm, np.dtype(np.float64): dgemm}.get(np.dtype(dtype), 0)
    return mkl or address_for(dtype)


def kernel_packs(dtype) -> bool:
    """Whether the recurrent time loops multiply by weights packed once (:mod:`seqdl.nn.kernels.packed`)
    rather than through :func:`kernel_address_for`.

    Yes, unless ``SEQDL_PACKED=0``: on one AVX-512 Intel Xeon core, float32,
    (1024 x 256) x (256 x 32) took 95-100 us packed, 120 (+ 7.5 for the
    transpose) in OpenBLAS and 80 (+ 7.5) in MKL, but whole LSTM training
    steps ran faster packed than with MKL (1.16-1.17x torch against 1.12x):
    no transposes, no call per step, and the same bits for any row split.
    ``dtype`` is for a future exception; both float types pack.
    """
    return os.environ.get("SEQDL_PACKED", "1") != "0"


def kernel_blas() -> str:
    """Which BLAS :func:`kernel_address_for` gives, for messages: MKL's version, or numpy's OpenBLAS."""
    version = _mkl()[2]
    if version:
        return f"{version} (sequential)"
    return "numpy's OpenBLAS" if SGEMM else "np.dot (SciPy's BLAS)"


@intrinsic
def _call_cblas_gemm(typingctx, address, transa, transb, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """cblas_?gemm(RowMajor, transa, transb, m, n, k, 1, a, lda, b, ldb, beta, c, ldc) at ``address``."""
    sig = types.void(address, transa, transb, m, n, k, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        address, transa, transb, m, n, k, a, lda, b, ldb, beta, c, ldc = args
        i32, i64 = ir.IntType(32), ir.IntType(64)
        dtype = signature.args[11].dtype
        real = context.get_value_type(dtype)
        pointer = real.as_pointer()
        function = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, real, pointer, i64, pointer, i64,
                                                   real, pointer, i64])

        def data(value, array_type):
            return builder.bitcast(context.make_array(array_type)(context, builder, value).data, pointer)

        builder.call(builder.inttoptr(address, function.as_pointer()),
                     [ir.Constant(i32, _ROW_MAJOR), builder.trunc(transa, i32), builder.trunc(transb, i32),
                      m, n, k, ir.Constant(real, 1.0), data(a, signature.args[6]), lda, data(b, signature.args[8]),
                      ldb, context.cast(builder, beta, signature.args[10], dtype), data(c, signature.args[11]), ldc])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always")
def _layout(x):
    """(cblas transpose flag, leading dimension) of a 2-D operand, or (0, 0) when BLAS cannot address it.

    BLAS needs unit stride along one axis and a positive stride along the
    other of at least that axis's length: reversed, broadcast or
    overlapping views go to the ``np.dot`` fallback.
    """
    size = x.itemsize
    rows, cols = x.shape
    down, across = x.strides
    if (across == size or cols == 1) and (rows == 1 or (down > 0 and down % size == 0 and down // size >= cols)):
        return _NO_TRANS, max(cols, 1) if rows == 1 else down // size
    if (down == size or rows == 1) and (cols == 1 or (across > 0 and across % size == 0 and across // size >= rows)):
        return _TRANS, max(rows, 1) if cols == 1 else across // size
    return 0, 0


@njit(cache=True, nogil=True)
def gemm(a, b, out, beta, address):
    """``out = a @ b + beta * out`` (``beta`` 0 ignores what ``out`` held, NaN included).

    ``a`` and ``b`` may be 2-D views with unit stride along either axis (a
    block of rows, a transposed block); ``out`` needs unit stride along its
    rows. ``address`` from :func:`address_for`; 0, or operands BLAS cannot
    address (reversed, broadcast, overlapping, strided both ways), use
    ``np.dot`` on contiguous copies instead.
    """
    m, k = a.shape
    n = b.shape[1]
    if m == 0 or n == 0:
        return
    transa, lda = _layout(a)
    transb, ldb = _layout(b)
    trans_out, ldc = _layout(out)
    if address == 0 or lda == 0 or ldb == 0 or trans_out != _NO_TRANS or k == 0:
        product = np.dot(np.ascontiguousarray(a), np.ascontiguousarray(b))
        if beta == 0:
            out[:] = product
        else:
            if beta != 1:
                out *= beta
            out += product
        return
    _call_cblas_gemm(np.int64(address), transa, transb, np.int64(m), np.int64(n), np.int64(k), a, np.int64(lda),
                     b, np.int64(ldb), float(beta), out, np.int64(ldc))
