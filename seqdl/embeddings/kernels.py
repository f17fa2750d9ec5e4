"""Numba kernels that train word2vec on one job (a few thousand words) without the GIL.

A job is a run of word ids (``-1`` for words outside the vocabulary) and the
end offset of each sentence in it. :func:`train_job` drops unknown words,
subsamples frequent ones, draws a reduced window per centre word and trains
skip-gram (predict the centre word from each context word's vector, as
word2vec.c and gensim do) or CBOW (predict it from the mean of the context
vectors) with one of three output layers:

- negative sampling: the target against ``negative`` noise words;
- sampled softmax (Jean et al. 2015): a softmax over the target and ``k``
  candidates shared by all predictions of one centre word, each sampled
  logit corrected by ``-log(k * Q(word))`` and candidates equal to the
  target removed, so the sum over candidates estimates the softmax's
  normaliser without bias;
- full softmax over the whole vocabulary (a reference for small ones).

Several threads may run :func:`train_job` on the same matrices at once
(Hogwild). Nothing is allocated per pair: the caller passes per-thread
scratch buffers. The sigmoid and log-sigmoid come from tables over
``[-MAX_EXP, MAX_EXP]``, like word2vec.c's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .noise import below, draw_noise, next_random, seed_state

SKIPGRAM, CBOW = 0, 1
NEGATIVE, SAMPLED_SOFTMAX, SOFTMAX = 0, 1, 2

MAX_EXP = 6.0
TABLE_SIZE = 1000

# Reassociation lets LLVM vectorise the dot products; NaN and infinity keep
# their meaning so that a diverging run is caught rather than hidden.
_FAST = {"reassoc", "contract", "arcp", "nsz", "afn"}


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


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
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


@njit(cache=True, nogil=True, fastmath=_FAST)
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


@njit(cache=True, nogil=True, fastmath=_FAST)
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


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
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


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
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


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
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


@njit(cache=True, nogil=True, fastmath=_FAST)
def train_job(syn0, syn1, ids, sentence_ends, keep, accept, alias, log_q, tables,
              model, loss_kind, window, negative, alpha_start, alpha_end, seed, job,
              sentence, work, neu1, candidates, corrections, coef):
    """Train on one job; returns ``(summed loss, predictions made, words trained on)``.

    ``keep`` holds subsampling thresholds (uint32), ``accept``/``alias`` the
    noise alias table, ``log_q`` the log noise probability of each word.
    The learning rate falls linearly from ``alpha_start`` to ``alpha_end``
    over the job. ``sentence`` (int32, at least the longest sentence),
    ``work`` (float32, dim), ``neu1`` (float32, (1, dim)), ``candidates``
    (int32, k), ``corrections`` (float32, k) and ``coef`` (float64, k + 1 or
    the vocabulary size) are the calling thread's scratch buffers.
    """
    state = seed_state(seed, job)
    dim = syn0.shape[1]
    k = candidates.shape[0]
    log_k = np.log(max(k, 1))
    n_ids = ids.shape[0]
    loss = 0.0
    predictions = 0
    trained = 0
    start = 0
    for end in sentence_ends:
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
        for i in range(length):
            position = start + (end - start) * i / length  # where in the job this word came from
            alpha = np.float32(alpha_start + (alpha_end - alpha_start) * position / n_ids)
            target = sentence[i]
            bits, state = next_random(state)
            reduced = window - below(bits, window)
            lo = max(0, i - reduced)
            hi = min(length, i + reduced + 1)
            if hi - lo <= 1:
                continue
            if loss_kind == SAMPLED_SOFTMAX:
                for m in range(k):
                    c, state = draw_noise(state, accept, alias)
                    candidates[m] = c
                    corrections[m] = log_q[c] + log_k
            if model == SKIPGRAM:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    context = sentence[j]
                    for d in range(dim):
                        work[d] = 0.0
                    pair_loss, state = _predict(syn0, context, target, syn1, alpha, loss_kind, negative, work,
                                                state, accept, alias, tables, candidates, corrections, coef)
                    for d in range(dim):
                        syn0[context, d] += work[d]
                    loss += pair_loss
                    predictions += 1
            else:
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
                pair_loss, state = _predict(neu1, 0, target, syn1, alpha, loss_kind, negative, work, state,
                                            accept, alias, tables, candidates, corrections, coef)
                # Each context word gets the whole error, as in word2vec.c and gensim (cbow_mean=1).
                for j in range(lo, hi):
                    if j != i:
                        context = sentence[j]
                        for d in range(dim):
                            syn0[context, d] += work[d]
                loss += pair_loss
                predictions += 1
            if loss != loss:
                return loss, predictions, trained
        trained += length
        start = end
    return loss, predictions, trained
