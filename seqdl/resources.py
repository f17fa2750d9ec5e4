"""Refuse allocations that cannot fit, before making them.

A header claiming 10**12 rows or ``--dim 1000000000`` must be one line saying
how much memory it would need, not a MemoryError traceback or the kernel's
OOM killer.
"""

from __future__ import annotations

import os

from .errors import ResourceError

__all__ = ["check_memory", "format_bytes", "physical_memory"]


def physical_memory() -> int | None:
    """Bytes of RAM on this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(count: float) -> str:
    """``count`` bytes as a short human string: ``512 B``, ``3.2 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(count) < 1024 or unit == "PiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def check_memory(nbytes: float, what: str, fraction: float = 0.9) -> None:
    """Raise :class:`ResourceError` if ``what`` needs more than ``fraction`` of this machine's RAM.

    ``nbytes`` is the estimate of what the work will allocate; ``what`` says
    what it is for ("vectors of 10^12 rows x 300 float32").
    """
    total = physical_memory()
    if total is not None and nbytes > fraction * total:
        raise ResourceError(f"{what} would need {format_bytes(nbytes)} of memory; this machine has "
                            f"{format_bytes(total)}")
