"""Numba kernel for the language model's fused embedding + input projection."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, fastmath=True)
def scatter_add_rows(target, index, rows):
    """target[index[r]] += rows[r] for every row r (repeated indices accumulate)."""
    cols = rows.shape[1]
    for r in range(index.shape[0]):
        t = index[r]
        for c in range(cols):
            target[t, c] += rows[r, c]
