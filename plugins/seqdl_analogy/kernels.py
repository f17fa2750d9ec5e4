"""Numba kernel for the top-k columns of each row: one pass, a k-slot sorted buffer per row.

For k around 10 and rows of 30,000+ scores this is several times faster than
``np.argpartition`` (which partitions the whole row) and runs rows in
parallel. No fastmath: excluded entries are -inf, and fastmath may assume
there are none.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def top_k_rows(scores, k, out_index, out_value):
    """Fill ``out_index``/``out_value`` (B, k) with each row's k largest scores, best first.

    Ties keep the lower column first; slots left over (fewer than k finite
    scores above -inf) keep index -1 and value -inf. NaN is never selected.
    """
    rows, cols = scores.shape
    for r in prange(rows):
        values = out_value[r]
        index = out_index[r]
        for j in range(k):
            values[j] = -np.inf
            index[j] = -1
        row = scores[r]
        for c in range(cols):
            s = row[c]
            if s > values[k - 1]:
                j = k - 1
                while j > 0 and values[j - 1] < s:
                    values[j] = values[j - 1]
                    index[j] = index[j - 1]
                    j -= 1
                values[j] = s
                index[j] = c
