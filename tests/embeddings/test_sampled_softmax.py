"""The sampled softmax approaches the full softmax as its candidate set grows."""

from __future__ import annotations

import numpy as np

from seqdl.embeddings.kernels import sampled_softmax_coefficients, softmax_coefficients
from seqdl.embeddings.noise import noise_distribution

V, DIM = 40, 8


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(1, DIM)).astype(np.float32)
    syn1 = rng.normal(scale=0.6, size=(V, DIM)).astype(np.float32)
    q = noise_distribution(rng.integers(1, 1000, size=V))
    return h, syn1, q


def _full(h, syn1, target):
    coef = np.empty(V)
    loss = softmax_coefficients(h, 0, target, syn1, coef)
    return loss, coef @ syn1.astype(np.float64), coef  # loss, d/dh, d/dlogit per word


def _sampled(h, syn1, q, target, k, rng):
    candidates = rng.choice(V, size=k, p=q).astype(np.int32)
    corrections = np.log(k * q[candidates]).astype(np.float32)
    coef = np.empty(k + 1)
    loss = sampled_softmax_coefficients(h, 0, target, syn1, candidates, corrections, coef)
    per_word = np.zeros(V)
    np.add.at(per_word, np.r_[target, candidates], coef)
    return loss, per_word @ syn1.astype(np.float64), per_word, candidates, coef


def test_full_softmax_loss_and_gradient_are_the_cross_entropys():
    h, syn1, _ = _problem()
    logits = syn1.astype(np.float64) @ h[0]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    loss, dh, coef = _full(h, syn1, 3)
    assert abs(loss + np.log(p[3])) < 1e-5
    want = p.copy()
    want[3] -= 1
    np.testing.assert_allclose(coef, want, atol=1e-6)


def test_accidental_hits_are_removed():
    h, syn1, q = _problem()
    candidates = np.array([5, 3, 3, 9], dtype=np.int32)
    corrections = np.log(4 * q[candidates]).astype(np.float32)
    coef = np.empty(5)
    sampled_softmax_coefficients(h, 0, 3, syn1, candidates, corrections, coef)
    assert coef[2] == 0 and coef[3] == 0   # the candidates equal to the target
    assert coef[0] < 0 and coef[1] > 0 and coef[4] > 0
    assert abs(coef.sum()) < 1e-9          # softmax over the kept logits minus one-hot


def test_sampled_loss_and_gradients_approach_full_softmax_as_the_sample_grows():
    h, syn1, q = _problem()
    rng = np.random.default_rng(1)
    target = 7
    full_loss, full_dh, full_coef = _full(h, syn1, target)
    errors = []
    for k in (5, 50, 500, 5000):
        runs = [_sampled(h, syn1, q, target, k, rng) for _ in range(20)]
        loss_error = np.mean([abs(r[0] - full_loss) for r in runs])
        dh_error = np.mean([np.linalg.norm(r[1] - full_dh) for r in runs]) / np.linalg.norm(full_dh)
        coef_error = np.mean([np.abs(r[2] - full_coef).sum() for r in runs])
        errors.append((loss_error, dh_error, coef_error))
    errors = np.array(errors)
    assert (np.diff(errors, axis=0) < 0).all(), errors         # every error shrinks as k grows
    assert (errors[-1] < errors[0] / 10).all(), errors          # Monte Carlo rate: 1/sqrt(k)
    assert errors[-1, 0] < 0.05 and errors[-1, 1] < 0.05 and errors[-1, 2] < 0.15, errors
