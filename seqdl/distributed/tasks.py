"""The work Dask runs on the workers: pure functions of their arguments.

Each function's result depends only on what it is given (a shard or
segment of the corpus, the vocabulary, the weights, the round's unit), never
on which worker runs it or what ran there before. When a worker dies, Dask
runs its tasks again elsewhere and the run's result is unchanged.

- :func:`count_shard` counts a shard's words and cuts it into
  :class:`Segment` s of about ``segment_words`` words (at line starts).
- :func:`encode_segment` turns a segment into word-id jobs once; the jobs
  stay in the cluster's memory for every epoch.
- :func:`train_unit` trains one unit (a few consecutive segments) from the round's weights with the
  single-process numba kernel and returns the change of the weights.
- :func:`rows_of` cuts a block of rows out of a unit's change, and
  :func:`merge_block` adds up a block's rows of every change of a round and
  merges them into that block of the next round's weights (each worker
  merges one block; the next round's tasks fetch the others').
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..embeddings import kernels
from ..embeddings.jobs import JOB_WORDS, Job, make_jobs
from ..embeddings.runner import JobResult, LinearSchedule, Runner
from ..text.corpus import DEFAULT_BUFFER, Shard
from ..text.vocab import WordCounter, WordIndex

#: Job numbers of a unit start at ``unit index * JOB_STRIDE``, so every job of a run draws its own random stream.
JOB_STRIDE = 1 << 24


@dataclass(frozen=True)
class Segment:
    """A run of whole lines of the corpus (``shard``) holding ``words`` tokens."""

    shard: Shard
    words: int


@dataclass(frozen=True)
class Unit:
    """One task of a round: train a few consecutive segments of the corpus in epoch ``epoch``.

    ``index`` numbers the unit in the run (it seeds the unit's random
    streams); ``words_before`` is the number of words the whole cluster had
    trained when the round began and ``parallel`` how many times this unit's
    words the whole round trains, which place the unit's words on the global
    learning-rate schedule.
    """

    index: int
    epoch: int
    words_before: int
    parallel: float


@dataclass(frozen=True)
class Plan:
    """What every training task needs besides the weights (shipped to each worker once).

    ``net`` is the kernels' bundle with empty weights (each task puts in its
    own copy of the round's weights); ``schedule`` the run's learning rate
    as a function of the words the whole cluster has trained; ``threads``
    the Hogwild threads each task trains with (one per core of a worker
    started with one Dask thread).
    """

    net: kernels.Net
    settings: kernels.Settings
    seed: int
    schedule: LinearSchedule
    threads: int = 1


def count_shard(shard: Shard, lowercase: bool, max_entries: int | None,
                segment_words: int) -> tuple[WordCounter, list[Segment]]:
    """The shard's word counts, and the shard cut into segments of at least ``segment_words`` words.

    Segments are exact shards between two pieces (at line ends, or between
    tokens of a very long line); together they hold the shard's tokens
    exactly once.
    """
    counter = WordCounter(max_entries)
    segments: list[Segment] = []
    start, words = None, 0
    buffer_size = int(min(DEFAULT_BUFFER, max(1 << 14, segment_words)))
    for piece in shard.pieces(buffer_size):
        if start is None:
            start = piece.offset
        elif words >= segment_words:
            segments.append(Segment(Shard(shard.source, start, piece.offset, exact=True), words))
            start, words = piece.offset, 0
        tokens = (piece.text.lower() if lowercase else piece.text).split()
        counter.update(tokens)
        words += len(tokens)
    if words:
        segments.append(Segment(Shard(shard.source, start, shard.stop(), exact=True), words))
    return counter, segments


def encode_segment(segment: Segment, index: WordIndex, lowercase: bool) -> list[Job]:
    """The segment's sentences as jobs of word ids (-1 outside the vocabulary), numbered from 0."""
    return list(make_jobs(segment.shard.sentences(lowercase), index, epoch=0, first_number=0, words_before=0))


def train_unit(blocks: list[tuple[np.ndarray, np.ndarray]], segments: list[list[Job]], plan: Plan, unit: Unit):
    """Train a copy of the weights on the jobs of ``segments``, in order, as a single-process run does.

    ``blocks`` are the round's weights as consecutive blocks of rows
    (``(syn0_rows, syn1_rows)`` each). Returns ``(updates, stats)``. The jobs
    run on ``plan.threads`` Hogwild threads of the single-process
    :class:`~seqdl.embeddings.runner.Runner` (with one thread the result is
    exactly reproducible). ``updates`` is ``(delta_in, delta_out)``, the
    change of the input and output weights; ``stats`` is a list of one
    :class:`~seqdl.embeddings.runner.JobResult` for the whole unit.
    """
    syn0, syn1 = (np.concatenate([block[i] for block in blocks]) for i in (0, 1))
    net = plan.net._replace(syn0=syn0, syn1=syn1)
    runner = Runner(net, plan.settings, plan.seed, plan.threads, _ClusterSchedule(plan.schedule, unit), JOB_WORDS)
    results = runner.run(_placed([job for jobs in segments for job in jobs], unit))
    start = 0
    for block in blocks:
        stop = start + len(block[0])
        syn0[start:stop] -= block[0]
        syn1[start:stop] -= block[1]
        start = stop
    total = JobResult(unit.epoch, sum(r.loss for r in results), sum(r.predictions for r in results),
                      sum(r.words for r in results))
    return (syn0, syn1), [total]


def _placed(jobs: list[Job], unit: Unit):
    """The unit's jobs with run-wide numbers (their random streams), epoch, and place in the unit."""
    done = 0
    for number, job in enumerate(jobs):
        yield replace(job, number=unit.index * JOB_STRIDE + number, epoch=unit.epoch, words_before=done)
        done += job.words


class _ClusterSchedule:
    """The learning rate after ``done`` words of this unit: the whole cluster has then trained ``parallel`` times as many."""

    def __init__(self, schedule: LinearSchedule, unit: Unit):
        self.schedule, self.unit = schedule, unit

    def __call__(self, done: int) -> float:
        return self.schedule(self.unit.words_before + self.unit.parallel * done)


def rows_of(result, start: int, stop: int, with_stats: bool):
    """Rows ``start:stop`` of a :func:`train_unit` result's changes, with its stats if ``with_stats`` (else none).

    Run on the worker that holds ``result``, so that only these rows travel
    to the worker that merges them.
    """
    (delta0, delta1), stats = result
    return (delta0[start:stop], delta1[start:stop]), (stats if with_stats else [])


def merge_block(block: tuple[np.ndarray, np.ndarray], parts: list, start: int, units: int, merge: str):
    """The next round's rows ``start`` to ``start + len(block)`` of the weights.

    That is ``block`` plus the round's summed changes (``merge="sum"``) or their mean.

    ``parts`` holds, for every unit of the round in order, either a whole
    :func:`train_unit` result or its rows of this block (:func:`rows_of`);
    whole results are cut here, where they are. The changes are added in
    pairs, level by level (((a + b) + (c + d)) ...), in unit order, so the
    sum has the same bits wherever it runs.

    ``"sum"`` applies every worker's change, as Hogwild threads do on one
    machine, only a round late; it equals averaging the workers' models with
    the learning rate scaled by the number of workers (the linear scaling
    rule of large-batch SGD), and matches single-process quality.
    ``"mean"`` is plain model averaging (Spark MLlib): with W workers each
    round moves the model about as far as one worker alone would, so it
    needs about W times the epochs.
    """
    rows = len(block[0])
    level = []
    for (delta0, delta1), _ in parts:
        if len(delta0) != rows:  # a whole change (a block of rows has exactly the block's rows)
            delta0, delta1 = delta0[start:start + rows], delta1[start:start + rows]
        level.append((delta0, delta1))
    if len(level) == 1:  # the change is a task's result (or a view of it): leave it as it is
        delta0, delta1 = level[0]
        if merge == "mean":
            delta0, delta1 = delta0 / np.float32(units), delta1 / np.float32(units)
        return block[0] + delta0, block[1] + delta1
    while len(level) > 1:
        level = [(a[0] + b[0], a[1] + b[1]) for a, b in zip(level[::2], level[1::2])] + level[len(level) // 2 * 2:]
    for total, weights in zip(level[0], block):  # a sum made here: the new weights are written over it
        if merge == "mean":
            total /= np.float32(units)
        total += weights  # the same bits as weights + total
    return level[0]


def stats_of(parts: list) -> list[JobResult]:
    """The per-unit results of a round, from the parts of its first block (which carry them), in unit order."""
    return [result for _, stats in parts for result in stats]
