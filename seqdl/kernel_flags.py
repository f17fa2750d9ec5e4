"""The numba fast-math flag set every seqdl kernel uses (one home, imported by each kernel module).

``FASTMATH`` is LLVM's fast maths without ``nnan`` and ``ninf``: reassociation
(so reductions vectorise), contraction into FMAs, reciprocal and approximate
functions, and no signed zeros. NaN and inf keep their meaning, so a kernel
never folds away a comparison with NaN and a diverging run is caught, not
hidden. Use it as ``@njit(cache=True, nogil=True, fastmath=FASTMATH)``; do not
use ``fastmath=True``, which adds ``nnan``/``ninf``.
"""

from __future__ import annotations

__all__ = ["FASTMATH"]

#: A set, because numba accepts only bool, dict or set here; never mutate it.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
