"""The packed-weight GEMM of the recurrent loops (seqdl.nn.kernels.packed)."""

import numpy as np
import pytest
from numba.core.errors import TypingError

from seqdl.nn.kernels.packed import (TILE_ROWS, UNROLL, pack_panels, pack_panels_of_transpose, pack_rows,
                                     packed_product, packed_weight, panel_width, product_scratch)


def _product(w, x, out, beta=0.0):
    """out = x @ w.T (+ out) through the packed kernel."""
    packed, edge = product_scratch(x.shape[0], w.shape[1], w.dtype)
    packed_product(packed_weight(w), w.shape[0], x, packed, out, beta, edge)
    return out


SHAPES = [(32, 1024, 256), (1, 1, 1), (TILE_ROWS, panel_width(np.float32), UNROLL), (7, 136, 34), (9, 37, 1),
          (16, 256, 1024), (33, 100, 17), (3, 5, 0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,m,k", SHAPES)
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_the_product_is_x_times_w_transposed(dtype, n, m, k, beta):
    """Edges in every dimension (rows past a tile, columns past a panel, k past the unroll), written into a
    view whose rows are further apart than its width, the columns around it untouched."""
    rng = np.random.default_rng(n * 1000 + m + k)
    w, x = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((n, k)).astype(dtype)
    room = rng.standard_normal((n, m + 5)).astype(dtype)
    held = room.copy()
    out = room[:, 2:m + 2]
    _product(w, x, out, beta)
    expected = x.astype(np.float64) @ w.T.astype(np.float64) + beta * held[:, 2:m + 2]
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance * max(1, k))
    np.testing.assert_array_equal(room[:, :2], held[:, :2])
    np.testing.assert_array_equal(room[:, m + 2:], held[:, m + 2:])


def test_nan_in_the_output_is_ignored_with_beta_zero():
    w, x = np.ones((40, 8), np.float32), np.ones((9, 8), np.float32)
    out = np.full((9, 40), np.nan, np.float32)
    np.testing.assert_array_equal(_product(w, x, out), np.full((9, 40), 8, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_bits_do_not_depend_on_the_split_of_rows_or_columns(dtype):
    """What the LSTM's row blocks and unit threads rely on: any block of rows of x, and any block of rows of W
    packed on its own, give exactly the whole product's entries."""
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((136, 34)).astype(dtype), rng.standard_normal((32, 34)).astype(dtype)
    whole = _product(w, x, np.empty((32, 136), dtype))
    for a, b in ((0, 1), (1, 4), (3, 17), (17, 32)):
        np.testing.assert_array_equal(_product(w, x[a:b], np.empty((b - a, 136), dtype)), whole[a:b])
    for lo, hi in ((0, 34), (34, 68), (5, 136), (100, 101)):
        np.testing.assert_array_equal(_product(w[lo:hi], x, np.empty((32, hi - lo), dtype)), whole[:, lo:hi])


def test_packing_a_transpose_equals_packing_the_copy():
    rng = np.random.default_rng(1)
    for rows, depth in ((37, 21), (256, 1024), (3, 1)):
        w = rng.standard_normal((depth, rows)).astype(np.float32)
        assert np.array_equal(packed_weight(w, transposed=True), packed_weight(np.ascontiguousarray(w.T)))


@pytest.mark.parametrize("width", [4, 12, 16, 24, 32])
def test_packing_matches_its_definition_for_every_panel_width(width):
    """The widths of float32 and float64 with AVX2 and AVX-512 registers (12: three registers of 4 float64,
    where groups of eight rows straddle two panels), whichever this machine compiles for."""
    rng = np.random.default_rng(width)
    for rows, depth in ((37, 5), (48, 9), (8, 3), (3, 1)):
        w = rng.standard_normal((rows, depth))
        expected = np.zeros((-(-rows // width), -(-depth // UNROLL) * UNROLL, width))
        for j in range(rows):
            expected[j // width, :depth, j % width] = w[j]
        for pack, source in ((pack_panels, w), (pack_panels_of_transpose, np.ascontiguousarray(w.T))):
            panels = np.full_like(expected, np.nan)
            pack(source, panels)
            np.testing.assert_array_equal(panels, expected)


def test_panels_are_padded_with_zeros():
    w = np.arange(1, 1 + 3 * 5, dtype=np.float64).reshape(3, 5)
    panels = np.full((1, -(-5 // UNROLL) * UNROLL, panel_width(np.float64)), np.nan)
    pack_panels(w, panels)
    assert panels[0, :5, :3].T.tolist() == w.tolist()
    assert not panels[0, 5:].any() and not panels[0, :, 3:].any()
    again = np.full_like(panels, np.nan)
    pack_panels_of_transpose(np.ascontiguousarray(w.T), again)
    np.testing.assert_array_equal(again, panels)


def test_mixed_element_types_are_refused_at_compile_time():
    w, x = np.ones((4, 4), np.float32), np.ones((2, 4), np.float64)
    packed, edge = product_scratch(2, 4, np.float64)
    with pytest.raises(TypingError):
        packed_product(packed_weight(w), 4, x, packed, np.empty((2, 4), np.float64), 0.0, edge)


def test_operands_the_tiles_would_overrun_are_refused():
    """The tiles write through raw pointers: scratch, outputs or rows of the wrong shape raise; so do panels
    of another width or an unpadded depth (what a caller compiled against an older layout would pass), a
    beta other than 0 or 1, and packing into panels or scratch too small."""
    w, x = np.ones((40, 8), np.float32), np.ones((9, 8), np.float32)
    panels = packed_weight(w)
    packed, edge = product_scratch(9, 8, np.float32)
    width = panel_width(np.float32)
    for bad in (dict(packed=product_scratch(8, 8, np.float32)[0]), dict(packed=product_scratch(9, 16, np.float32)[0]),
                dict(out=np.empty((9, 39), np.float32)), dict(out=np.empty((8, 40), np.float32)),
                dict(x=np.ones((9, 16), np.float32)), dict(edge=np.empty((TILE_ROWS, 8), np.float32)),
                dict(panels=np.zeros((8, 8, width // 2), np.float32)), dict(panels=np.zeros((2, 9, width), np.float32),
                                                                            packed=np.zeros((2, 9, TILE_ROWS), np.float32)),
                dict(beta=2.0), dict(beta=np.nan)):
        args = dict(panels=panels, x=x, packed=packed, out=np.empty((9, 40), np.float32), edge=edge, beta=0.0) | bad
        with pytest.raises(ValueError, match="packed_product"):
            packed_product(args["panels"], 40, args["x"], args["packed"], args["out"], args["beta"], args["edge"])
    with pytest.raises(ValueError, match="pack_panels"):
        pack_panels(w, np.empty((1, 8, width), np.float32))
    with pytest.raises(ValueError, match="pack_panels_of_transpose"):
        pack_panels_of_transpose(np.ascontiguousarray(w.T), np.empty((2, 4, width), np.float32))
    with pytest.raises(ValueError, match="pack_rows"):
        pack_rows(x, np.empty((1, 8, TILE_ROWS), np.float32))


def test_spare_row_tiles_are_zeros():
    """Scratch with more tiles than the rows need: the spare tiles are zeros, the product unchanged."""
    w, x = np.arange(40 * 8, dtype=np.float64).reshape(40, 8), np.ones((3, 8))
    packed = np.full((4, UNROLL * 2, TILE_ROWS), np.nan)
    out = np.empty((3, 40))
    packed_product(packed_weight(w), 40, x, packed, out, 0.0, product_scratch(3, 8, np.float64)[1])
    np.testing.assert_array_equal(out, x @ w.T)
    assert not packed[1:].any() and not packed[0, :, 3:].any()


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            return next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        return set()


@pytest.mark.skipif(not {"avx512f", "avx2", "fma"} <= _cpu_flags(),
                    reason="only an AVX-512 machine needs this: elsewhere the run itself compiles for AVX2 or less")
def test_the_avx2_kernels_on_an_avx512_machine():
    """The tile's AVX2 shape (4 x 3 registers; 12-wide float64 panels, groups of rows straddling panels) is
    what an AVX2 machine runs: this file's tests and the LSTM's packed loops, compiled for Haswell."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES="-avx512f")
    check = "from seqdl.nn.kernels.packed import vector_bytes, TILE_ROWS; print(vector_bytes(), TILE_ROWS)"
    assert subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True,
                          cwd=root).stdout.split() == ["32", "4"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/nn/test_packed.py",
                           "tests/nn/test_recurrent.py", "-k", "packed and not avx2_kernels"],
                          env=env, capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
