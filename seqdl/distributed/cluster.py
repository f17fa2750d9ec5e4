"""Connecting to a Dask cluster: an existing scheduler (``tcp://HOST:8786``) or a local one (``local:N``).

Dask is an optional extra; :func:`require_dask` turns its absence into one
line saying what to install. Nothing here imports Dask at module import
time, so commands can name these functions while building the command line.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..errors import SeqdlError

__all__ = ["ClusterError", "connect", "parse_cluster", "require_dask"]

#: Seconds to wait for a scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 10.0

INSTALL_HINT = "distributed training needs Dask: pip install 'seqdl[distributed]'"


class ClusterError(SeqdlError):
    """The cluster cannot be reached or started, or Dask is not installed."""


def require_dask():
    """The ``distributed`` module, or :class:`ClusterError` saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(INSTALL_HINT) from None
    return distributed


def parse_cluster(spec: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, else ``("address", spec)`` for a scheduler address."""
    head, sep, tail = spec.partition(":")
    if head == "local":
        if not sep:
            return "local", 0
        if tail.isdigit() and 1 <= int(tail) <= 1024:
            return "local", int(tail)
        raise ClusterError(f"cluster {spec!r}: expected local:N with N from 1 to 1024 worker processes")
    if "://" not in spec:
        spec = f"tcp://{spec}"
    return "address", spec


#: Dask settings for the ``local:N`` cluster, whose workers share this machine's cores with the training:
#: no work stealing (every training task is pinned to its worker), no statistical profiler, and the
#: event-loop tick and system monitor at 1 s and 5 s instead of 20 ms and 0.5 s, no dashboard (the
#: scheduler's HTTP server still answers, on a random loopback port) (an idle 2-worker cluster
#: used ~9 % of a core with Dask's defaults and ~1 % with these). And malloc keeps freed memory for reuse
#: (arrays up to 32 MB from its heap, up to 256 MB kept) where Dask's default (MALLOC_TRIM_THRESHOLD_=64 KB)
#: hands every array back to the kernel: each round allocates several weight-sized arrays, and on a virtual
#: machine the page faults of fresh memory cost ~2 ms per 7.5 MB, so the merge tasks ran 2x slower.
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.work-stealing": False,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": str(256 << 20),
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": str(32 << 20),
}


@contextlib.contextmanager
def _environment_kept(names):
    """Restore ``os.environ``'s ``names`` (or their absence) on exit.

    Dask's nannies, which run in this process for a ``LocalCluster``, write
    the workers' variables (``pre-spawn-environ``: one BLAS/OpenMP thread,
    the malloc settings above) into this process's environment, where every
    later subprocess would inherit them.
    """
    import os

    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def connect(spec: str, timeout: float | None = None) -> Iterator:
    """A ``distributed.Client`` for ``spec``; closed (and a local cluster stopped) on exit.

    ``local:N`` starts a ``LocalCluster`` of N worker processes with one
    thread each, listening on the loopback interface only (``local:0`` or
    ``local``: one per core). Anything else is the address of a running
    scheduler; if it cannot be reached within ``timeout`` seconds (default
    :data:`CONNECT_TIMEOUT`), :class:`ClusterError` names it.
    """
    distributed = require_dask()
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    kind, value = parse_cluster(spec)
    if kind == "local":
        import dask

        workers = value or _cores()
        with dask.config.set(LOCAL_CLUSTER_CONFIG), \
                _environment_kept(dask.config.get("distributed.nanny.pre-spawn-environ")), \
                distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                         dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                                         silence_logs=40) as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(value, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterError(f"cannot reach the Dask scheduler at {value}: {reason}") from None
    with client:
        yield client


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
