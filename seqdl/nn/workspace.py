"""Reusable scratch arrays, so layers do not allocate their work buffers every batch."""

from __future__ import annotations

import numpy as np


class Workspace:
    """Named scratch arrays, reallocated only when the requested shape or dtype changes.

    Only for arrays private to a layer: never return one to a caller, since
    the next batch overwrites it.
    """

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised array of this shape and dtype kept under ``name``."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = np.empty(shape, dtype=dtype)
            self._arrays[name] = array
        return array
