"""Run training jobs on Hogwild threads: a producer, workers and a reporter.

:func:`train_on_job` is the unit of work: train the shared weights on one
job with a given learning-rate range. The :class:`Runner` feeds jobs from
one producer thread to ``workers`` threads calling it (the numba kernel
releases the GIL), while the calling thread reports progress. A distributed
worker calls :func:`train_on_job` (or a one-thread Runner) on its share.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Callable, Iterable

from ..errors import TrainingError
from . import kernels
from .jobs import Job


@dataclass(frozen=True)
class JobResult:
    """What training on one job did."""

    epoch: int
    loss: float  # summed over the job's predictions
    predictions: int
    words: int  # corpus words in the job, unknown ones included


def train_on_job(net: kernels.Net, settings: kernels.Settings, scratch: kernels.Scratch, job: Job,
                 alpha_start: float, alpha_end: float, seed: int) -> JobResult:
    """Train ``net`` in place on ``job``, the learning rate falling from ``alpha_start`` to ``alpha_end``.

    Raises :class:`TrainingError` if the loss becomes NaN (training diverged).
    """
    loss, predictions, _ = kernels.train_job(net, scratch, settings, job.ids, job.sentence_ends,
                                             alpha_start, alpha_end, seed, job.number)
    if loss != loss:
        raise TrainingError(f"training diverged (NaN loss) in epoch {job.epoch + 1}; try a smaller --alpha")
    return JobResult(job.epoch, loss, predictions, job.words)


class LinearSchedule:
    """word2vec's learning rate: linear from ``alpha`` to ``min_alpha`` over ``total_words``."""

    def __init__(self, alpha: float, min_alpha: float, total_words: int):
        self.alpha, self.min_alpha, self.total_words = alpha, min_alpha, max(total_words, 1)

    def __call__(self, words_before: int) -> float:
        """The learning rate after ``words_before`` words of the run."""
        return self.alpha - (self.alpha - self.min_alpha) * min(1.0, words_before / self.total_words)


class Runner:
    """Train ``net`` on a stream of jobs with ``workers`` threads; the caller's thread reports.

    ``report(results)`` is called with every result so far about every
    ``interval`` seconds and once at the end of :meth:`run`.
    """

    def __init__(self, net: kernels.Net, settings: kernels.Settings, seed: int, workers: int,
                 schedule: Callable[[int], float], max_sentence: int,
                 report: Callable[[list[JobResult]], None] | None = None, interval: float = 0.5):
        self.net, self.settings, self.seed, self.workers = net, settings, seed, workers
        self.schedule, self.report, self.interval = schedule, report, interval
        dim, vocab = net.syn0.shape[1], net.syn1.shape[0]
        self._scratch = [kernels.make_scratch(settings, dim, vocab, max_sentence) for _ in range(workers)]
        #: Every result of every :meth:`run`, in the order the jobs finished.
        self.results: list[JobResult] = []

    def run(self, jobs: Iterable[Job]) -> list[JobResult]:
        """Train on every job of ``jobs`` (consumed by the producer thread); returns this run's results.

        The first error of any thread (a divergence, an unreadable corpus) is
        raised here after every thread has stopped; so is Ctrl-C.
        """
        first = len(self.results)
        pending: queue.Queue = queue.Queue(maxsize=4 * self.workers)
        stop = threading.Event()
        errors: list[BaseException] = []

        def produce() -> None:
            try:
                for job in jobs:
                    if stop.is_set():
                        return
                    pending.put(job)
            except BaseException as exc:  # raised by run()
                errors.append(exc)
                stop.set()
            finally:
                for _ in range(self.workers):
                    pending.put(None)

        def work(scratch: kernels.Scratch) -> None:
            while (job := pending.get()) is not None:
                if stop.is_set():
                    continue  # drain, so the producer is never blocked
                try:
                    self.results.append(train_on_job(
                        self.net, self.settings, scratch, job, self.schedule(job.words_before),
                        self.schedule(job.words_before + job.words), self.seed))
                except BaseException as exc:
                    errors.append(exc)
                    stop.set()

        threads = [threading.Thread(target=produce, daemon=True)]
        threads += [threading.Thread(target=work, args=(s,), daemon=True) for s in self._scratch]
        for thread in threads:
            thread.start()
        try:
            while alive := [t for t in threads if t.is_alive()]:
                alive[-1].join(self.interval)
                if self.report is not None:
                    self.report(self.results)
        except BaseException:  # Ctrl-C: let the threads finish their job and stop
            stop.set()
            for thread in threads:
                thread.join()
            raise
        if errors:
            raise errors[0]
        if self.report is not None:
            self.report(self.results)
        return self.results[first:]

