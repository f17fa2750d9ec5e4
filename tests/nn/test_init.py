"""Initialisers follow torch.nn.init's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqdl.nn import init

SHAPE = (64, 32, 3, 3)  # fan_in 288, fan_out 576
FAN_IN, FAN_OUT = 32 * 9, 64 * 9


def test_fans_follow_torch():
    assert init.fans(SHAPE) == (FAN_IN, FAN_OUT)
    assert init.fans((5, 7)) == (7, 5)
    with pytest.raises(ValueError):
        init.fans((5,))


@pytest.mark.parametrize("fill,bound", [
    (lambda a: init.xavier_uniform(a, gain=2.0, rng=0), 2.0 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (lambda a: init.kaiming_uniform(a, rng=0), math.sqrt(2) * math.sqrt(3 / FAN_IN)),
    (lambda a: init.kaiming_uniform(a, a=math.sqrt(5), rng=0), 1 / math.sqrt(FAN_IN)),
    (lambda a: init.kaiming_uniform(a, mode="fan_out", nonlinearity="relu", rng=0), math.sqrt(2) * math.sqrt(3 / FAN_OUT)),
])
def test_uniform_initialisers_fill_their_interval(fill, bound):
    a = fill(np.empty(SHAPE, dtype=np.float32))
    assert np.abs(a).max() <= bound
    assert np.abs(a).max() > 0.99 * bound
    assert a.std() == pytest.approx(bound / math.sqrt(3), rel=0.03)


@pytest.mark.parametrize("fill,std", [
    (lambda a: init.xavier_normal(a, rng=0), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (lambda a: init.kaiming_normal(a, nonlinearity="relu", rng=0), math.sqrt(2 / FAN_IN)),
    (lambda a: init.kaiming_normal(a, nonlinearity="tanh", mode="fan_out", rng=0), 5 / 3 / math.sqrt(FAN_OUT)),
])
def test_normal_initialisers_have_torchs_std(fill, std):
    a = fill(np.empty(SHAPE))
    assert a.mean() == pytest.approx(0.0, abs=0.05 * std)
    assert a.std() == pytest.approx(std, rel=0.03)


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape):
    a = init.orthogonal(np.empty(shape), gain=1.5, rng=0).reshape(shape[0], -1)
    small = a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a
    np.testing.assert_allclose(small, 2.25 * np.eye(len(small)), atol=1e-12)


def test_zeros_and_fill_in_place():
    a = np.ones((3, 4))
    assert init.zeros(a) is a and not a.any()
    assert init.xavier_uniform(a, rng=1) is a and a.any()


def test_same_seed_same_values():
    np.testing.assert_array_equal(init.kaiming_normal(np.empty((5, 4)), rng=3),
                                  init.kaiming_normal(np.empty((5, 4)), rng=3))


def test_gains():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
