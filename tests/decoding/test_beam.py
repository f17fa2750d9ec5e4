"""Beam search against exhaustive search and greedy decoding on tiny models."""

from __future__ import annotations

import numpy as np
import pytest
from seqdl_beam import BeamSearch
from seqdl_sampling import greedy

PROMPT = [1, 2]
SEEDS = range(6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("eos", [None, 4])
def test_beam_width_one_equals_greedy(make_model, seed, eos):
    """Without EOS every hypothesis has the same length; with EOS, as in HF, only when length is not rewarded."""
    model = make_model(vocab_size=5, seed=seed)
    beam = BeamSearch(beam_width=1, eos_token_id=eos, length_penalty=0.0).decode(model, PROMPT, 8)
    assert beam == greedy(eos_token_id=eos).decode(model, PROMPT, 8)


def test_greedy_is_not_optimal_on_these_models(make_model, exhaustive_search):
    """Guard: the comparisons below would prove little if greedy already found the optimum."""
    misses = 0
    for seed in SEEDS:
        model = make_model(seed=seed)
        best = exhaustive_search(model, PROMPT, 5, length_penalty=0.0)[0][1]
        misses += tuple(greedy().decode(model, PROMPT, 5)) != best
    assert misses >= 2


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("length_penalty", [0.0, 1.0, -0.5, 2.0])
def test_wide_beam_equals_exhaustive_search_with_eos(make_model, exhaustive_search, seed, length_penalty):
    model = make_model(vocab_size=4, seed=seed)
    expected = exhaustive_search(model, PROMPT, 5, length_penalty=length_penalty, eos=3)
    found = BeamSearch(beam_width=4 ** 4, length_penalty=length_penalty, num_return_sequences=3,
                       eos_token_id=3).search(model, PROMPT, 5)
    assert [h.tokens for h in found] == [tokens for _, tokens in expected[:3]]
    assert [h.score for h in found] == pytest.approx([score for score, _ in expected[:3]])
    for h in found:
        assert h.log_prob == pytest.approx(model.sequence_log_prob(PROMPT, h.tokens))


@pytest.mark.parametrize("seed", SEEDS)
def test_wide_beam_with_min_length_and_no_repeat(make_model, exhaustive_search, seed):
    model = make_model(vocab_size=4, seed=seed)
    options = dict(length_penalty=1.0, eos=0, min_new_tokens=2, no_repeat=2)
    expected = exhaustive_search(model, PROMPT, 5, **options)
    found = BeamSearch(beam_width=256, eos_token_id=0, min_new_tokens=2, no_repeat_ngram_size=2,
                       num_return_sequences=2).search(model, PROMPT, 5)
    assert [h.tokens for h in found] == [tokens for _, tokens in expected[:2]]


@pytest.mark.parametrize("length_penalty", [2.0, 3.0])
def test_long_answers_are_not_cut_off_by_early_stopping(make_model, exhaustive_search, length_penalty):
    """A strong length penalty rewards long sequences even when EOS is likely early."""
    from seqdl.decoding import log_softmax

    for seed in range(10):
        model = make_model(vocab_size=3, seed=seed)
        model.table = log_softmax(model.table + 2.0 * (np.arange(3) == 2))  # EOS (2) likely
        expected = exhaustive_search(model, [1], 7, length_penalty=length_penalty, eos=2)[0][1]
        found = BeamSearch(beam_width=3 ** 6, length_penalty=length_penalty, eos_token_id=2).decode(model, [1], 7)
        assert tuple(found) == expected


def test_moderate_beam_beats_or_ties_greedy(make_model):
    for seed in SEEDS:
        model = make_model(vocab_size=6, seed=seed)
        beam = BeamSearch(beam_width=5, length_penalty=0.0).decode(model, PROMPT, 10)
        assert model.sequence_log_prob(PROMPT, beam) >= model.sequence_log_prob(
            PROMPT, greedy().decode(model, PROMPT, 10)) - 1e-12


def test_early_stop_saves_work_without_changing_the_answer(make_model, exhaustive_search):
    """With a very likely EOS, finished hypotheses bound the search long before max length."""
    model = make_model(vocab_size=4, seed=3)
    from seqdl.decoding import log_softmax

    model.table = log_softmax(model.table + 4.0 * (np.arange(4) == 3))  # EOS (3) likely everywhere
    found = BeamSearch(beam_width=64, length_penalty=0.0, eos_token_id=3).search(model, PROMPT, 12)
    calls = model.calls
    assert found[0].tokens == exhaustive_search(model, PROMPT, 4, length_penalty=0.0, eos=3)[0][1]
    assert calls < 64  # a full search would step 64 beams at each of 12 positions


def test_options_are_validated():
    with pytest.raises(ValueError):
        BeamSearch(beam_width=0)
    with pytest.raises(ValueError):
        BeamSearch(beam_width=2, num_return_sequences=3)


def test_eos_outside_the_top_candidates_does_not_finish(make_model):
    """As in HF: an EOS ranked below beam_width is not kept, even if it would score best."""
    model = make_model(vocab_size=3)
    model.table[:] = np.log(1 / 3)  # a uniform continuation after the first token...
    model.table[0, 1] = np.log([0.6, 1e-3, 0.4 - 1e-3])  # ...whose EOS (2) ranks second
    found = BeamSearch(beam_width=1, length_penalty=0.0, eos_token_id=2).decode(model, [1], 4)
    assert found[0] == 0 and len(found) >= 2
    wider = BeamSearch(beam_width=2, length_penalty=0.0, eos_token_id=2).decode(model, [1], 4)
    assert wider == [2]


def _processed_oracle(model, prompt, max_new_tokens, length_penalty, rules):
    """Exhaustive search scoring each sequence as HF beam search does: the sum of processed log-probabilities."""
    import itertools

    results = []
    for length in range(1, max_new_tokens + 1):
        for tokens in itertools.product(range(model.vocab_size), repeat=length):
            ends = [i for i, t in enumerate(tokens) if rules.is_eos(t)]
            if (ends and ends[0] != length - 1) or (length < max_new_tokens and not ends):
                continue
            log_probs, state = model.start(prompt)
            total = 0.0
            for i, token in enumerate(tokens):
                total += rules.process(log_probs, [*prompt, *tokens[:i]], i)[token]
                log_probs, state = model.step(state, token)
            if np.isfinite(total):
                results.append((total / length ** length_penalty, tokens))
    return sorted(results, key=lambda r: -r[0])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 2.0])
def test_wide_beam_equals_exhaustive_search_with_every_processor(make_model, seed, length_penalty):
    """Repetition penalty, no-repeat-n-gram, minimum length and EOS together, against the oracle."""
    from seqdl.logits import LogitsRules

    model = make_model(vocab_size=4, seed=seed)
    options = dict(eos_token_id=0, min_new_tokens=2, no_repeat_ngram_size=2, repetition_penalty=1.5)
    expected = _processed_oracle(model, PROMPT, 5, length_penalty, LogitsRules(**options))
    found = BeamSearch(beam_width=256, length_penalty=length_penalty, num_return_sequences=3,
                       **options).search(model, PROMPT, 5)
    assert [h.tokens for h in found] == [tokens for _, tokens in expected[:3]]
    assert [h.score for h in found] == pytest.approx([score for score, _ in expected[:3]])
    for h in found:  # log_prob stays the model's own, not the penalised sum
        assert h.log_prob == pytest.approx(model.sequence_log_prob(PROMPT, h.tokens))


def test_a_beam_too_wide_for_memory_is_refused_before_searching(make_model):
    from seqdl.errors import ResourceError

    model = make_model()
    with pytest.raises(ResourceError, match="live beams .* would need"):
        BeamSearch(beam_width=10**9).search(model, [0], 50)
    assert BeamSearch(beam_width=10**9).search(model, [0], 2)  # two steps hold at most vocab beams: fine
