"""word2vec on a Dask cluster by model averaging (Spark MLlib's Word2Vec, pWord2Vec's distributed mode).

The client drives; the workers do the work (:mod:`seqdl.distributed.tasks`):

1. the corpus is cut into shards (whole compressed files, byte ranges of
   plain ones cut at line ends); each worker counts its shards' words and
   cuts them into segments of about an eighth of ``sync_words`` words; the
   client merges the counts (in corpus order, so the vocabulary is the one
   a single process would count), builds the vocabulary and noise tables,
   and groups consecutive segments into equal units of about ``sync_words``
   words (so a round trains that much even where the shards are small files,
   and a round's units take about the same time);
2. each segment is encoded to word ids once, on a worker, and stays in the
   cluster's memory (Dask recomputes it if its worker dies);
3. each round, every worker trains the next unit from the current
   weights with the single-process numba kernel, on the global
   learning-rate schedule. The weights are cut into one block of rows per
   worker: worker b adds up rows b of every change and merges them into
   block b of the next round's weights (summed by default, or averaged),
   and the next round's tasks fetch the blocks they lack (an all-reduce as
   a reduce-scatter and an all-gather, in tasks). Every block a task fetched
   stays on its worker, so losing any one worker loses nothing.

Every task is a pure function of (weights, segments, round), with random
streams seeded by the unit's number, so a rerun after a lost worker gives
bit-for-bit the same vectors. The client holds only the vocabulary and a
few numbers per round; weights travel between workers.
"""

from __future__ import annotations

import collections
import contextlib
import os
import time
import uuid
from typing import Any

import numpy as np

from ..errors import CorpusError
from ..progress import NullProgress
from ..text.corpus import Corpus
from ..text.vocab import Vocabulary, WordCounter
from . import tasks
from .cluster import ClusterError

#: Words each worker trains per round unless told otherwise.
DEFAULT_SYNC_WORDS = 200_000
#: Rounds the client queues beyond the one it waits for (their tasks wait on the scheduler, not on the client).
ROUNDS_AHEAD = 2
#: Rounds already reported whose futures the client still holds (see ``_train``).
ROUNDS_KEPT = 2
#: Shards per worker when counting: more than one evens out their sizes.
SHARDS_PER_WORKER = 4
#: Segments are cut at 1/SEGMENT_FRACTION of sync_words and grouped back into units of about sync_words,
#: so units differ by about one segment at most, wherever the shards end.
SEGMENT_FRACTION = 8


def train_word2vec(model, corpus, client, sync_words: int = DEFAULT_SYNC_WORDS, progress=None,
                   max_vocab_memory: int | None = None, merge: str = "sum", threads: int = 1):
    """Train ``model`` (a :class:`~seqdl.Word2Vec`) on ``corpus`` with the Dask ``client``'s workers; returns it.

    ``sync_words`` is how many words each worker trains between two
    merges of the weights; ``merge`` is how the workers' changes are merged
    (see :func:`~seqdl.distributed.tasks.merge_block`). ``threads`` is
    how many Hogwild threads each task trains with: 1 (exactly reproducible)
    for workers of one core, the worker machine's cores for one worker per
    machine. ``progress`` (a :class:`~seqdl.progress.ProgressReporter`)
    gets words done over the whole cluster, the round and the loss.
    """
    from ..errors import ParameterError

    if sync_words < 1:
        raise ParameterError("sync_words", "must be at least 1")
    if threads < 1:
        raise ParameterError("threads", "must be at least 1")
    if merge not in ("sum", "mean"):
        raise ParameterError("merge", "must be 'sum' or 'mean'")
    progress = progress if progress is not None else NullProgress()
    import distributed

    if not isinstance(corpus, (str, os.PathLike, Corpus, list, tuple)) or (
            isinstance(corpus, (list, tuple)) and not all(isinstance(c, (str, os.PathLike)) for c in corpus)):
        raise TypeError("distributed training reads the corpus on the workers: give a path, folder, URL or "
                        "Corpus (or a list of them), not token lists")
    text = Corpus.open(corpus, lowercase=model.params.lowercase)
    try:
        with _replicas_kept(client):
            return _train(model, text, client, sync_words, progress, max_vocab_memory, merge, threads)
    except distributed.KilledWorker as exc:
        raise ClusterError(f"the cluster lost every worker that ran a task ({exc.task}); the workers' logs say why "
                           "(often memory: try fewer --workers threads or more memory per worker)") from None
    finally:
        if text is not corpus:  # opened here: remove its copy of standard input, if any
            text.close()


@contextlib.contextmanager
def _replicas_kept(client):
    """Pause Dask's active memory manager, which would drop the replicas that let a run lose a worker.

    Its default policy keeps one copy of each result; the vocabulary, the
    tables and each round's weights are copied to every worker precisely so
    that losing any one of them loses nothing. It is restarted afterwards if
    it was running.
    """
    running = client.amm.running()
    if running:
        client.amm.stop()
    try:
        yield
    finally:
        if running:
            with contextlib.suppress(Exception):  # the cluster may be going away
                client.amm.start()


def _train(model, corpus: Corpus, client, sync_words: int, progress, max_vocab_memory: int | None, merge: str,
           threads: int):
    p = model.params
    run = uuid.uuid4().hex[:12]
    addresses = sorted(client.scheduler_info()["workers"])
    workers = max(1, len(addresses))

    vocab, segments = _count(client, corpus, workers, sync_words, max_vocab_memory, p, run)
    groups = group_segments([segment.words for segment in segments], sync_words)
    model._check_sizes(len(vocab))
    plan = _plan(model, vocab, threads)
    syn0, syn1 = _initial_weights(len(vocab), p.dim, p.seed)
    [index] = client.scatter([vocab.index], broadcast=True, hash=False)
    # Each round's k-th unit goes to the k-th worker (when it is alive: the restriction is loose), so the
    # units of a round run side by side rather than all on one worker.
    place = [dict(workers=[address], allow_other_workers=True) for address in addresses] or [{}]
    # A segment is encoded where its unit trains in the first epoch (and in every epoch, when the units of an
    # epoch are a multiple of the workers).
    worker_of = {s: g % len(place) for g, group in enumerate(groups) for s in group}
    encoded = [client.submit(tasks.encode_segment, segment, index, p.lowercase, key=f"seqdl-encode-{run}-{i}",
                             **place[worker_of[i]])
               for i, segment in enumerate(segments)]
    [plan_f] = client.scatter([plan], broadcast=True, hash=False)
    rows = block_rows(len(vocab), workers)
    blocks = initial = client.scatter([(syn0[lo:hi], syn1[lo:hi]) for lo, hi in rows], broadcast=True, hash=False)
    del syn0, syn1

    rounds = plan_rounds(groups, [segment.words for segment in segments], p.epochs, workers)
    total = vocab.total_words * p.epochs
    stats: list = []
    done, scheduled, started = 0, 0, time.perf_counter()
    pending: collections.deque = collections.deque()  # rounds submitted but not yet reported
    # Every future of the last rounds reported, and of those pending, stays referenced: if a worker dies,
    # Dask rebuilds what it held from them, back to weights every worker holds (the ones the last round
    # reported trained from). A chain of released results is not always rebuilt ("already forgotten").
    kept: collections.deque = collections.deque(maxlen=ROUNDS_KEPT)
    progress.update(0, total=total)
    for number, round_units in enumerate(rounds):
        results = []
        round_words = sum(segments[s].words for _, unit_segments in round_units for s in unit_segments)
        for position, (epoch, unit_segments) in enumerate(round_units):
            # The last round's units may be cut unevenly (plan_rounds): each unit's schedule then spans exactly
            # the round's words; the other rounds' units are equal to a segment and keep the round's unit count.
            unit_words = max(1, sum(segments[s].words for s in unit_segments))
            parallel = round_words / unit_words if number + 1 == len(rounds) else len(round_units)
            unit = tasks.Unit(index=number * workers + position, epoch=epoch, words_before=scheduled,
                              parallel=parallel)
            results.append(client.submit(tasks.train_unit, blocks, [encoded[s] for s in unit_segments],
                                         plan_f, unit, key=f"seqdl-train-{run}-{unit.index}",
                                         **place[position % len(place)]))
        scheduled += round_words
        parts = _parts(client, results, rows, place, f"{run}-{number}")
        # Block b is merged on worker b from the rows b of every change: the reduce-scatter half of an all-reduce.
        # The next round's tasks fetch the blocks they lack (its all-gather half).
        blocks = [client.submit(tasks.merge_block, blocks[b], parts[b], rows[b][0], len(round_units), merge,
                                key=f"seqdl-weights-{run}-{number}-{b}", **place[b % len(place)])
                  for b in range(len(rows))]
        round_stats = client.submit(tasks.stats_of, parts[0], key=f"seqdl-stats-{run}-{number}", **place[0])
        # Round 0 also keeps the scattered first blocks, from which a lost worker's round 0 is rebuilt.
        first = initial if number == 0 else []
        pending.append((number, round_stats, [*first, *results, *(f for block in parts for f in block), *blocks]))
        del results, parts
        # The next rounds are queued before this one ends, so no worker waits for the client between rounds.
        while len(pending) > ROUNDS_AHEAD:
            done = _report(pending, kept, stats, done, total, len(rounds), progress)
    while pending:
        done = _report(pending, kept, stats, done, total, len(rounds), progress)
    elapsed = time.perf_counter() - started
    merged = client.gather(blocks)
    syn0, syn1 = (np.concatenate([block[i] for block in merged]) for i in (0, 1))
    del merged, initial
    _finish(model, vocab, syn0, syn1, stats, done / max(elapsed, 1e-9))
    return model


def plan_rounds(groups: list[list[int]], words: list[int], epochs: int, workers: int) -> list[list[tuple]]:
    """The run's rounds: up to ``workers`` units each, a unit being ``(epoch, segment indices)``.

    Every epoch trains ``groups`` in order, and the rounds take the units
    ``workers`` at a time across epoch ends. Where the last round would
    leave workers idle (the units of the run are not a multiple of
    ``workers``), its largest units are cut in two, at the segment nearest
    their middle word, until every worker has one or no unit has two
    segments left; ``words[i]`` is segment i's word count.
    """
    units = [(epoch, group) for epoch in range(epochs) for group in groups]
    rounds = [units[i:i + workers] for i in range(0, len(units), workers)]
    last = rounds[-1] if rounds else []
    while 0 < len(last) < workers:
        sizes = [sum(words[s] for s in segments) if len(segments) > 1 else -1 for _, segments in last]
        at = int(np.argmax(sizes))  # the largest unit that can be cut (the first of equals)
        if sizes[at] < 0:
            break
        epoch, segments = last[at]
        lefts = np.cumsum([words[s] for s in segments[:-1]])  # words left of each possible cut
        cut = 1 + int(np.argmin(np.abs(2 * lefts - sizes[at])))
        last[at:at + 1] = [(epoch, segments[:cut]), (epoch, segments[cut:])]
    return rounds


def block_rows(vocab_size: int, workers: int) -> list[tuple[int, int]]:
    """The weights' rows cut into one block per worker (fewer if the vocabulary is smaller), as ``(start, stop)``.

    Block ``b`` of both matrices is merged on worker ``b``, so each worker
    adds up only its share of the round's changes and every link carries
    about one change and one copy of the weights per round, however many
    workers there are (a ring all-reduce's volume, in two task steps).
    """
    count = max(1, min(workers, vocab_size))
    bounds = [vocab_size * b // count for b in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _report(pending: collections.deque, kept: collections.deque, stats: list, done: int, total: int, rounds: int,
            progress) -> int:
    """Wait for the oldest pending round's stats, add them to ``stats``, report progress; returns the words done.

    The round's futures move from ``pending`` to ``kept``, which drops the oldest when full.
    """
    number, future, futures = pending.popleft()
    results = future.result()
    kept.append(futures)
    stats.extend(results)
    done += sum(r.words for r in results)
    predictions = sum(r.predictions for r in results)
    loss = sum(r.loss for r in results) / predictions if predictions else float("nan")
    progress.update(done, total=total, round=f"{number + 1}/{rounds}", loss=loss)
    return done


def _count(client, corpus: Corpus, workers: int, sync_words: int, max_vocab_memory: int | None, p,
           run: str) -> tuple[Vocabulary, list]:
    """The merged vocabulary and the corpus's segments, counted on the workers."""
    shards = corpus.shards(workers * SHARDS_PER_WORKER)
    segment_words = max(1, sync_words // SEGMENT_FRACTION)
    counted = client.gather([
        client.submit(tasks.count_shard, shard, p.lowercase, max_vocab_memory, segment_words,
                      key=f"seqdl-count-{run}-{i}") for i, shard in enumerate(shards)])
    counter = WordCounter(max_vocab_memory)
    segments = []
    for shard_counter, shard_segments in counted:  # in corpus order: words keep their order of first appearance
        counter.merge(shard_counter)
        segments.extend(shard_segments)
    if counter.total == 0:
        raise CorpusError("the corpus has no text", path=corpus.name)
    vocab = Vocabulary.from_counts(counter.counts, counter.total, p.min_count, p.max_vocab)
    if len(vocab) == 0:
        raise CorpusError(f"no word occurs at least {p.min_count} times (min-count {p.min_count}); "
                          "lower --min-count or use a larger corpus", path=corpus.name)
    return vocab, segments


def group_segments(words: list[int], sync_words: int) -> list[list[int]]:
    """Consecutive segments (``words[i]`` words each) in groups of about ``sync_words`` words, as equal as they go.

    As many groups as ``sync_words`` fits into the total (at least one);
    segment i joins the group its middle word falls in when the total is
    cut into that many equal parts, so the groups differ by about a
    segment at most and a round's units train for about the same time.
    Returns the segments' indices, group by group, in corpus order.
    """
    total = sum(words)
    count = max(1, total // max(1, sync_words))
    groups: list[list[int]] = [[] for _ in range(count)]
    before = 0
    for i, size in enumerate(words):
        groups[min(count - 1, (2 * before + size) * count // (2 * max(total, 1)))].append(i)
        before += size
    return [group for group in groups if group]


def _parts(client, results: list, rows: list[tuple[int, int]], place: list[dict], tag: str) -> list[list]:
    """For each block of ``rows``, the futures of its rows of each unit's change (``results``), in unit order.

    Unit ``k``'s rows of block ``b`` are cut out on worker ``k`` by a task of
    their own, so only they travel to worker ``b``; the rows of a worker's own
    block, and every block when there is only one, are the result itself
    (:func:`~seqdl.distributed.tasks.merge_block` takes its rows).
    """
    parts: list[list] = [[] for _ in rows]
    for k, result in enumerate(results):
        for b, (lo, hi) in enumerate(rows):
            if len(rows) == 1 or b == k % len(place):
                parts[b].append(result)
            else:
                parts[b].append(client.submit(tasks.rows_of, result, lo, hi, b == 0, key=f"seqdl-rows-{tag}-{k}-{b}",
                                              **place[k % len(place)]))
    return parts


def _plan(model, vocab: Vocabulary, threads: int) -> tasks.Plan:
    from ..embeddings import kernels
    from ..embeddings.runner import LinearSchedule
    from ..embeddings.word2vec import ARCHITECTURES, LOSS_KINDS

    p = model.params
    empty = np.empty((0, p.dim), dtype=np.float32)
    net = model._net(vocab, empty, empty)  # the tables; each task puts in its copy of the weights
    settings = kernels.Settings(ARCHITECTURES[p.model], LOSS_KINDS[p.loss], p.window, p.negative)
    schedule = LinearSchedule(model.alpha, p.min_alpha, vocab.total_words * p.epochs)
    return tasks.Plan(net, settings, p.seed, schedule, threads)


def _initial_weights(vocab_size: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    syn0 = (rng.random((vocab_size, dim), dtype=np.float32) * 2 - 1) / np.float32(dim)  # gensim's
    return syn0, np.zeros_like(syn0)


def _finish(model, vocab: Vocabulary, syn0, syn1, stats, words_per_second: float) -> None:
    from ..embeddings.keyedvectors import KeyedVectors
    from ..embeddings.word2vec import _epoch_means

    model.wv = KeyedVectors(vocab.words, syn0, vocab.counts)
    model.syn1 = syn1
    model.loss_history, model.predictions_per_epoch = _epoch_means(stats, model.params.epochs)
    model.words_per_second = words_per_second


def describe(client: Any) -> str:
    """``N workers at ADDRESS`` for messages."""
    info = client.scheduler_info()
    return f"{len(info['workers'])} workers at {info.get('address', '?')}"
