"""The warmup + cosine schedule is nanoGPT's get_lr; warmup wraps any schedule."""

from __future__ import annotations

import math

import pytest

from seqdl.nn import schedules


def nanogpt_get_lr(it, learning_rate, warmup_iters, lr_decay_iters, min_lr):
    # nanoGPT train.py, verbatim apart from the arguments.
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


@pytest.mark.parametrize("warmup", [0, 1, 10])
def test_warmup_cosine_is_nanogpts_get_lr(warmup):
    schedule = schedules.warmup_cosine(6e-4, total=100, warmup=warmup, min_lr=6e-5)
    for it in range(130):
        assert schedule(it) == pytest.approx(nanogpt_get_lr(it, 6e-4, warmup, 100, 6e-5), rel=1e-12), it


def test_constant_and_warmup_of_step_decay():
    assert schedules.Constant(0.1)(1000) == 0.1
    s = schedules.Warmup(schedules.StepDecay(1.0, step_size=2, gamma=0.5), warmup=3)
    assert [s(i) for i in range(8)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.5, 0.25])
    with pytest.raises(ValueError, match="warmup"):
        schedules.warmup_cosine(1.0, total=5, warmup=5)
