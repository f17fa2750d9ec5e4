"""Specialised Numba kernels agree with the general ones they stand in for."""

from __future__ import annotations

import numpy as np

from seqdl.nn.kernels.pool import max_pool_2x2_forward, max_pool_forward


def test_unrolled_2x2_max_pool_matches_the_general_kernel_including_ties():
    x = np.random.default_rng(0).integers(0, 3, (3, 2, 6, 7)).astype(np.float32)  # many ties
    y, arg = np.empty((3, 2, 3, 3), np.float32), np.empty((3, 2, 3, 3), np.int64)
    y2, arg2 = np.empty_like(y), np.empty_like(arg)
    max_pool_forward(x, 2, 2, 2, 2, y, arg)
    max_pool_2x2_forward(x, y2, arg2)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(arg, arg2)
