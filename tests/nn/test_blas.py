"""The numba GEMM that calls numpy's OpenBLAS or MKL (seqdl.nn.kernels.blas), against numpy's own product."""

from __future__ import annotations

import glob
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from seqdl.nn.kernels.blas import address_for, gemm, kernel_address_for, kernel_blas

#: The mkl extra is installed, and numpy is not linked to an MKL of its own (seqdl then leaves MKL alone).
MKL_INSTALLED = bool(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*"))) and \
    "mkl" not in str(np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})).lower()


def _laid_out(x: np.ndarray, layout: str) -> np.ndarray:
    """``x`` as a C array, an F array, a block inside a larger C array, a transposed block, or every other element."""
    if layout == "C":
        return np.ascontiguousarray(x)
    if layout == "F":
        return np.asfortranarray(x)
    rows, cols = x.shape
    if layout == "block":
        host = np.full((rows + 3, cols + 4), np.nan, dtype=x.dtype)
        host[2:2 + rows, 1:1 + cols] = x
        return host[2:2 + rows, 1:1 + cols]
    if layout == "transposed block":
        host = np.full((cols + 3, rows + 4), np.nan, dtype=x.dtype)
        host[1:1 + cols, 2:2 + rows] = x.T
        return host[1:1 + cols, 2:2 + rows].T
    host = np.full((2 * rows + 1, 2 * cols + 1), np.nan, dtype=x.dtype)
    host[:2 * rows:2, :2 * cols:2] = x
    return host[:2 * rows:2, :2 * cols:2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("library", ["numpy", "mkl", "fallback"], ids=["numpy's OpenBLAS", "MKL", "np.dot fallback"])
def test_gemm_matches_numpy_for_every_layout_and_writes_only_its_output(dtype, library):
    address = {"numpy": address_for(dtype), "mkl": kernel_address_for(dtype), "fallback": 0}[library]
    if library == "numpy" and not address:
        pytest.skip("numpy has no ILP64 OpenBLAS of its own here")
    if library == "mkl" and not kernel_blas().startswith("MKL"):
        pytest.skip("the mkl extra is not installed")
    rng = np.random.default_rng(0)
    layouts = ["C", "F", "block", "transposed block", "strided"]
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for m, k, n in [(7, 5, 3), (1, 5, 3), (7, 1, 3), (7, 5, 1), (0, 5, 3), (7, 0, 3), (33, 70, 17)]:
        a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
        for layout_a, layout_b, beta in itertools.product(layouts, layouts, (0.0, 1.0)):
            start = rng.standard_normal((m, n)).astype(dtype)
            host = np.full((m + 2, n + 5), -7.0, dtype=dtype)
            out = host[1:1 + m, 2:2 + n]
            out[...] = start
            gemm(_laid_out(a, layout_a), _laid_out(b, layout_b), out, beta, address)
            np.testing.assert_allclose(out, a @ b + beta * start, rtol=tolerance, atol=tolerance,
                                       err_msg=f"{m}x{k}x{n} {layout_a} {layout_b} beta={beta}")
            outside = np.ones(host.shape, dtype=bool)
            outside[1:1 + m, 2:2 + n] = False
            assert np.all(host[outside] == -7.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_views_blas_cannot_address_go_to_numpy_and_beta_scales(dtype):
    """Reversed, broadcast and overlapping views give numpy's product (BLAS would read or write outside
    them), and any beta scales what ``out`` held."""
    rng = np.random.default_rng(1)
    address = address_for(dtype)
    a, b = rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((3, 5)).astype(dtype)
    windows = np.lib.stride_tricks.sliding_window_view(rng.standard_normal(10).astype(dtype), 3)  # rows overlap
    broadcast = np.broadcast_to(rng.standard_normal(3).astype(dtype), (4, 3))  # zero row stride
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for left in (a[::-1], broadcast, windows[:4]):
        out = np.zeros((4, 5), dtype=dtype)
        gemm(left, b, out, 0.0, address)
        np.testing.assert_allclose(out, left @ b, rtol=tolerance, atol=tolerance)
    host = np.zeros((12, 5), dtype=dtype)
    gemm(a, b, host[4:8][::-1], 0.0, address)  # a reversed output
    np.testing.assert_allclose(host[4:8][::-1], a @ b, rtol=tolerance, atol=tolerance)
    assert not host[:4].any() and not host[8:].any()
    for beta in (0.5, 2.0):
        start = rng.standard_normal((4, 5)).astype(dtype)
        out = start.copy()
        gemm(a, b, out, beta, address)
        np.testing.assert_allclose(out, a @ b + beta * start, rtol=tolerance, atol=tolerance)


def test_addresses_exist_only_for_float32_and_float64():
    assert address_for(np.float16) == 0 and address_for(np.int64) == 0


def test_the_kernels_products_go_to_mkl_when_installed_and_not_when_turned_off():
    """With the mkl extra the kernels' own products use MKL (single-threaded); SEQDL_MKL=0 keeps numpy's BLAS."""
    if MKL_INSTALLED:
        assert kernel_blas().startswith("MKL") and kernel_blas().endswith("(sequential)")
        assert kernel_address_for(np.float32) not in (0, address_for(np.float32))
    else:
        assert kernel_address_for(np.float32) == address_for(np.float32)
    code = "from seqdl.nn.kernels.blas import kernel_blas; print(kernel_blas())"
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "SEQDL_MKL": "0"})
    assert not off.stdout.startswith("MKL")
