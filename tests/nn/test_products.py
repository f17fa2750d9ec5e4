"""The few-row product kernel: a @ w.T exactly enough, and a row's bits do not depend on its batch."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl.nn.kernels.products import rows_times_transpose


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("rows", [1, 2, 5, 8])
@pytest.mark.parametrize("m", [4, 9, 30])  # a whole number of four-row blocks, and a remainder
def test_matches_numpy(dtype, tol, rows, m):
    rng = np.random.default_rng(rows * 100 + m)
    a = rng.standard_normal((rows, 37)).astype(dtype)
    w = rng.standard_normal((m, 37)).astype(dtype)
    out = np.full((rows, m), np.nan, dtype=dtype)
    rows_times_transpose(a, w, out)
    np.testing.assert_allclose(out, a.astype(np.float64) @ w.T.astype(np.float64), rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_row_gives_the_same_bits_alone_and_in_any_batch(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 256)).astype(dtype)
    w = rng.standard_normal((1027, 256)).astype(dtype)
    full = np.empty((7, 1027), dtype=dtype)
    rows_times_transpose(a, w, full)
    for start, stop in [(0, 1), (3, 4), (6, 7), (1, 4), (2, 7)]:
        part = np.empty((stop - start, 1027), dtype=dtype)
        rows_times_transpose(np.ascontiguousarray(a[start:stop]), w, part)
        assert np.array_equal(part, full[start:stop])


def test_nan_and_inf_keep_their_meaning():
    a = np.array([[1.0, np.nan], [np.inf, 1.0]], dtype=np.float32)
    w = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    out = np.empty((2, 5), dtype=np.float32)
    rows_times_transpose(a, w, out)
    assert np.isnan(out[0]).all()
    np.testing.assert_array_equal(out[1], [np.inf, np.nan, np.inf, np.inf, np.inf])  # inf * 0 is NaN
