"""Word2Vec: skip-gram and CBOW trained by Hogwild threads running numba kernels without the GIL."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from typing import Callable, Iterable, Sequence

import numpy as np

from ..errors import CorpusError, ModelFileError, ParameterError, TrainingError
from ..io import check_finite_arrays, load_npz, save_npz
from ..progress import ProgressReporter
from ..resources import check_memory
from ..text.corpus import Corpus
from ..text.vocab import Vocabulary
from . import kernels
from .jobcache import JobCache
from .jobs import JOB_WORDS, make_jobs
from .keyedvectors import KeyedVectors
from .noise import alias_table, noise_distribution
from .params import Word2VecParams
from .runner import JobResult, LinearSchedule, Runner

ARCHITECTURES = {"skipgram": kernels.SKIPGRAM, "cbow": kernels.CBOW}
LOSS_KINDS = {"negative": kernels.NEGATIVE, "sampled-softmax": kernels.SAMPLED_SOFTMAX, "softmax": kernels.SOFTMAX}
_VERSION = 2


class Word2Vec:
    """word2vec (skip-gram or CBOW; negative sampling, sampled or full softmax), gensim-compatible semantics.

    >>> model = Word2Vec(dim=50, epochs=3).train("corpus.txt")   # doctest: +SKIP
    >>> model.wv.most_similar("king")                            # doctest: +SKIP

    Takes the fields of :class:`Word2VecParams` as keywords (or a ``params``
    object). ``train`` takes a path to a UTF-8 text file (one sentence per
    line, tokens separated by whitespace, lowercased unless
    ``lowercase=False``) or a re-iterable of token lists, used as given.
    After training, ``wv`` holds the word vectors, ``syn1`` the output
    weights, ``loss_history`` the mean loss per prediction of each epoch
    (summed over all workers' jobs), ``predictions_per_epoch`` how many
    predictions each epoch made and ``words_per_second`` the training speed.

    Several workers train Hogwild-style (shared matrices, no locks). Which
    words are subsampled and which windows and noise words are drawn depends
    only on the seed and the job, so with one worker a seed gives identical
    vectors, and with several the same predictions in a different order.
    """

    params_class: type[Word2VecParams] = Word2VecParams
    #: The ``format`` of this model's files.
    FORMAT = "seqdl.Word2Vec"

    def __init__(self, params: Word2VecParams | None = None, **settings):
        if params is None:
            params = self.params_class(**settings)
        elif settings:
            params = replace(params, **settings)
        if not isinstance(params, self.params_class):
            raise TypeError(f"{type(self).__name__} takes {self.params_class.__name__}, not {type(params).__name__}")
        self.params = params
        self.wv: KeyedVectors | None = None
        self.vocab: Vocabulary | None = None
        self.syn0: np.ndarray | None = None  # input weights: word rows, then any n-gram rows
        self.syn1: np.ndarray | None = None
        self.loss_history: list[float] = []
        self.predictions_per_epoch: list[int] = []
        self.words_per_second: float = 0.0
        self.epoch: int = 0  # epochs done by the current train() or update()

    @property
    def alpha(self) -> float:
        """The starting learning rate (the model's default if none was given)."""
        return self.params.start_alpha

    @property
    def workers(self) -> int:
        """Training threads: as asked, else every core this process may use."""
        if self.params.workers is not None:
            return self.params.workers
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def train(self, corpus: str | os.PathLike | Iterable[Sequence[str]],
              progress: ProgressReporter | None = None, callbacks: Sequence = (), client=None,
              sync_words: int | None = None) -> "Word2Vec":
        """Build the vocabulary from ``corpus`` and train on it; returns ``self``.

        ``progress`` gets ``update(words done, total, epoch=..., loss=...)``
        about twice a second. Each of ``callbacks`` may define gensim's
        ``CallbackAny2Vec`` methods ``on_train_begin(model)``,
        ``on_epoch_begin(model)``, ``on_epoch_end(model)`` and
        ``on_train_end(model)``; at an epoch's end ``model.wv``,
        ``model.epoch`` (epochs done) and ``model.loss_history`` are current.

        A path may name a file, a folder, a URL or ``-`` (standard input);
        see :class:`~seqdl.text.corpus.Corpus`. With a Dask ``client``, the
        cluster's workers train by model averaging, ``sync_words`` words each
        per round, each with ``workers`` threads (default 1; see
        :mod:`seqdl.distributed`); callbacks are not run there.

        Raises :class:`CorpusError` if the corpus cannot be read or no word is
        left after ``min_count``, :class:`ParameterError` for settings the
        vocabulary cannot serve or weights that cannot fit in memory
        (:class:`ResourceError`), :class:`TrainingError` if training diverges
        (a NaN loss).
        """
        if client is not None:
            if callbacks:
                raise ParameterError("callbacks", "are not run in distributed training (client=...)")
            from ..distributed.word2vec import DEFAULT_SYNC_WORDS, train_word2vec

            return train_word2vec(self, corpus, client, sync_words or DEFAULT_SYNC_WORDS, progress,
                                  max_vocab_memory=self.params.max_vocab_memory, threads=self.params.workers or 1)
        sentences, where = self._sentence_source(corpus)
        p = self.params
        vocab = Vocabulary.build(sentences(), p.min_count, p.max_vocab, p.max_vocab_memory)
        if len(vocab) == 0:
            raise CorpusError(f"no word occurs at least {p.min_count} times (min-count {p.min_count}); "
                              "lower --min-count or use a larger corpus", path=where)
        self._check_sizes(len(vocab))
        rng = np.random.default_rng(p.seed)
        syn0 = np.empty((self._input_rows(len(vocab)), p.dim), dtype=np.float32)
        syn0[:len(vocab)] = _uniform_rows(rng, len(vocab), p.dim)
        _fill_uniform(syn0[len(vocab):], p.seed, self.workers)
        syn1 = np.zeros((len(vocab), p.dim), dtype=np.float32)
        self._fit(vocab, sentences, syn0, syn1, progress, callbacks)
        return self

    def update(self, corpus: str | os.PathLike | Iterable[Sequence[str]],
               progress: ProgressReporter | None = None, callbacks: Sequence = ()) -> "Word2Vec":
        """Continue training a trained (or loaded) model on ``corpus``, adding its new words; returns ``self``.

        gensim's ``build_vocab(update=True)`` then ``train``: a word of
        ``corpus`` seen at least ``min_count`` times there is added at the end
        of the vocabulary (new random input row, zero output row) or, if known,
        has its count increased; the noise distribution and subsampling follow
        the new counts; the learning rate runs from ``alpha`` to ``min_alpha``
        again over ``epochs`` passes of ``corpus``. Old words keep their rows.
        """
        if self.vocab is None:
            raise TrainingError("update needs a trained or loaded model; use train() first")
        sentences, _ = self._sentence_source(corpus)
        p = self.params
        seen = Vocabulary.build(sentences(), p.min_count)
        old = self.vocab
        counts = old.counts.copy()
        new_words = []
        new_counts = []
        for word, count in zip(seen.words, seen.counts):
            row = old.index.get(word, -1)
            if row >= 0:
                counts[row] += count
            else:
                new_words.append(word)
                new_counts.append(count)
        vocab = Vocabulary(old.words + new_words, np.concatenate([counts, np.asarray(new_counts, dtype=np.int64)]),
                           seen.total_words)
        self._check_sizes(len(vocab))
        rng = np.random.default_rng([p.seed, len(old)])
        fresh = _uniform_rows(rng, len(new_words), p.dim)
        # New word rows go after the old word rows, before any n-gram rows.
        syn0 = np.concatenate([self.syn0[:len(old)], fresh, self.syn0[len(old):]])  # n-gram rows stay
        syn1 = np.concatenate([self.syn1, np.zeros((len(new_words), p.dim), dtype=np.float32)])
        self._fit(vocab, sentences, syn0, syn1, progress, callbacks)
        return self

    def _fit(self, vocab: Vocabulary, sentences, syn0: np.ndarray, syn1: np.ndarray,
             progress: ProgressReporter | None, callbacks: Sequence = ()) -> None:
        """Train the weights ``syn0``/``syn1`` in place on ``sentences`` over ``vocab``; then set ``wv``."""
        self.vocab, self.syn0, self.syn1 = vocab, syn0, syn1
        self.loss_history, self.predictions_per_epoch, self.epoch = [], [], 0
        _call(callbacks, "on_train_begin", self)
        self._train(vocab, sentences, self._net(vocab, syn0, syn1), progress, callbacks)
        self.wv = self._keyed_vectors(vocab, syn0)
        _call(callbacks, "on_train_end", self)

    def _input_rows(self, vocab_size: int) -> int:
        """Rows of the input matrix: one per word (fastText adds its n-gram buckets)."""
        return vocab_size

    def _subword_table(self, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
        """The kernels' word -> input rows table; empty: each word is its own row."""
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)

    def _keyed_vectors(self, vocab: Vocabulary, syn0: np.ndarray) -> KeyedVectors:
        """The word vectors of trained input weights ``syn0``."""
        return KeyedVectors(vocab.words, syn0, vocab.counts)

    def _check_sizes(self, vocab_size: int) -> None:
        """Refuse settings the vocabulary cannot serve and weights that cannot fit in memory."""
        p = self.params
        if p.loss == "sampled-softmax" and p.negative >= vocab_size:
            raise ParameterError("negative", f"the sampled softmax needs fewer candidates ({p.negative}) than "
                                             f"vocabulary words ({vocab_size}); use --loss softmax or a smaller "
                                             "--negative")
        rows = self._input_rows(vocab_size)
        check_memory(4.0 * (rows + vocab_size) * p.dim, f"the weights ({rows:,} + {vocab_size:,} rows x dim {p.dim:,})")

    def _sentence_source(self, corpus) -> tuple[Callable[[], Iterable[Sequence[str]]], str | None]:
        if isinstance(corpus, (str, os.PathLike, Corpus)):  # read (and standard input copied) once, here
            source = Corpus.open(corpus, lowercase=self.params.lowercase)
            return (lambda: source.sentences(self.params.lowercase)), source.name
        if iter(corpus) is corpus:
            raise TypeError("the corpus must be a path or a re-iterable of token lists (a list, not a generator): "
                            "it is read once for the vocabulary and once per epoch")
        return (lambda: iter(corpus)), None

    def _net(self, vocab: Vocabulary, syn0: np.ndarray, syn1: np.ndarray) -> kernels.Net:
        """The kernels' bundle for ``vocab`` (plain word2vec: one input row per word)."""
        probabilities = noise_distribution(vocab.counts, self.params.ns_exponent)
        accept, alias = alias_table(probabilities)
        return kernels.Net(syn0, syn1, vocab.keep_thresholds(self.params.sample), accept, alias,
                           np.log(probabilities).astype(np.float32), kernels.sigmoid_tables(),
                           *self._subword_table(vocab))

    def _train(self, vocab: Vocabulary, sentences, net: kernels.Net, progress: ProgressReporter | None,
               callbacks: Sequence = ()) -> None:
        """Train ``net`` for every epoch; sets the loss history and the speed."""
        p = self.params
        total = vocab.total_words * p.epochs
        settings = kernels.Settings(ARCHITECTURES[p.model], LOSS_KINDS[p.loss], p.window, p.negative)
        reporter = _Reporter(progress, total, p.epochs)
        runner = Runner(net, settings, p.seed, self.workers, LinearSchedule(self.alpha, p.min_alpha, total),
                        JOB_WORDS, report=reporter)
        started = time.perf_counter()
        number, words_before = 0, 0
        with JobCache() as cache:  # the first epoch's encoded jobs, replayed by later epochs
            for epoch in range(p.epochs):
                if epoch == 0:
                    jobs = make_jobs(sentences(), vocab.index, epoch, number, words_before)
                    if p.epochs > 1:
                        jobs = cache.recording(jobs)
                else:
                    jobs = cache.replay(epoch, number, words_before)
                _call(callbacks, "on_epoch_begin", self)
                done = runner.run(jobs)
                number += len(done)
                words_before += sum(r.words for r in done)
                self.words_per_second = words_before / max(time.perf_counter() - started, 1e-9)
                self.loss_history, self.predictions_per_epoch = _epoch_means(runner.results, epoch + 1)
                self.epoch = epoch + 1
                if callbacks:
                    self.wv = self._keyed_vectors(vocab, net.syn0)
                    _call(callbacks, "on_epoch_end", self)

    def save(self, path: str | os.PathLike) -> None:
        """Save the trainable state to a ``.npz`` (no pickle): weights, vocabulary with counts, settings, losses."""
        if self.wv is None:
            raise TrainingError("the model has not been trained yet")
        meta = {"format": self.FORMAT, "version": _VERSION, "params": self.params.to_dict(),
                "loss_history": self.loss_history, "total_words": self.vocab.total_words}
        save_npz(path, {"syn0": self.syn0, "syn1": self.syn1, "counts": self.vocab.counts,
                        "words": np.array(self.vocab.words, dtype=np.str_)}, meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Word2Vec":
        """Load a model written by :meth:`save` (any version)."""
        arrays, meta = load_npz(path)
        return cls.from_npz(arrays, meta, path)

    @classmethod
    def from_npz(cls, arrays: dict, meta: dict, path: str | os.PathLike) -> "Word2Vec":
        """The model in a :meth:`save` file's arrays and header."""
        kind = meta.get("format", meta.get("kind"))
        if kind != cls.FORMAT:
            raise ModelFileError(f"not a seqdl {cls.__name__} model file", path=str(path))
        if "vectors" in arrays and "syn0" not in arrays:  # version 1 stored the word rows as "vectors"
            arrays["syn0"] = arrays.pop("vectors")
        if not {"syn0", "syn1", "counts", "words"} <= set(arrays):
            raise ModelFileError(f"incomplete {cls.__name__} model file", path=str(path))
        check_finite_arrays({k: arrays[k] for k in ("syn0", "syn1")}, path)
        try:
            model = cls(cls.params_class.from_dict(meta["params"]))
        except (KeyError, TypeError, ParameterError) as exc:
            raise ModelFileError(f"bad settings in the model file ({exc})", path=str(path)) from None
        words, counts = arrays["words"].tolist(), arrays["counts"]
        syn0 = np.ascontiguousarray(arrays["syn0"], dtype=np.float32)
        syn1 = np.ascontiguousarray(arrays["syn1"], dtype=np.float32)
        dim = model.params.dim
        if syn0.shape != (model._input_rows(len(words)), dim) or syn1.shape != (len(words), dim) \
                or counts.shape != (len(words),):
            raise ModelFileError(f"array shapes {syn0.shape}, {syn1.shape} do not fit {len(words)} words of "
                                 f"dimension {dim}", path=str(path))
        vocab = Vocabulary(words, counts, int(meta.get("total_words", int(counts.sum()))))
        model.vocab, model.syn0, model.syn1 = vocab, syn0, syn1
        model.wv = model._keyed_vectors(vocab, syn0)
        model.loss_history = list(meta.get("loss_history", []))
        return model


def _uniform_rows(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    """gensim's initial input rows, uniform in [-1/dim, 1/dim), computed in place (fastText's 2M n-gram rows)."""
    out = rng.random((rows, dim), dtype=np.float32)
    out *= np.float32(2)
    out -= np.float32(1)
    out /= np.float32(dim)
    return out


def _fill_uniform(block: np.ndarray, seed: int, threads: int) -> None:
    """Fill ``block`` (fastText's n-gram rows: 2M x dim by default) uniformly in [-1/dim, 1/dim) on
    ``threads`` threads; the values depend on the seed only, not on the number of threads."""
    if block.shape[0] == 0:
        return
    scale = np.float32(1.0 / block.shape[1])
    bounds = np.linspace(0, block.shape[0], min(threads, block.shape[0]) + 1).astype(int)
    workers = [threading.Thread(target=kernels.fill_uniform, args=(block[a:b], seed, a, scale))
               for a, b in zip(bounds[:-1], bounds[1:])]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _call(callbacks: Sequence, method: str, model: "Word2Vec") -> None:
    """Call ``method`` of each callback that defines it (gensim's CallbackAny2Vec protocol)."""
    for callback in callbacks:
        hook = getattr(callback, method, None)
        if hook is not None:
            hook(model)


class _Reporter:
    """Turns the runner's results into ``progress.update`` calls: words done, epoch, loss since last time."""

    def __init__(self, progress: ProgressReporter | None, total: int, epochs: int):
        self.progress, self.total, self.epochs = progress, total, epochs
        self.reported = 0

    def __call__(self, results: list[JobResult]) -> None:
        if self.progress is None:
            return
        done = results[:]  # workers append while we read
        recent = done[self.reported:]
        self.reported = len(done)
        predictions = sum(r.predictions for r in recent)
        fields = {"epoch": f"{max((r.epoch for r in done), default=0) + 1}/{self.epochs}"}
        if predictions:
            fields["loss"] = sum(r.loss for r in recent) / predictions
        self.progress.update(sum(r.words for r in done), self.total, **fields)


def _epoch_means(results: list[JobResult], epochs: int) -> tuple[list[float], list[int]]:
    """Mean loss per prediction, and predictions, of each epoch, summed over every worker's jobs."""
    loss = np.zeros(epochs)
    count = np.zeros(epochs)
    for result in results:
        loss[result.epoch] += result.loss
        count[result.epoch] += result.predictions
    return [float(l / c) if c else float("nan") for l, c in zip(loss, count)], [int(c) for c in count]
