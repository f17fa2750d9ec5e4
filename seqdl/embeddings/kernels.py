"""Numba kernels that train word2vec on one job (a few thousand words) without the GIL.

A job is a run of word ids (``-1`` for words outside the vocabulary) and the
end offset of each sentence in it. :func:`train_job` drops unknown words,
subsamples frequent ones, draws a reduced window per centre word and hands
the window to the architecture's kernel, :func:`skipgram_centre` or
:func:`cbow_centre` (gensim's ``fast_sentence_sg_*``/``fast_sentence_cbow_*``
split; ``*_subword_centre`` for fastText), which predict with one of three
output layers:

- negative sampling: the target against ``negative`` noise words;
- sampled softmax (Jean et al. 2015): a softmax over the target and ``k``
  candidates shared by all predictions of one centre word, each sampled
  logit corrected by ``-log(k * Q(word))`` and candidates equal to the
  target removed, so the sum over candidates estimates the softmax's
  normaliser without bias;
- full softmax over the whole vocabulary (a reference for small ones).

Several threads may run :func:`train_job` on the same matrices at once
(Hogwild). The kernels take three named bundles: :class:`Net` (weights and
tables), :class:`Settings` and :class:`Scratch` (per-thread buffers, so
nothing is allocated per pair). With subwords (fastText) a word's input is
the mean of its own row and its character n-grams' rows. The sigmoid and log-sigmoid come from tables over
``[-MAX_EXP, MAX_EXP]``, like word2vec.c's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..kernel_flags import FASTMATH
from .noise import below, draw_noise, next_random, seed_state

SKIPGRAM, CBOW = 0, 1
NEGATIVE, SAMPLED_SOFTMAX, SOFTMAX = 0, 1, 2

MAX_EXP = 6.0
TABLE_SIZE = 1000



def sigmoid_tables() -> np.ndarray:
    """float32 array (3, TABLE_SIZE): sigmoid(x), log sigmoid(x), log sigmoid(-x) on word2vec's grid."""
    x = (np.arange(TABLE_SIZE, dtype=np.float64) / TABLE_SIZE * 2 - 1) * MAX_EXP
    return np.stack([1 / (1 + np.exp(-x)), -np.log1p(np.exp(-x)), -np.log1p(np.exp(x))]).astype(np.float32)


@njit(cache=True, nogil=True, inline="always")
def _table_index(f):
    if f >= MAX_EXP:
        return TABLE_SIZE - 1
    if f <= -MAX_EXP:
        return 0
    return int((f + MAX_EXP) * (TABLE_SIZE / MAX_EXP / 2))


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _negative_sampling(h, row_h, target, syn1, alpha, negative, work, state, accept, alias, tables):
    """Predict ``target`` from row ``row_h`` of ``h`` against noise words; add h's gradient to ``work``.

    Returns ``(loss, state)``. Rows are indexed in place, never sliced: a
    view would touch the array's shared reference count on every pair.
    """
    dim = h.shape[1]
    loss = 0.0
    for d in range(negative + 1):
        if d == 0:
            word = target
            label = 1.0
        else:
            word, state = draw_noise(state, accept, alias)
            if word == target:
                continue
            label = 0.0
        f = np.float32(0.0)
        for k in range(dim):
            f += h[row_h, k] * syn1[word, k]
        if f != f:
            return np.nan, state
        i = _table_index(f)
        g = np.float32((label - tables[0, i]) * alpha)
        loss -= tables[1, i] if d == 0 else tables[2, i]
        for k in range(dim):
            r = syn1[word, k]
            work[k] += g * r
            syn1[word, k] = r + g * h[row_h, k]
    return loss, state


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def sampled_softmax_coefficients(h, row_h, target, syn1, candidates, corrections, coef):
    """Sampled-softmax loss of predicting ``target`` from row ``row_h`` of ``h``; d loss / d logit in ``coef``.

    ``coef[0]`` belongs to the target, ``coef[1 + m]`` to ``candidates[m]``
    (zero for an accidental hit). The target's logit is exact; candidate
    ``m``'s is corrected by ``corrections[m] = log(k * Q(candidates[m]))``.
    """
    dim = h.shape[1]
    k = candidates.shape[0]
    best = -np.inf
    for m in range(k + 1):
        word = target if m == 0 else candidates[m - 1]
        if m > 0 and word == target:
            coef[m] = -np.inf
            continue
        s = np.float32(0.0)
        for j in range(dim):
            s += h[row_h, j] * syn1[word, j]
        coef[m] = s - corrections[m - 1] if m > 0 else s
        best = max(best, coef[m])
    return _softmax_coefficients(coef, k + 1, best, 0)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def softmax_coefficients(h, row_h, target, syn1, coef):
    """Full-softmax loss of predicting ``target`` from row ``row_h`` of ``h``; d loss / d logit of each word in ``coef``."""
    dim = h.shape[1]
    best = -np.inf
    for word in range(syn1.shape[0]):
        s = np.float32(0.0)
        for j in range(dim):
            s += h[row_h, j] * syn1[word, j]
        coef[word] = s
        best = max(best, coef[word])
    return _softmax_coefficients(coef, syn1.shape[0], best, target)


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _softmax_coefficients(coef, n, best, true):
    """Turn logits ``coef[:n]`` into softmax minus one-hot(``true``); return the cross-entropy."""
    total = 0.0
    for m in range(n):
        coef[m] = np.exp(coef[m] - best)
        total += coef[m]
    loss = np.log(total) - np.log(coef[true])
    for m in range(n):
        coef[m] = coef[m] / total
    coef[true] -= 1.0
    return loss


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _apply_coefficients(h, row_h, syn1, target, candidates, coef, n, alpha, work):
    """Descend along ``coef``: update ``syn1`` rows and add h's gradient to ``work``.

    ``coef[m]`` belongs to word ``m`` when ``candidates`` is empty (full
    softmax), else to the target (m = 0) or ``candidates[m - 1]``.
    """
    dim = h.shape[1]
    for m in range(n):
        g = np.float32(-alpha * coef[m])
        if g == 0:
            continue
        if candidates.shape[0] == 0:
            word = m
        else:
            word = target if m == 0 else candidates[m - 1]
        for j in range(dim):
            r = syn1[word, j]
            work[j] += g * r
            syn1[word, j] = r + g * h[row_h, j]


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _predict(h, row_h, target, syn1, alpha, loss_kind, negative, work, state, accept, alias, tables,
             candidates, corrections, coef):
    """Predict ``target`` from row ``row_h`` of ``h`` with the chosen output layer: ``(loss, state)``."""
    if loss_kind == NEGATIVE:
        return _negative_sampling(h, row_h, target, syn1, alpha, negative, work, state, accept, alias, tables)
    if loss_kind == SAMPLED_SOFTMAX:
        loss = sampled_softmax_coefficients(h, row_h, target, syn1, candidates, corrections, coef)
        _apply_coefficients(h, row_h, syn1, target, candidates, coef, candidates.shape[0] + 1, alpha, work)
    else:
        loss = softmax_coefficients(h, row_h, target, syn1, coef)
        _apply_coefficients(h, row_h, syn1, target, candidates[:0], coef, syn1.shape[0], alpha, work)
    return loss, state


@njit(cache=True, nogil=True)
def fill_uniform(out, seed, first_row, scale):
    """Fill ``out`` with values uniform in ``[-scale, scale)``; row ``r`` is row ``first_row + r`` of a matrix
    whose every row depends only on ``seed`` and its number, so threads may fill any split of it."""
    for r in range(out.shape[0]):
        state = seed_state(seed, np.uint64(1 << 62) + np.uint64(first_row + r))
        for d in range(out.shape[1]):
            bits, state = next_random(state)
            unit = np.float32(np.float64(bits >> np.uint64(40)) * (1.0 / (1 << 24)))
            out[r, d] = (unit * np.float32(2) - np.float32(1)) * scale


class Net(NamedTuple):
    """The arrays a run's kernels share: weights (written, Hogwild) and read-only tables.

    ``syn0`` holds the input vectors: one row per vocabulary word, then (with
    subwords) one per n-gram hash bucket. Word ``w`` is represented by rows
    ``subword_rows[subword_ptr[w]:subword_ptr[w + 1]]`` (its own row first,
    then its n-grams', averaged as fastText does); empty ``subword_ptr`` means
    plain word2vec, one row per word.
    """

    syn0: np.ndarray  # float32 (rows, dim)
    syn1: np.ndarray  # float32 (vocabulary, dim): output weights
    keep: np.ndarray  # uint32 (vocabulary,): subsampling thresholds on 32 random bits
    accept: np.ndarray  # uint32: noise alias table
    alias: np.ndarray  # int32
    log_q: np.ndarray  # float32 (vocabulary,): log noise probability
    sigmoid: np.ndarray  # float32 (3, TABLE_SIZE): sigmoid_tables()
    subword_ptr: np.ndarray  # int64 (vocabulary + 1,) or (0,)
    subword_rows: np.ndarray  # int32


class Settings(NamedTuple):
    """The integer settings the kernels branch on."""

    model: int  # SKIPGRAM or CBOW
    loss_kind: int  # NEGATIVE, SAMPLED_SOFTMAX or SOFTMAX
    window: int
    negative: int  # noise words, or the sampled softmax's candidates


class Scratch(NamedTuple):
    """One thread's buffers, so that nothing is allocated per prediction."""

    sentence: np.ndarray  # int32, at least the longest sentence of a job
    work: np.ndarray  # float32 (dim,): the input's gradient
    neu1: np.ndarray  # float32 (1, dim): a composed input (CBOW's mean, a word's subword mean)
    candidates: np.ndarray  # int32 (k,): the sampled softmax's candidates
    corrections: np.ndarray  # float32 (k,): their log(k * Q)
    coef: np.ndarray  # float64 (k + 1 or vocabulary,): d loss / d logit
    grad: np.ndarray  # float32 (dim,): a centre word's summed input gradient (fastText skip-gram)


def make_scratch(settings: Settings, dim: int, vocab_size: int, max_sentence: int) -> Scratch:
    """Buffers for one thread running :func:`train_job` with ``settings``."""
    k = settings.negative if settings.loss_kind == SAMPLED_SOFTMAX else 0
    coef = vocab_size if settings.loss_kind == SOFTMAX else k + 1
    return Scratch(np.empty(max_sentence, dtype=np.int32), np.empty(dim, dtype=np.float32),
                   np.empty((1, dim), dtype=np.float32), np.empty(k, dtype=np.int32),
                   np.empty(k, dtype=np.float32), np.empty(coef, dtype=np.float64),
                   np.empty(dim, dtype=np.float32))


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _add_rows(net, word, neu1):
    """Add the rows of ``word`` (its own and its n-grams') to ``neu1[0]``; returns how many."""
    dim = net.syn0.shape[1]
    for p in range(net.subword_ptr[word], net.subword_ptr[word + 1]):
        row = net.subword_rows[p]
        for d in range(dim):
            neu1[0, d] += net.syn0[row, d]
    return net.subword_ptr[word + 1] - net.subword_ptr[word]


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _spread(net, word, work):
    """Add the input gradient ``work`` to each of word's rows (fastText gives each row the whole gradient)."""
    dim = net.syn0.shape[1]
    for p in range(net.subword_ptr[word], net.subword_ptr[word + 1]):
        row = net.subword_rows[p]
        for d in range(dim):
            net.syn0[row, d] += work[d]


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _predict_from(net, scratch, settings, h, row_h, target, alpha, state):
    """:func:`_predict` with the bundle's tables and buffers."""
    return _predict(h, row_h, target, net.syn1, alpha, settings.loss_kind, settings.negative, scratch.work,
                    state, net.accept, net.alias, net.sigmoid, scratch.candidates, scratch.corrections,
                    scratch.coef)


# Each architecture has a word2vec kernel and a subword (fastText) kernel: a branch on
# subwords inside their loops costs word2vec CBOW a fifth of its speed.

@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def skipgram_centre(net, scratch, settings, i, lo, hi, alpha, state):
    """Skip-gram on the window ``[lo, hi)`` around ``scratch.sentence[i]``: ``(loss, predictions, state)``.

    Each context word's row predicts the centre word (word2vec.c, gensim's
    ``fast_sentence_sg_neg``).
    """
    sentence, work, syn0 = scratch.sentence, scratch.work, net.syn0
    dim = syn0.shape[1]
    loss = 0.0
    for j in range(lo, hi):
        if j == i:
            continue
        for d in range(dim):
            work[d] = 0.0
        context = sentence[j]
        pair_loss, state = _predict_from(net, scratch, settings, syn0, context, sentence[i], alpha, state)
        for d in range(dim):
            syn0[context, d] += work[d]
        loss += pair_loss
    return loss, hi - lo - 1, state


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def skipgram_subword_centre(net, scratch, settings, i, lo, hi, alpha, state):
    """fastText's skip-gram: the centre word's averaged rows predict each context word.

    gensim's ``fasttext_fast_sentence_sg_neg`` recomposes the mean of the
    centre's rows and adds each prediction's gradient to every row, pair by
    pair. Adding ``work`` to each of the rows moves their mean by ``work``
    times (sum of each row's multiplicity squared) / (rows) (exactly
    ``work`` unless two n-grams share a bucket), and nothing else reads those
    rows meanwhile, so this kernel composes once per centre, moves the mean
    after each pair, and adds the summed gradient to the rows once: the same
    updates (up to rounding) for a fraction of the memory traffic.

    The sum of the word's row and its n-grams' rows is divided by the n-gram
    count (by 1 for a word with none), as gensim's kernel does, not by the row
    count as Facebook's fastText does: the larger input trains to gensim's
    analogy accuracy (1.3 points below it when averaging on speeches-news).
    CBOW averages over every row, as both do.
    """
    sentence, work, neu1, grad = scratch.sentence, scratch.work, scratch.neu1, scratch.grad
    dim = net.syn0.shape[1]
    centre = sentence[i]
    start, end = net.subword_ptr[centre], net.subword_ptr[centre + 1]
    for d in range(dim):
        neu1[0, d] = 0.0
        grad[d] = 0.0
    _add_rows(net, centre, neu1)
    shared = 0  # sum over rows of how many times the row's bucket occurs: end - start without collisions
    for p in range(start, end):
        for q in range(start, end):
            if net.subword_rows[p] == net.subword_rows[q]:
                shared += 1
    divisor = max(end - start - 1, 1)  # the n-gram count (the word's own row is first)
    scale = np.float32(1.0 / divisor)
    step = np.float32(shared / divisor)
    for d in range(dim):
        neu1[0, d] *= scale
    loss = 0.0
    for j in range(lo, hi):
        if j == i:
            continue
        for d in range(dim):
            work[d] = 0.0
        pair_loss, state = _predict_from(net, scratch, settings, neu1, 0, sentence[j], alpha, state)
        for d in range(dim):
            grad[d] += work[d]
            neu1[0, d] += step * work[d]
        loss += pair_loss
    _spread(net, centre, grad)
    return loss, hi - lo - 1, state


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def cbow_centre(net, scratch, settings, i, lo, hi, alpha, state):
    """CBOW: predict ``scratch.sentence[i]`` from the mean of its window's rows: ``(loss, 1, state)``.

    Each context word gets the whole gradient, as in word2vec.c and gensim
    (``cbow_mean=1``).
    """
    sentence, work, neu1, syn0 = scratch.sentence, scratch.work, scratch.neu1, net.syn0
    dim = syn0.shape[1]
    for d in range(dim):
        neu1[0, d] = 0.0
        work[d] = 0.0
    for j in range(lo, hi):
        if j != i:
            context = sentence[j]
            for d in range(dim):
                neu1[0, d] += syn0[context, d]
    scale = np.float32(1.0 / (hi - lo - 1))
    for d in range(dim):
        neu1[0, d] *= scale
    loss, state = _predict_from(net, scratch, settings, neu1, 0, sentence[i], alpha, state)
    for j in range(lo, hi):
        if j != i:
            context = sentence[j]
            for d in range(dim):
                syn0[context, d] += work[d]
    return loss, 1, state


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def cbow_subword_centre(net, scratch, settings, i, lo, hi, alpha, state):
    """fastText's CBOW: the mean of every row of every context word predicts the centre word.

    Each row gets the whole gradient (gensim's ``fasttext_fast_sentence_cbow_neg``).
    """
    sentence, work, neu1 = scratch.sentence, scratch.work, scratch.neu1
    dim = net.syn0.shape[1]
    for d in range(dim):
        neu1[0, d] = 0.0
        work[d] = 0.0
    rows = 0
    for j in range(lo, hi):
        if j != i:
            rows += _add_rows(net, sentence[j], neu1)
    scale = np.float32(1.0 / rows)
    for d in range(dim):
        neu1[0, d] *= scale
    loss, state = _predict_from(net, scratch, settings, neu1, 0, sentence[i], alpha, state)
    for j in range(lo, hi):
        if j != i:
            _spread(net, sentence[j], work)
    return loss, 1, state


@njit(cache=True, nogil=True, inline="always")
def _subsample(keep, ids, start, end, sentence, state):
    """Copy the known, not subsampled words of ``ids[start:end]`` into ``sentence``: ``(length, state)``."""
    length = 0
    for p in range(start, end):
        word = ids[p]
        if word < 0:
            continue
        bits, state = next_random(state)
        if (bits >> np.uint64(32)) > np.uint64(keep[word]):
            continue
        sentence[length] = word
        length += 1
    return length, state


@njit(cache=True, nogil=True, inline="always")
def _draw_candidates(net, scratch, log_k, state):
    """Draw the sampled softmax's shared candidates for one centre word, with their corrections."""
    for m in range(scratch.candidates.shape[0]):
        c, state = draw_noise(state, net.accept, net.alias)
        scratch.candidates[m] = c
        scratch.corrections[m] = net.log_q[c] + log_k
    return state


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def train_job(net, scratch, settings, ids, sentence_ends, alpha_start, alpha_end, seed, job):
    """Train on one job; returns ``(summed loss, predictions made, words trained on)``.

    ``ids`` are the job's word ids (-1: unknown) and ``sentence_ends`` each
    sentence's end offset. The learning rate falls linearly from
    ``alpha_start`` to ``alpha_end`` over the job. The random draws
    (subsampling, reduced windows, noise words) depend only on ``seed`` and
    the job number ``job``.
    """
    state = seed_state(seed, job)
    window = settings.window
    subwords = net.subword_ptr.shape[0] > 0
    log_k = np.log(max(scratch.candidates.shape[0], 1))
    n_ids = ids.shape[0]
    loss = 0.0
    predictions = 0
    trained = 0
    start = 0
    for end in sentence_ends:
        length, state = _subsample(net.keep, ids, start, end, scratch.sentence, state)
        for i in range(length):
            position = start + (end - start) * i / length  # where in the job this word came from
            alpha = np.float32(alpha_start + (alpha_end - alpha_start) * position / n_ids)
            bits, state = next_random(state)
            reduced = window - below(bits, window)
            lo = max(0, i - reduced)
            hi = min(length, i + reduced + 1)
            if hi - lo <= 1:
                continue
            if settings.loss_kind == SAMPLED_SOFTMAX:
                state = _draw_candidates(net, scratch, log_k, state)
            if settings.model == SKIPGRAM:
                if subwords:
                    centre_loss, made, state = skipgram_subword_centre(net, scratch, settings, i, lo, hi, alpha,
                                                                       state)
                else:
                    centre_loss, made, state = skipgram_centre(net, scratch, settings, i, lo, hi, alpha, state)
            elif subwords:
                centre_loss, made, state = cbow_subword_centre(net, scratch, settings, i, lo, hi, alpha, state)
            else:
                centre_loss, made, state = cbow_centre(net, scratch, settings, i, lo, hi, alpha, state)
            loss += centre_loss
            predictions += made
            if loss != loss:
                return loss, predictions, trained
        trained += length
        start = end
    return loss, predictions, trained
