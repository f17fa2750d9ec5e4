"""seqdl.generate, batched stepping, sampling statistics, streaming and decoder-output checks."""

from __future__ import annotations

import numpy as np
import pytest
import seqdl_beam
import seqdl_sampling
from seqdl_beam import BeamSearch
from seqdl_sampling import Sampler

import seqdl
from seqdl.decoding import step_rows
from seqdl.errors import ParameterError, SeqdlError
from seqdl.lm.model import LanguageModel
from seqdl.lm import TokenVocabulary
from seqdl.logits import LogitsRules
from seqdl.plugins import PluginHost

PROMPT = [1, 2]


@pytest.fixture
def batched_model(make_model):
    """The toy model with a step_batch that counts its calls (and gives exactly what step gives)."""

    class Batched(make_model):
        batch_calls = 0

        def step_batch(self, states, tokens):
            self.batch_calls += 1
            rows = [self.step(s, int(t)) for s, t in zip(states, tokens)]
            return np.stack([r[0] for r in rows]), [r[1] for r in rows]

    return Batched


def _host(*extra) -> PluginHost:
    host = PluginHost()
    host.register(seqdl_sampling, "sampling")
    host.register(seqdl_beam, "beam")
    for plugin, name in extra:
        host.register(plugin, name)
    return host


def test_step_rows_uses_step_batch_when_the_model_has_it(make_model, batched_model):
    plain, batched = make_model(vocab_size=5, seed=1), batched_model(vocab_size=5, seed=1)
    _, state = plain.start(PROMPT)
    a = step_rows(plain, [state, state], [0, 3])
    b = step_rows(batched, [state, state], [0, 3])
    assert batched.batch_calls == 1
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


@pytest.mark.parametrize("seed", range(3))
def test_batched_beam_and_samples_equal_the_unbatched_path(make_model, batched_model, seed):
    plain, batched = make_model(vocab_size=6, seed=seed), batched_model(vocab_size=6, seed=seed)
    beam = BeamSearch(beam_width=4, num_return_sequences=3, eos_token_id=5, no_repeat_ngram_size=3)
    assert beam.search(plain, PROMPT, 12) == beam.search(batched, PROMPT, 12)
    assert batched.batch_calls > 0
    sampler = Sampler(num_return_sequences=5, seed=seed, top_p=0.9, eos_token_id=5)
    assert sampler.generate(plain, PROMPT, 20) == sampler.generate(batched, PROMPT, 20)


def test_language_model_step_batch_matches_step():
    model = LanguageModel(TokenVocabulary(list("abcdefgh \n."), "char"), embedding_dim=4, hidden_size=8,
                          num_layers=2, seed=0)
    _, state = model.start([1, 2, 3])
    rows = [model.step(state, t) for t in (0, 4, 5)]
    log_probs, states = model.step_batch([state, state, state], [0, 4, 5])
    assert log_probs.shape == (3, model.vocab_size) and log_probs.dtype == np.float64
    np.testing.assert_allclose(log_probs, np.stack([r[0] for r in rows]), atol=1e-6)
    for (_, expected), got in zip(rows, states):
        for a, b in zip(expected, got):  # (h, c)
            np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("options", [{}, {"temperature": 0.7, "top_k": 6}, {"top_p": 0.8, "min_p": 0.05},
                                     {"typical_p": 0.9, "repetition_penalty": 1.5}])
def test_sampled_frequencies_match_the_filtered_distribution(make_model, options):
    from scipy.stats import chisquare

    model = make_model(vocab_size=8, seed=4, sharpness=1.0)
    n = 6000
    first = Sampler(num_return_sequences=n, seed=0, **options).generate(model, PROMPT, 1)
    counts = np.bincount([g.token_ids[0] for g in first], minlength=8)
    log_probs, _ = model.start(PROMPT)
    expected = np.exp(LogitsRules(**options).distribution(log_probs, PROMPT, 0)) * n
    assert np.all(counts[expected == 0] == 0)  # nothing filtered out is ever drawn
    kept = expected > 0
    assert kept.sum() >= 2
    assert chisquare(counts[kept], expected[kept]).pvalue > 1e-3


def test_n_samples_are_reproducible_and_each_independent_of_n(make_model):
    model = make_model(vocab_size=6)
    five = Sampler(num_return_sequences=5, seed=7).generate(model, PROMPT, 25)
    assert five == Sampler(num_return_sequences=5, seed=7).generate(model, PROMPT, 25)
    assert len({g.token_ids for g in five}) == 5
    assert Sampler(num_return_sequences=2, seed=7).generate(model, PROMPT, 25) == five[:2]


def test_streamed_tokens_equal_the_returned_sequences(make_model):
    model = make_model(vocab_size=6)
    seen: dict[int, list[int]] = {}
    streamed = Sampler(num_return_sequences=3, seed=2).generate(
        model, PROMPT, 15, on_token=lambda i, t: seen.setdefault(i, []).append(t))
    assert streamed == Sampler(num_return_sequences=3, seed=2).generate(model, PROMPT, 15)
    assert [tuple(seen[i]) for i in range(3)] == [g.token_ids for g in streamed]


def test_generation_reports_log_prob_and_score(make_model):
    model = make_model(vocab_size=5, seed=3)
    host = _host()
    [sample] = seqdl.generate(model, PROMPT, max_new_tokens=8, seed=1, host=host)
    assert sample.text is None and len(sample.token_ids) == 8  # a StepModel without a vocabulary
    assert sample.log_prob == pytest.approx(model.sequence_log_prob(PROMPT, sample.token_ids))
    assert sample.score == pytest.approx(sample.log_prob)  # no rule changed the distribution
    beams = seqdl.generate(model, PROMPT, decoder="beam", max_new_tokens=6, num_return_sequences=2, host=host)
    assert beams[0].score >= beams[1].score
    assert beams[0].score == pytest.approx(beams[0].log_prob / 6)


def test_text_and_stop_strings_with_a_vocabulary():
    vocab = TokenVocabulary(list("ab \n"), "char")
    model = LanguageModel(vocab, embedding_dim=3, hidden_size=4, seed=0)
    model.output.params["bias"][:] = [0, 0, 2, -9]  # " " likely, "\n" never
    host = _host()
    [plain] = seqdl.generate(model, "ab", max_new_tokens=30, seed=0, host=host)
    assert plain.text == vocab.decode(list(plain.token_ids)) and len(plain.text) == 30
    assert plain.text.index("a" if "a" in plain.text else "b") >= 2  # guard: stopping will cut it short
    [stopped] = seqdl.generate(model, "ab", max_new_tokens=30, seed=0, stop_strings=["a", "b"], host=host)
    assert plain.text.startswith(stopped.text) and stopped.text[-1] in "ab" and not set(stopped.text[:-1]) & {"a", "b"}


class _BadDecoder:
    def decode(self, model, prompt, max_new_tokens):
        return [0, model.vocab_size + 3]


class _BadPlugin:
    @seqdl.hookimpl
    def register_decoders(self, register):
        register("bad", _BadDecoder)


def test_decoder_output_outside_the_vocabulary_names_the_decoder(make_model):
    with pytest.raises(SeqdlError, match=r"decoder 'bad' returned token id 8, outside the model's vocabulary \[0, 5\)"):
        seqdl.generate(make_model(vocab_size=5), PROMPT, decoder="bad", host=_host((_BadPlugin(), "badplugin")))


def test_a_disabled_builtin_decoder_names_its_plugin(make_model):
    host = PluginHost()
    host.register(seqdl_beam, "beam")
    with pytest.raises(SeqdlError, match="built-in plugin 'sampling'"):
        seqdl.generate(make_model(), PROMPT, host=host)


def test_min_length_above_max_new_tokens_is_refused(make_model):
    with pytest.raises(ParameterError) as caught:
        seqdl.generate(make_model(), PROMPT, max_new_tokens=3, min_new_tokens=4, eos_token_id=0, host=_host())
    assert caught.value.param == "min_new_tokens"
