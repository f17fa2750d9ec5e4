"""Choosing between interchangeable kernels by timing them as they run.

Which of two ways of doing the same work is faster can depend on more than
the shapes: on a virtual machine the host may move its virtual CPUs between
cores that share a cache and cores that do not, and threads that exchange
data every time step slow down in the second case while threads that never
meet do not. A :class:`Chooser` keeps the recent time of each option, runs
the faster one, and now and then the other one, so it follows such changes.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["Chooser"]


class Chooser:
    """Picks, call by call, the one of ``options`` that has been fastest lately.

    Each option is tried first, twice: its first time is not counted (it
    may include a first call's costs: compiling, caches, fresh memory). After that :meth:`pick` names the
    option with the lowest average time, except every ``probe_every``-th
    recorded call, which names the one least recently run, so a change of the
    machine is noticed. :meth:`record` takes the seconds a call took;
    averages are exponential, ``smoothing`` the weight of the newest time.
    Only for options that give the same results: which one runs depends on
    timing.
    """

    def __init__(self, options: Sequence[str], probe_every: int = 20, smoothing: float = 0.25):
        if len(options) < 1 or len(set(options)) != len(options):
            raise ValueError("options must be distinct and at least one")
        if probe_every < 2 or not 0 < smoothing <= 1:
            raise ValueError("probe_every must be at least 2 and smoothing in (0, 1]")
        self.options = tuple(options)
        self.probe_every, self.smoothing = probe_every, smoothing
        #: Average seconds of each option run so far.
        self.seconds: dict[str, float] = {}
        self._calls = 0
        self._last_run = {option: -1 for option in self.options}
        self._warm: set[str] = set()
        self._probed = -1

    def pick(self) -> str:
        """The option to run now (a pick that is never recorded does not count as a call)."""
        untried = [option for option in self.options if option not in self.seconds]
        if untried:
            return untried[0]
        if (self._calls + 1) % self.probe_every == 0 and self._probed != self._calls:
            self._probed = self._calls  # one probe per cycle, even if this pick is never recorded
            return min(self.options, key=self._last_run.__getitem__)
        return self.best()

    def best(self) -> str:
        """The option with the lowest average time (the first option before any time is known)."""
        timed = [option for option in self.options if option in self.seconds]
        return min(timed, key=self.seconds.__getitem__) if timed else self.options[0]

    def record(self, option: str, seconds: float) -> None:
        """Count ``seconds`` for one run of ``option``."""
        if option not in self._last_run:
            raise ValueError(f"unknown option {option!r}")
        self._calls += 1
        self._last_run[option] = self._calls
        if option not in self._warm:
            self._warm.add(option)
            return
        previous = self.seconds.get(option)
        self.seconds[option] = seconds if previous is None else previous + self.smoothing * (seconds - previous)
