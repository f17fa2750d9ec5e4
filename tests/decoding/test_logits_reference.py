"""Each logits rule against Hugging Face's own processor on random scores (float64 torch tensors)."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl import logits
from seqdl.errors import ParameterError
from seqdl.logits import LogitsRules

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

B, V = 6, 40


def _scores(seed: int, scale: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=scale, size=(B, V))


def _ids(seed: int, length: int = 12) -> np.ndarray:
    """Sequences over a small part of the vocabulary, so n-grams repeat."""
    return np.random.default_rng(seed + 100).integers(0, 6, size=(B, length))


def _hf(processor, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return processor(torch.tensor(ids), torch.tensor(scores.copy())).numpy()


def _same(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Equal, -inf in the same places (a different mask would fail here, not only a different value)."""
    np.testing.assert_array_equal(np.isneginf(ours), np.isneginf(theirs))
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=1e-12, atol=1e-12)


SEEDS = range(3)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("penalty", [1.3, 0.7])
def test_repetition_penalty(seed, penalty):
    scores, ids = _scores(seed), _ids(seed)
    theirs = _hf(transformers.RepetitionPenaltyLogitsProcessor(penalty), ids, scores)
    _same(logits.repetition_penalty(scores, ids, penalty), theirs)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_no_repeat_ngram(seed, n):
    scores, ids = _scores(seed), _ids(seed)
    theirs = _hf(transformers.NoRepeatNGramLogitsProcessor(n), ids, scores)
    assert np.isneginf(theirs).any()  # the case is not vacuous
    _same(logits.no_repeat_ngram(scores, ids, n), theirs)


@pytest.mark.parametrize("length", [3, 5, 6])
def test_min_length(length):
    """seqdl counts new tokens; HF's MinLengthLogitsProcessor counts prompt plus new (prompt of 2 here)."""
    scores, ids = _scores(0), _ids(0, length)
    theirs = _hf(transformers.MinLengthLogitsProcessor(2 + 4, eos_token_id=[3, 7]), ids, scores)
    _same(logits.min_new_tokens(scores, length - 2, 4, {3, 7}), theirs)


WARPERS = [("top_k", "TopKLogitsWarper", value) for value in (1, 5, 39, 40, 100)] \
    + [("top_p", "TopPLogitsWarper", value) for value in (0.01, 0.3, 0.8, 0.95, 0.999)] \
    + [("min_p", "MinPLogitsWarper", value) for value in (0.0, 0.05, 0.3, 0.9, 1.0)] \
    + [("typical_p", "TypicalLogitsWarper", value) for value in (0.05, 0.4, 0.9, 0.99)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rule,reference,value", WARPERS)
def test_warpers(seed, rule, reference, value):
    scores = _scores(seed)
    theirs = _hf(getattr(transformers, reference)(value), _ids(seed), scores)
    _same(getattr(logits, rule)(scores, value), theirs)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_whole_pipeline_in_hf_order(seed):
    """LogitsRules equals HF's processor list, built in the order generate() builds it."""
    scores, ids = _scores(seed), _ids(seed)
    options = dict(repetition_penalty=1.2, no_repeat_ngram_size=2, eos_token_id=[3], min_new_tokens=20,
                   temperature=0.7, top_k=25, top_p=0.9, min_p=0.02, typical_p=0.95)
    hf = transformers.LogitsProcessorList([
        transformers.RepetitionPenaltyLogitsProcessor(1.2),
        transformers.NoRepeatNGramLogitsProcessor(2),
        transformers.MinLengthLogitsProcessor(ids.shape[1] + 1, eos_token_id=[3]),
        transformers.TemperatureLogitsWarper(0.7),
        transformers.TopKLogitsWarper(25),
        transformers.TopPLogitsWarper(0.9),
        transformers.MinPLogitsWarper(0.02),
        transformers.TypicalLogitsWarper(0.95),
    ])
    rules = LogitsRules(**options)
    ours = rules.warp(rules.process(scores, ids, n_new=ids.shape[1] - 2))
    _same(ours, _hf(hf, ids, scores))


@pytest.mark.parametrize("option,value", [
    ("temperature", -1.0), ("temperature", float("nan")), ("top_k", -1), ("top_k", 2.5), ("top_p", 0.0),
    ("top_p", 1.5), ("min_p", -0.1), ("typical_p", 0.0), ("repetition_penalty", 0.0),
    ("repetition_penalty", float("inf")), ("no_repeat_ngram_size", -2), ("min_new_tokens", "3"),
    ("eos_token_id", -1), ("eos_token_id", ["a"]),
])
def test_bad_values_name_the_option(option, value):
    with pytest.raises(ParameterError) as caught:
        LogitsRules(**{option: value})
    assert caught.value.param == option
