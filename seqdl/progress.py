"""Progress of long work: one callback protocol and one stderr renderer.

Library code (word2vec, language-model training, ``Sequential.fit``, corpus
downloads, evaluation, the distributed client) never prints: it takes a
``progress`` argument implementing :class:`ProgressReporter` and calls
``update`` with how much is done. Commands create a :class:`Progress`, which
draws a bar with rate and ETA on a terminal, and is quiet when asked to be or
when stderr is not a terminal (unless ``SEQDL_PROGRESS=1`` or ``force=True``).

Importing this module is cheap (no numpy).
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import IO, Any, Protocol, runtime_checkable

__all__ = ["NullProgress", "Progress", "ProgressReporter", "format_count"]


@runtime_checkable
class ProgressReporter(Protocol):
    """What long-running library functions report to.

    ``update(done, total=None, **fields)`` gives the absolute amount done
    (words, tokens, steps, bytes, questions...), optionally a new total, and
    named values to show (``loss=1.23``, ``epoch="2/5"``); ``write(line)``
    shows a message (a sample, an evaluation) without breaking the bar;
    ``close()`` ends the display.
    """

    def update(self, done: float, total: float | None = None, **fields: Any) -> None: ...

    def write(self, line: str) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    """A reporter that shows nothing (the default of library functions)."""

    def update(self, done: float, total: float | None = None, **fields: Any) -> None:
        """Ignore the update."""

    def write(self, line: str) -> None:
        """Ignore the message."""

    def close(self) -> None:
        """Nothing to end."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def format_count(value: float) -> str:
    """``value`` with thousands separators, or with k/M/G past a million: ``1,234``, ``12.3M``."""
    if not math.isfinite(value):
        return "?"
    for limit, suffix in ((1e9, "G"), (1e6, "M")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:,.0f}"


def _format_field(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.4g}"
    return str(value)


class Progress:
    """Draws progress on stderr: ``desc [#####.....] 45%  12,345 words/s  loss 1.23  ETA 8s``.

    ``total`` may be unknown (None): then the count and rate are shown
    without a bar or ETA. On a terminal the line is redrawn in place at most
    ``interval`` seconds apart; elsewhere it is quiet unless forced, in which
    case a line is written per tenth of the work (or per ``interval`` seconds
    when the total is unknown).
    """

    WIDTH = 24

    def __init__(self, total: float | None = None, unit: str = "items", desc: str = "", quiet: bool = False,
                 stream: IO[str] | None = None, force: bool | None = None, interval: float = 0.2):
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.unit = unit
        self.desc = desc
        self.interval = interval
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        if force is None:
            force = os.environ.get("SEQDL_PROGRESS", "").strip() not in ("", "0")
        self.tty = tty
        self.quiet = quiet
        self.enabled = not quiet and (tty or force)
        self.started = time.perf_counter()
        self.done = 0.0
        self.fields: dict[str, Any] = {}
        self._last_draw = -math.inf
        self._last_tenth = -1
        self._drawn = False

    # -- the protocol -----------------------------------------------------

    def update(self, done: float, total: float | None = None, **fields: Any) -> None:
        """Record that ``done`` units are finished (absolute, not an increment) and redraw if due."""
        self.done = float(done)
        if total is not None:
            self.total = total
        self.fields.update(fields)
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw >= self.interval or self._finished():
                self._last_draw = now
                self._emit("\r" + self.line() + "\x1b[K")
            return
        if self.total:
            tenth = int(10 * min(self.done / self.total, 1.0))
            if tenth > self._last_tenth:
                self._last_tenth = tenth
                self._emit(self.line() + "\n")
        elif now - self._last_draw >= max(self.interval, 5.0):
            self._last_draw = now
            self._emit(self.line() + "\n")

    def write(self, line: str) -> None:
        """Show ``line`` on a line of its own, the bar redrawn after it.

        Messages (a sample, an evaluation) are shown unless ``quiet``, even
        where the bar itself is not drawn.
        """
        if self.quiet:
            return
        if self.tty and self._drawn:
            self._emit("\r\x1b[K" + line + "\n" + self.line())
        else:
            self._emit(line + "\n")

    def close(self) -> None:
        """Finish the bar's line on a terminal."""
        if self.enabled and self.tty and self._drawn:
            self._emit("\r" + self.line() + "\x1b[K\n")
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rendering ----------------------------------------------------------

    @property
    def rate(self) -> float:
        """Units per second since the start."""
        elapsed = time.perf_counter() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """The current progress line, without a newline."""
        parts = [self.desc] if self.desc else []
        if self.total:
            fraction = min(max(self.done / self.total, 0.0), 1.0)
            filled = int(fraction * self.WIDTH)
            parts.append(f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%}")
        else:
            parts.append(f"{format_count(self.done)} {self.unit}")
        if self.done > 0:
            parts.append(f"{format_count(self.rate)} {self.unit}/s")
        parts.extend(f"{name} {_format_field(value)}" for name, value in self.fields.items())
        if self.total and self.done > 0 and self.done < self.total and self.rate > 0:
            parts.append(f"ETA {_format_seconds((self.total - self.done) / self.rate)}")
        return "  ".join(parts)

    def _finished(self) -> bool:
        return bool(self.total) and self.done >= self.total

    def _emit(self, text: str) -> None:
        self._drawn = True
        self.stream.write(text)
        self.stream.flush()


def _format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
