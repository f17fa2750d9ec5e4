"""Word2Vec: skip-gram and CBOW trained by Hogwild threads running numba kernels without the GIL."""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..errors import CorpusError, ModelFileError, TrainingError
from ..io import load_npz, save_npz
from ..text.tokenize import file_sentences
from ..text.vocab import Vocabulary
from . import kernels
from .jobcache import JobCache
from .jobs import JOB_WORDS, make_jobs
from .keyedvectors import KeyedVectors
from .noise import alias_table, noise_distribution

MODELS = {"skipgram": kernels.SKIPGRAM, "cbow": kernels.CBOW}
LOSSES = {"negative": kernels.NEGATIVE, "sampled-softmax": kernels.SAMPLED_SOFTMAX, "softmax": kernels.SOFTMAX}
_NPZ_KIND = "seqdl.Word2Vec"


@dataclass(frozen=True)
class Progress:
    """Training progress passed to a ``progress`` callback about twice a second, and once at the end."""

    words_done: int
    words_total: int
    epoch: int
    epochs: int
    words_per_second: float
    loss: float  # mean loss of the predictions since the previous report (nan if none)


@dataclass
class Word2VecParams:
    """Hyperparameters, with word2vec.c's and gensim's names and defaults (alpha None: 0.025 skip-gram, 0.05 CBOW)."""

    model: str = "skipgram"
    loss: str = "negative"
    dim: int = 100
    window: int = 5
    negative: int = 5
    min_count: int = 5
    max_vocab: int | None = None
    sample: float = 1e-3
    alpha: float | None = None
    min_alpha: float = 1e-4
    epochs: int = 5
    workers: int | None = None
    seed: int = 1
    lowercase: bool = True
    ns_exponent: float = 0.75

    def check(self) -> None:
        """Raise ValueError for a value training cannot use."""
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, not {self.model!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, not {self.loss!r}")
        for name in ("dim", "window", "epochs", "min_count"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.negative < 1 and self.loss != "softmax":
            raise ValueError("negative must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.seed < 0:
            raise ValueError("seed must not be negative")


class Word2Vec:
    """word2vec (skip-gram or CBOW; negative sampling, sampled or full softmax), gensim-compatible semantics.

    >>> model = Word2Vec(dim=50, epochs=3).train("corpus.txt")   # doctest: +SKIP
    >>> model.wv.most_similar("king")                            # doctest: +SKIP

    ``train`` takes a path to a UTF-8 text file (one sentence per line,
    tokens separated by whitespace, lowercased unless ``lowercase=False``)
    or a re-iterable of token lists, used as given. After training, ``wv``
    holds the word vectors, ``syn1`` the output weights, ``loss_history``
    the mean loss per prediction of each epoch (summed over all workers'
    jobs), ``predictions_per_epoch`` how many predictions each epoch made and
    ``words_per_second`` the training speed.

    Several workers train Hogwild-style (shared matrices, no locks). Which
    words are subsampled and which windows and noise words are drawn depends
    only on the seed and the job, so with one worker a seed gives identical
    vectors, and with several the same predictions in a different order.
    """

    def __init__(self, model: str = "skipgram", loss: str = "negative", dim: int = 100, window: int = 5,
                 negative: int = 5, min_count: int = 5, max_vocab: int | None = None, sample: float = 1e-3,
                 alpha: float | None = None, min_alpha: float = 1e-4, epochs: int = 5,
                 workers: int | None = None, seed: int = 1, lowercase: bool = True, ns_exponent: float = 0.75):
        self.params = Word2VecParams(model, loss, dim, window, negative, min_count, max_vocab, sample, alpha,
                                     min_alpha, epochs, workers, seed, lowercase, ns_exponent)
        self.params.check()
        self.wv: KeyedVectors | None = None
        self.syn1: np.ndarray | None = None
        self.loss_history: list[float] = []
        self.predictions_per_epoch: list[int] = []
        self.words_per_second: float = 0.0

    @property
    def alpha(self) -> float:
        """The starting learning rate (the model's default if none was given)."""
        if self.params.alpha is not None:
            return self.params.alpha
        return 0.05 if self.params.model == "cbow" else 0.025

    @property
    def workers(self) -> int:
        """Training threads: as asked, else every core this process may use."""
        if self.params.workers is not None:
            return self.params.workers
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def train(self, corpus: str | os.PathLike | Iterable[Sequence[str]],
              progress: Callable[[Progress], None] | None = None) -> "Word2Vec":
        """Build the vocabulary from ``corpus`` and train on it; returns ``self``.

        Raises :class:`CorpusError` if the corpus cannot be read or no word
        is left after ``min_count``, :class:`TrainingError` if training
        diverges (a NaN loss).
        """
        sentences, where = self._sentence_source(corpus)
        p = self.params
        vocab = Vocabulary.build(sentences(), p.min_count, p.max_vocab)
        if len(vocab) == 0:
            raise CorpusError(f"no word occurs at least {p.min_count} times (min-count {p.min_count}); "
                              "lower --min-count or use a larger corpus", path=where)
        rng = np.random.default_rng(p.seed)
        syn0 = (rng.random((len(vocab), p.dim), dtype=np.float32) * 2 - 1) / np.float32(p.dim)  # gensim's
        syn1 = np.zeros_like(syn0)
        self.loss_history, self.predictions_per_epoch = self._run(vocab, sentences, syn0, syn1, progress)
        self.wv = KeyedVectors(vocab.words, syn0, vocab.counts)
        self.syn1 = syn1
        return self

    def _sentence_source(self, corpus) -> tuple[Callable[[], Iterable[Sequence[str]]], str | None]:
        if isinstance(corpus, (str, os.PathLike)):
            path = Path(corpus)
            return (lambda: file_sentences(path, self.params.lowercase)), str(path)
        if iter(corpus) is corpus:
            raise TypeError("the corpus must be a path or a re-iterable of token lists (a list, not a generator): "
                            "it is read once for the vocabulary and once per epoch")
        return (lambda: iter(corpus)), None

    def _run(self, vocab: Vocabulary, sentences, syn0, syn1, progress) -> tuple[list[float], list[int]]:
        p = self.params
        total = vocab.total_words * p.epochs
        probabilities = noise_distribution(vocab.counts, p.ns_exponent)
        accept, alias = alias_table(probabilities)
        shared = dict(
            syn0=syn0, syn1=syn1, keep=vocab.keep_thresholds(p.sample), accept=accept, alias=alias,
            log_q=np.log(probabilities).astype(np.float32), tables=kernels.sigmoid_tables(),
            model=MODELS[p.model], loss_kind=LOSSES[p.loss], window=p.window, negative=p.negative,
        )
        jobs: queue.Queue = queue.Queue(maxsize=4 * self.workers)
        results: list[tuple[int, float, int, int]] = []  # (epoch, loss, predictions, words) per job
        failure: list[BaseException] = []

        def schedule(words_before: int) -> float:
            return self.alpha - (self.alpha - p.min_alpha) * min(1.0, words_before / max(total, 1))

        def produce() -> None:
            try:
                number, words_before = 0, 0
                with JobCache() as cache:
                    for epoch in range(p.epochs):
                        if epoch == 0:
                            source = make_jobs(sentences(), vocab.index, epoch, number, words_before)
                        else:
                            source = cache.replay(epoch, number, words_before)
                        for job in source:
                            if epoch == 0 and p.epochs > 1:
                                cache.add(job)
                            jobs.put(job)
                            number, words_before = job.number + 1, job.words_before + job.words
                            if failure:
                                return
            except BaseException as exc:  # reported by the main thread
                failure.append(exc)
            finally:
                for _ in range(self.workers):
                    jobs.put(None)

        def work() -> None:
            scratch = self._scratch(len(vocab))
            while (job := jobs.get()) is not None:
                if failure:
                    continue
                loss, predictions, _ = kernels.train_job(
                    ids=job.ids, sentence_ends=job.sentence_ends, alpha_start=schedule(job.words_before),
                    alpha_end=schedule(job.words_before + job.words), seed=p.seed, job=job.number,
                    **shared, **scratch)
                if loss != loss:
                    failure.append(TrainingError(
                        f"training diverged (NaN loss) in epoch {job.epoch + 1}; try a smaller --alpha"))
                results.append((job.epoch, loss, predictions, job.words))

        threads = [threading.Thread(target=produce, daemon=True)]
        threads += [threading.Thread(target=work, daemon=True) for _ in range(self.workers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        reported = 0
        try:
            while any(t.is_alive() for t in threads):
                threads[-1].join(0.5)
                if progress is not None:
                    reported = self._report(progress, results, reported, total, started)
        except BaseException as exc:  # Ctrl-C: stop the threads, which removes the job cache
            failure.append(exc)
            for thread in threads:
                thread.join()
            raise
        if failure:
            raise failure[0]
        elapsed = time.perf_counter() - started
        self.words_per_second = sum(r[3] for r in results) / max(elapsed, 1e-9)
        if progress is not None:
            self._report(progress, results, reported, total, started)
        return _epoch_means(results, p.epochs)

    def _scratch(self, vocab_size: int) -> dict[str, np.ndarray]:
        """One thread's buffers for :func:`kernels.train_job`."""
        p = self.params
        k = p.negative if p.loss == "sampled-softmax" else 0
        coef = vocab_size if p.loss == "softmax" else k + 1
        return dict(sentence=np.empty(JOB_WORDS, dtype=np.int32), work=np.empty(p.dim, dtype=np.float32),
                    neu1=np.empty((1, p.dim), dtype=np.float32), candidates=np.empty(k, dtype=np.int32),
                    corrections=np.empty(k, dtype=np.float32), coef=np.empty(coef, dtype=np.float64))

    def _report(self, progress, results, reported: int, total: int, started: float) -> int:
        done = list(results)
        words = sum(r[3] for r in done)
        recent = done[reported:]
        predictions = sum(r[2] for r in recent)
        loss = sum(r[1] for r in recent) / predictions if predictions else float("nan")
        epoch = max((r[0] for r in done), default=0) + 1
        rate = words / max(time.perf_counter() - started, 1e-9)
        progress(Progress(words, total, epoch, self.params.epochs, rate, loss))
        return len(done)

    def save(self, path: str | os.PathLike) -> None:
        """Save vectors, output weights, counts, hyperparameters and loss history to a ``.npz`` (no pickle)."""
        if self.wv is None:
            raise TrainingError("the model has not been trained yet")
        meta = {"kind": _NPZ_KIND, "params": asdict(self.params), "loss_history": self.loss_history}
        save_npz(path, {"vectors": self.wv.vectors, "syn1": self.syn1, "counts": self.wv.counts,
                        "words": np.array(self.wv.index_to_key, dtype=np.str_)}, meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Word2Vec":
        """Load a model written by :meth:`save`."""
        arrays, meta = load_npz(path)
        if meta.get("kind") != _NPZ_KIND or not {"vectors", "syn1", "counts", "words"} <= set(arrays):
            raise ModelFileError("not a seqdl Word2Vec model file", path=str(path))
        model = cls(**meta["params"])
        model.wv = KeyedVectors(arrays["words"].tolist(), arrays["vectors"], arrays["counts"])
        model.syn1 = arrays["syn1"]
        model.loss_history = list(meta.get("loss_history", []))
        return model


def _epoch_means(results: list[tuple[int, float, int, int]], epochs: int) -> tuple[list[float], list[int]]:
    """Mean loss per prediction, and predictions, of each epoch, summed over every worker's jobs."""
    loss = np.zeros(epochs)
    count = np.zeros(epochs)
    for epoch, job_loss, predictions, _ in results:
        loss[epoch] += job_loss
        count[epoch] += predictions
    return [float(l / c) if c else float("nan") for l, c in zip(loss, count)], [int(c) for c in count]
