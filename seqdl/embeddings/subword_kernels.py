"""The numba kernel behind :func:`seqdl.embeddings.subwords.subword_table`: every word's n-gram buckets at once.

The same n-grams, order and hashing as the pure-Python
:func:`~seqdl.embeddings.subwords.ngrams` and
:func:`~seqdl.embeddings.subwords.ft_hash` (which stay the reference and
serve single out-of-vocabulary words), run over the UTF-8 bytes of the
whole vocabulary: hashing fastText's 2 M-bucket table for a vocabulary in
Python took longer than a fastText epoch on a million words.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FNV_OFFSET = np.uint64(2166136261)
_FNV_PRIME = np.uint64(16777619)
_MASK = np.uint64(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def _fill_rows(data, starts, minn, maxn, bucket, offset, ptr, rows):
    """Pass 1 (``rows`` empty): count each word's rows into ``ptr``; pass 2: write them.

    ``data`` holds the wrapped words ``<w>`` as UTF-8, word ``w`` in
    ``data[starts[w]:starts[w + 1]]``; its rows are ``w``, then ``offset +
    hash % bucket`` for each n-gram.
    """
    fill = rows.shape[0] > 0
    k = 0
    for w in range(starts.shape[0] - 1):
        lo, hi = starts[w], starts[w + 1]
        if fill:
            rows[k] = w
        k += 1
        for i in range(lo, hi):
            if data[i] & 0xC0 == 0x80:  # a continuation byte: not the start of a character
                continue
            j, n = i, 1
            while j < hi and n <= maxn:
                j += 1
                while j < hi and data[j] & 0xC0 == 0x80:
                    j += 1
                if n >= minn and not (n == 1 and (i == lo or j == hi)):
                    if fill:
                        h = _FNV_OFFSET
                        for b in range(i, j):
                            byte = np.uint64(data[b])
                            if byte >= 0x80:  # fastText XORs a signed char: sign-extended to 32 bits
                                byte |= np.uint64(0xFFFFFF00)
                            h = ((h ^ byte) * _FNV_PRIME) & _MASK
                        rows[k] = offset + np.int64(h % np.uint64(bucket))
                    k += 1
                n += 1
        ptr[w + 1] = k


def subword_rows(words, minn: int, maxn: int, bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, rows)`` for ``words``: word ``i``'s rows are ``rows[ptr[i]:ptr[i + 1]]`` (``i``, then its n-grams')."""
    encoded = [f"<{w}>".encode("utf-8") for w in words]
    starts = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=starts[1:])
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    ptr = np.zeros(len(encoded) + 1, dtype=np.int64)
    _fill_rows(data, starts, minn, maxn, bucket, len(encoded), ptr, np.empty(0, dtype=np.int32))
    rows = np.empty(int(ptr[-1]), dtype=np.int32)
    _fill_rows(data, starts, minn, maxn, bucket, len(encoded), ptr, rows)
    return ptr, rows
