"""A GEMM with its weight packed once, for the recurrent loops' per-step products ``x @ W^T``.

An LSTM multiplies the same ``W_hh`` by a new small batch of states at every
step. A BLAS call repacks the weight each time (OpenBLAS 0.3.31, one
AVX-512 core, float32: 120 us for (1024 x 256) x (256 x 32), ~140 GFLOP/s,
plus a 7.5 us transpose of its result). Here the weight is packed once per
time loop into panels of ``panel_width`` rows, each stored k-major, and
:func:`packed_product` runs a register-blocked kernel written in LLVM IR:
``TILE_ROWS`` batch rows by two or three vector registers of weight rows (8 x 32
float32 with AVX-512; 4 x 24 with AVX2: three 8-lane registers), the
accumulators kept in registers over the whole inner dimension, one fused
multiply-add per lane and step of k (95-100 us for that product, ~170
GFLOP/s; the result comes out row-major, as the cell kernels read it).
Each panel is read from memory once per product and reused from cache by
every tile of batch rows (at H=512: 437 against 593 us with the rows
outermost).

Each output is its products added one k at a time, in order, from zero,
whatever the tiling: the same bits for any split of the batch rows among
threads, and for any block of output columns at the same inner range.

The vector width follows numba's compilation target (``+avx512f``: 64-byte
vectors, else 32), read once at import; numba keys its disk cache on the
same target. It does not follow callees into other files, though: a kernel
elsewhere may hold an older copy of these (docs/conventions.md), so
:func:`packed_product` checks the panels' width and depth against the
constants it was compiled with and raises rather than write past an array.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["TILE_ROWS", "UNROLL", "pack_panels", "pack_panels_of_transpose", "packed_shape", "packed_weight", "product_scratch", "thread_panels", "thread_scratch", "pack_rows", "packed_product", "panel_width", "vector_bytes"]


def vector_bytes() -> int:
    """Bytes in one vector register of numba's compilation target: 64 with AVX-512, else 32 (AVX2 and older)."""
    from numba.core.registry import cpu_target

    features = cpu_target.target_context.codegen()._tm_features  # what numba compiles for (NUMBA_CPU_* included)
    return 64 if "+avx512f" in features else 32


_VECTOR_BYTES = vector_bytes()
#: Vector registers of weight rows per tile (the tile is _VECTORS x lanes rows of W by TILE_ROWS rows of x):
#: 8 x 2 accumulators of the 32 AVX-512 registers; 4 x 3 of AVX2's 16.
_VECTORS = 2 if _VECTOR_BYTES == 64 else 3
#: Batch rows per tile.
TILE_ROWS = 8 if _VECTOR_BYTES == 64 else 4
#: Steps of k per trip of the kernel's loop (inner dimensions are padded with zeros to a multiple).
UNROLL = 4


def panel_width(dtype) -> int:
    """Weight rows per panel for ``dtype``: the tile's vector registers' lanes."""
    return _VECTORS * _VECTOR_BYTES // np.dtype(dtype).itemsize


def padded(k: int) -> int:
    """``k`` rounded up to a multiple of :data:`UNROLL` (packed inner dimensions are padded with zeros)."""
    return -(-k // UNROLL) * UNROLL


@intrinsic
def _tile(typingctx, panels, panel_at, rows, rows_at, out, out_at, out_stride, depth, beta):
    """out[r, i] (+)= sum_k rows[rows_at + k*TILE_ROWS + r] * panels[panel_at + k*width + i], for the whole tile.

    ``depth`` (a multiple of UNROLL, at least UNROLL) steps of k, each a
    fused multiply-add into accumulators held in registers; ``out`` is
    written at ``out_at + r * out_stride + i``, added to what it held where
    ``beta`` is non-zero.
    """
    if not (panels.dtype == rows.dtype == out.dtype and panels.dtype in (types.float32, types.float64)):
        return None  # one element type throughout: the kernel reads all three through the same pointer type
    sig = types.void(panels, panel_at, rows, rows_at, out, out_at, out_stride, depth, beta)

    def codegen(context, builder, signature, args):
        panels, panel_at, rows, rows_at, out, out_at, out_stride, depth, beta = args
        dtype = signature.args[0].dtype
        real = context.get_value_type(dtype)
        pointer = real.as_pointer()
        lanes = _VECTOR_BYTES // (4 if dtype == types.float32 else 8)
        width, tile_rows = lanes * _VECTORS, TILE_ROWS
        vector = ir.VectorType(real, lanes)
        i32, i64 = ir.IntType(32), ir.IntType(64)
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector] * 3),
                                             f"llvm.fma.v{lanes}f{32 if dtype == types.float32 else 64}")

        def data(value, array_type, at):
            base = builder.bitcast(context.make_array(array_type)(context, builder, value).data, pointer)
            return builder.gep(base, [at])

        a_base = data(panels, signature.args[0], panel_at)
        b_base = data(rows, signature.args[2], rows_at)
        c_base = data(out, signature.args[4], out_at)
        entry = builder.block
        loop = builder.append_basic_block("tile.loop")
        done = builder.append_basic_block("tile.done")
        zero = ir.Constant(vector, [0.0] * lanes)
        undef = ir.Constant(vector, ir.Undefined)
        splat = ir.Constant(ir.VectorType(i32, lanes), [0] * lanes)
        builder.branch(loop)
        builder.position_at_end(loop)
        k = builder.phi(i64)
        k.add_incoming(ir.Constant(i64, 0), entry)
        phis = [[builder.phi(vector) for _ in range(_VECTORS)] for _ in range(tile_rows)]
        for row in phis:
            for phi in row:
                phi.add_incoming(zero, entry)
        sums = [list(row) for row in phis]
        for u in range(UNROLL):
            step = builder.add(k, ir.Constant(i64, u))
            a_at = builder.gep(a_base, [builder.mul(step, ir.Constant(i64, width))])
            a = [builder.load(builder.bitcast(builder.gep(a_at, [ir.Constant(i64, v * lanes)]), vector.as_pointer()),
                              align=4) for v in range(_VECTORS)]
            b_at = builder.gep(b_base, [builder.mul(step, ir.Constant(i64, tile_rows))])
            for r in range(tile_rows):
                scalar = builder.load(builder.gep(b_at, [ir.Constant(i64, r)]))
                b = builder.shuffle_vector(builder.insert_element(undef, scalar, ir.Constant(i32, 0)), undef, splat)
                for v in range(_VECTORS):
                    sums[r][v] = builder.call(fma, [a[v], b, sums[r][v]])
        following = builder.add(k, ir.Constant(i64, UNROLL))
        k.add_incoming(following, builder.block)
        for r in range(tile_rows):
            for v in range(_VECTORS):
                phis[r][v].add_incoming(sums[r][v], builder.block)
        builder.cbranch(builder.icmp_signed("<", following, depth), loop, done)
        builder.position_at_end(done)
        adds = builder.fcmp_ordered("!=", context.cast(builder, beta, signature.args[8], dtype),
                                    ir.Constant(real, 0.0))
        for r in range(tile_rows):
            row_at = builder.gep(c_base, [builder.mul(ir.Constant(i64, r), out_stride)])
            for v in range(_VECTORS):
                at = builder.bitcast(builder.gep(row_at, [ir.Constant(i64, v * lanes)]), vector.as_pointer())
                held = builder.load(at, align=4)  # read even when unused: `out` is valid memory either way
                builder.store(builder.select(adds, builder.fadd(sums[r][v], held), sums[r][v]), at, align=4)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def pack_panels(w, panels):
    """panels (ceil(M / width), padded(K), width) = ``w`` (M, K) cut into panels of ``width`` rows, k-major.

    Rows past M and steps past K are zeros (they add exact zeros). Eight
    rows at a time, so each pass stores eight neighbours.
    """
    rows, depth = w.shape
    count, steps, width = panels.shape
    if count * width < rows or steps < depth or not panels.flags.c_contiguous:
        raise ValueError("pack_panels: panels too small for the weight")
    panels[:] = 0
    whole = rows - rows % 8
    for j0 in range(0, whole, 8):
        panel, lane = panels[j0 // width], j0 % width
        if lane + 8 > width:  # the eight straddle two panels (a width of 12 float64 lanes, say): one at a time
            for j in range(j0, j0 + 8):
                for k in range(depth):
                    panels[j // width, k, j % width] = w[j, k]
            continue
        s0, s1, s2, s3, s4, s5, s6, s7 = w[j0], w[j0 + 1], w[j0 + 2], w[j0 + 3], w[j0 + 4], w[j0 + 5], w[j0 + 6], \
            w[j0 + 7]
        for k in range(depth):
            d = panel[k]
            d[lane], d[lane + 1], d[lane + 2], d[lane + 3] = s0[k], s1[k], s2[k], s3[k]
            d[lane + 4], d[lane + 5], d[lane + 6], d[lane + 7] = s4[k], s5[k], s6[k], s7[k]
    for j in range(whole, rows):
        panel, lane = panels[j // width], j % width
        for k in range(depth):
            panel[k, lane] = w[j, k]


@njit(cache=True, nogil=True)
def pack_panels_of_transpose(w, panels):
    """:func:`pack_panels` of ``w.T`` for ``w`` (K, M) with unit stride along its rows: contiguous runs copied."""
    depth, columns = w.shape
    count, steps, width = panels.shape
    if count * width < columns or steps < depth:
        raise ValueError("pack_panels_of_transpose: panels too small for the weight")
    panels[:] = 0
    for k in range(depth):
        source = w[k]
        for p in range(count):
            lo = p * width
            d = panels[p, k]
            for i in range(min(width, columns - lo)):
                d[i] = source[lo + i]


@njit(cache=True, nogil=True)
def pack_rows(x, packed):
    """packed (ceil(N / TILE_ROWS), padded(K), TILE_ROWS) = ``x`` (N, K) in tiles of rows, k-major; zeros past."""
    n, depth = x.shape
    if packed.shape[0] * TILE_ROWS < n or packed.shape[1] < depth or packed.shape[2] != TILE_ROWS:
        raise ValueError("pack_rows: scratch too small for the rows")
    for block in range(packed.shape[0]):
        first = block * TILE_ROWS
        count = max(0, min(TILE_ROWS, n - first))  # 0 in spare tiles past the rows: all zeros
        tile = packed[block]
        for r in range(count):
            source = x[first + r]
            for k in range(depth):
                tile[k, r] = source[k]
        for r in range(count, TILE_ROWS):
            for k in range(depth):
                tile[k, r] = 0
        for k in range(depth, tile.shape[0]):
            for r in range(TILE_ROWS):
                tile[k, r] = 0


@njit(cache=True, nogil=True)
def packed_product(panels, columns, x, packed, out, beta, edge):
    """``out = x @ W^T + beta * out`` (``beta`` 0 or 1), W (columns, K) as :func:`pack_panels` left it.

    ``x`` may have fewer columns than K (the missing ones count as zeros).

    ``x`` (N, K) with unit stride along its rows; ``packed`` scratch of
    (ceil(N / TILE_ROWS), padded(K), TILE_ROWS); ``out`` (N, columns) with
    unit stride along its rows; ``edge`` scratch of (TILE_ROWS, width) for
    tiles past the last row or column, computed there and copied.
    """
    n = x.shape[0]
    count, depth, width = panels.shape
    # The tiles write through raw pointers: shapes that do not fit would write outside the arrays. The width and
    # the unroll are this compiled copy's constants (a stale cached caller may hold an older copy).
    if width != _VECTORS * _VECTOR_BYTES // panels.itemsize or depth % UNROLL != 0 or not (beta == 0 or beta == 1):
        raise ValueError("packed_product: panels of another layout than this kernel's, or beta not 0 or 1")
    if x.shape[1] > depth or count * width < columns or out.shape[0] < n or out.shape[1] < columns \
            or packed.shape[0] * TILE_ROWS < n or packed.shape[1] != depth or packed.shape[2] != TILE_ROWS \
            or edge.shape[0] < TILE_ROWS or edge.shape[1] != width or out.strides[1] != out.itemsize \
            or not (edge.flags.c_contiguous and packed.flags.c_contiguous and panels.flags.c_contiguous):
        raise ValueError("packed_product: operands of mismatched shapes or layouts")
    if n == 0 or columns == 0:
        return
    if depth == 0:  # no inner dimension: the product is zeros
        if beta == 0:
            out[:, :columns] = 0
        return
    pack_rows(x, packed)
    flat_panels, flat_rows = panels.reshape(-1), packed.reshape(-1)
    flat_edge = edge.reshape(-1)
    out_stride = out.strides[0] // out.itemsize
    for p in range(count):  # each panel read once from memory, then reused from cache by every tile of rows
        lo = p * width
        cols = min(width, columns - lo)
        for block in range(packed.shape[0]):
            first = block * TILE_ROWS
            rows = min(TILE_ROWS, n - first)
            if rows == TILE_ROWS and cols == width:
                _tile(flat_panels, np.int64(p * depth * width), flat_rows, np.int64(block * depth * TILE_ROWS),
                      out[first:, lo:], np.int64(0), np.int64(out_stride), np.int64(depth), beta)
            else:
                _tile(flat_panels, np.int64(p * depth * width), flat_rows, np.int64(block * depth * TILE_ROWS),
                      flat_edge, np.int64(0), np.int64(width), np.int64(depth), 0.0)
                for r in range(rows):
                    destination, source = out[first + r], edge[r]
                    if beta == 0:
                        for i in range(cols):
                            destination[lo + i] = source[i]
                    else:
                        for i in range(cols):
                            destination[lo + i] += source[i]


def packed_weight(w: np.ndarray, transposed: bool = False, into: np.ndarray | None = None) -> np.ndarray:
    """``w`` (M, K) packed for :func:`packed_product` (``transposed``: ``w.T`` of a (K, M) ``w``, rows contiguous).

    ``into``: an array of :func:`packed_shape` to pack into instead of a new one.
    """
    rows, depth = w.shape[::-1] if transposed else w.shape
    panels = np.empty(packed_shape(rows, depth, w.dtype), dtype=w.dtype) if into is None else into
    (pack_panels_of_transpose if transposed else pack_panels)(w, panels)
    return panels


def packed_shape(rows: int, depth: int, dtype) -> tuple[int, int, int]:
    """The shape of a (``rows``, ``depth``) weight's panels: (panels, padded depth, panel width)."""
    width = panel_width(dtype)
    return -(-rows // width), padded(depth), width


def product_scratch(n: int, depth: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(packed, edge): :func:`packed_product`'s scratch for ``n`` rows of inner dimension ``depth``."""
    return (np.empty((-(-n // TILE_ROWS), padded(depth), TILE_ROWS), dtype=dtype),
            np.empty((TILE_ROWS, panel_width(dtype)), dtype=dtype))



def thread_panels(parts: int, rows: int, depth: int, dtype) -> np.ndarray:
    """Room for ``parts`` threads' packed (``rows``, ``depth``) weights, each thread's ``panels[k]``."""
    return np.empty((parts, *packed_shape(rows, depth, dtype)), dtype=dtype)


def thread_scratch(parts: int, n: int, depth: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """:func:`product_scratch` for each of ``parts`` threads: (packed, edge), thread k's at index k."""
    return (np.empty((parts, -(-n // TILE_ROWS), padded(depth), TILE_ROWS), dtype=dtype),
            np.empty((parts, TILE_ROWS, panel_width(dtype)), dtype=dtype))
