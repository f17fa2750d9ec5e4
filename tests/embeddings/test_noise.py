"""Noise sampling: the alias table reproduces count ** 0.75, and draws are seeded."""

from __future__ import annotations

import numpy as np

from seqdl.embeddings.noise import alias_table, draw_many, noise_distribution


def _draws(accept, alias, n, seed):
    return draw_many(np.uint64(seed), accept, alias, n)


def test_alias_table_is_exact_for_the_noise_distribution():
    counts = np.array([1000, 300, 300, 50, 7, 1, 1])
    probabilities = noise_distribution(counts)
    np.testing.assert_allclose(probabilities, counts**0.75 / (counts**0.75).sum())
    accept, alias = alias_table(probabilities)
    # Probability mass each word receives from the table, computed exactly.
    n = len(counts)
    mass = np.zeros(n)
    for bucket in range(n):
        keep = (accept[bucket].astype(np.float64) + 1) / 2.0**32
        mass[bucket] += min(keep, 1.0) / n
        mass[alias[bucket]] += (1 - min(keep, 1.0)) / n
    np.testing.assert_allclose(mass, probabilities, atol=1e-8)


def test_draws_follow_the_distribution_and_repeat_for_a_seed():
    probabilities = noise_distribution(np.array([500, 200, 100, 50, 10]))
    accept, alias = alias_table(probabilities)
    draws = _draws(accept, alias, 200_000, 7)
    frequencies = np.bincount(draws, minlength=5) / len(draws)
    np.testing.assert_allclose(frequencies, probabilities, atol=0.005)
    np.testing.assert_array_equal(draws[:1000], _draws(accept, alias, 1000, 7))
    assert not np.array_equal(draws[:1000], _draws(accept, alias, 1000, 8))
