"""Numba kernels behind seqdl.nn (compiled on first use, cached on disk)."""
