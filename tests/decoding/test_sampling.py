"""Sampling decoders: the temperature → top-k → top-p pipeline, greedy limits, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from seqdl_sampling import Sampler, filter_log_probs, greedy

PROMPT = [1, 2]


def probs(log_probs):
    return np.exp(log_probs)


def test_temperature_one_and_no_filters_is_identity():
    lp = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    np.testing.assert_allclose(filter_log_probs(lp), lp)


def test_temperature_sharpens_and_flattens():
    lp = np.log(np.array([0.5, 0.3, 0.2]))
    cold, hot = probs(filter_log_probs(lp, temperature=0.5)), probs(filter_log_probs(lp, temperature=2.0))
    np.testing.assert_allclose(cold, np.array([0.25, 0.09, 0.04]) / 0.38)
    assert cold[0] > 0.5 > hot[0] > 1 / 3


def test_top_k_keeps_k_most_likely():
    lp = np.log(np.array([0.1, 0.4, 0.2, 0.3]))
    p = probs(filter_log_probs(lp, top_k=2))
    np.testing.assert_allclose(p, [0, 4 / 7, 0, 3 / 7])


def test_top_p_keeps_the_smallest_set_reaching_p():
    lp = np.log(np.array([0.1, 0.4, 0.2, 0.3]))
    np.testing.assert_allclose(probs(filter_log_probs(lp, top_p=0.65)), [0, 4 / 7, 0, 3 / 7])
    np.testing.assert_allclose(probs(filter_log_probs(lp, top_p=0.75)), [0, 4 / 9, 2 / 9, 3 / 9])
    np.testing.assert_allclose(probs(filter_log_probs(lp, top_p=0.01)), [0, 1, 0, 0])  # at least one


def test_order_is_temperature_then_top_k_then_top_p():
    lp = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    # temperature 0.5 gives [16, 9, 4, 1] / 30; top-k 3 gives [16, 9, 4] / 29;
    # top-p 0.8 keeps 16/29 + 9/29 = 0.862 >= 0.8, i.e. two tokens.
    p = probs(filter_log_probs(lp, temperature=0.5, top_k=3, top_p=0.8))
    np.testing.assert_allclose(p, [16 / 25, 9 / 25, 0, 0])


def test_bad_options_fail_at_construction():
    for options in ({"temperature": -1}, {"top_k": -1}, {"top_p": 0.0}, {"top_p": 1.5}):
        with pytest.raises(ValueError):
            Sampler(**options)


@pytest.mark.parametrize("seed", range(4))
def test_top_k_one_and_tiny_temperature_equal_greedy(make_model, seed):
    model = make_model(vocab_size=6, seed=seed)
    expected = greedy().decode(model, PROMPT, 12)
    assert Sampler(top_k=1, seed=seed).decode(model, PROMPT, 12) == expected
    assert Sampler(temperature=1e-4, seed=seed).decode(model, PROMPT, 12) == expected


def test_same_seed_same_text_and_different_seeds_differ(make_model):
    model = make_model(vocab_size=6)
    runs = {seed: Sampler(seed=seed).decode(model, PROMPT, 30) for seed in (1, 1, 2, 3)}
    assert Sampler(seed=1).decode(model, PROMPT, 30) == runs[1]
    assert len({tuple(r) for r in runs.values()}) == 3


def test_sampling_follows_the_model_distribution(make_model):
    model = make_model(vocab_size=4, seed=5)
    log_probs, _ = model.start(PROMPT)
    sampler = Sampler(seed=0)
    counts = np.bincount([sampler.decode(model, PROMPT, 1)[0] for sampler.seed in range(4000)], minlength=4)
    expected = np.exp(log_probs) * 4000
    assert np.all(np.abs(counts - expected) < 4 * np.sqrt(expected) + 1)


def test_eos_stops_and_min_new_tokens_delays_it(make_model):
    model = make_model(vocab_size=4, seed=2)
    from seqdl.decoding import log_softmax

    model.table = log_softmax(model.table + 5.0 * (np.arange(4) == 3))  # EOS (3) almost certain
    assert greedy(eos_token_id=3).decode(model, PROMPT, 10) == [3]
    out = greedy(eos_token_id=3, min_new_tokens=4).decode(model, PROMPT, 10)
    assert len(out) == 5 and out[-1] == 3 and 3 not in out[:-1]


def test_no_repeat_ngram(make_model):
    model = make_model(vocab_size=5, seed=1)
    out = Sampler(seed=0, no_repeat_ngram_size=2).decode(model, PROMPT, 15)
    sequence = PROMPT + out
    bigrams = [tuple(sequence[i:i + 2]) for i in range(len(sequence) - 1)]
    assert len(bigrams) == len(set(bigrams))


def test_generation_stops_when_constraints_forbid_everything(make_model):
    model = make_model(vocab_size=2)
    out = greedy(no_repeat_ngram_size=1).decode(model, [], 10)
    assert sorted(out) == [0, 1]  # each token once, then nothing is allowed
