"""The sampled softmax: exact gradients, the full softmax when the noise is the whole vocabulary, resumable training."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl.lm import LanguageModel
from seqdl.lm.checkpoint import Checkpoint
from seqdl.lm.pipeline import fit_corpus
from seqdl.lm.sampled import SampledSoftmax
from seqdl.lm.training import TrainConfig
from seqdl.nn.losses import cross_entropy

from .test_resume import SMALL, StopAt, _corpus, _weights


def _problem(rng, m=6, h=4, v=9):
    return (rng.normal(size=(m, h)), rng.normal(size=(v, h)), rng.normal(size=v), rng.integers(0, v, size=m))


def _loss(sampled, hidden, weight, bias, targets, negatives):
    wg, bg = np.zeros_like(weight), np.zeros_like(bias)
    loss, gh = sampled.loss(hidden, targets, negatives, weight, bias, wg, bg)
    return loss, gh, wg, bg


def test_gradients_match_centred_differences():
    rng = np.random.default_rng(0)
    hidden, weight, bias, targets = _problem(rng)
    sampled = SampledSoftmax(rng.integers(0, 50, size=9), negative=5)
    negatives = np.array([targets[0], 3, 3, 7, 1])  # an accidental hit and a repeated noise word
    _, gh, wg, bg = _loss(sampled, hidden, weight, bias, targets, negatives)
    eps = 1e-6
    for array, grad in ((hidden, gh), (weight, wg), (bias, bg)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            up = _loss(sampled, hidden, weight, bias, targets, negatives)[0]
            array[index] = saved - eps
            down = _loss(sampled, hidden, weight, bias, targets, negatives)[0]
            array[index] = saved
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_with_the_whole_vocabulary_as_noise_and_no_correction_it_is_the_full_softmax():
    rng = np.random.default_rng(1)
    hidden, weight, bias, targets = _problem(rng)
    sampled = SampledSoftmax(np.ones(9), negative=9)
    sampled.log_expected = np.zeros(9)
    loss, gh, wg, bg = _loss(sampled, hidden, weight, bias, targets, np.arange(9))
    logits = hidden @ weight.T + bias
    full, grad = cross_entropy(logits, targets)
    assert loss == pytest.approx(full, rel=1e-12)
    np.testing.assert_allclose(gh, grad @ weight, rtol=1e-10)
    np.testing.assert_allclose(wg, grad.T @ hidden, rtol=1e-10)
    np.testing.assert_allclose(bg, grad.sum(axis=0), rtol=1e-10)


def test_noise_follows_the_smoothed_unigram_distribution():
    counts = np.array([0, 10, 100, 1000])
    sampled = SampledSoftmax(counts, negative=200_000)
    drawn = np.bincount(sampled.draw(7), minlength=4) / 200_000
    expected = (counts + 1.0) ** 0.75 / ((counts + 1.0) ** 0.75).sum()
    np.testing.assert_allclose(drawn, expected, atol=0.005)
    assert np.array_equal(sampled.draw(7), sampled.draw(7)) and not np.array_equal(sampled.draw(7), sampled.draw(8))


def _config(steps):
    return TrainConfig(seq_len=8, batch_size=4, lr=5e-3, steps=steps, workers=1, loss="sampled-softmax", negative=3)


def test_sampled_training_learns_and_resumes_bit_identically(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    options = {**SMALL, "cell": "lstm"}
    full, history = fit_corpus(corpus, tmp_path / "full.npz", level="word", model_options=options,
                               config=_config(30), seed=3)
    assert history.val_loss[-1] < history.val_loss[0] < np.log(full.vocab_size) + 0.5  # full-softmax validation
    ckpt = tmp_path / "run.ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        fit_corpus(corpus, tmp_path / "part.npz", level="word", model_options=options, config=_config(30), seed=3,
                   checkpoint=ckpt, progress=StopAt(11))
    resumed, _ = fit_corpus(corpus, tmp_path / "part.npz", config=_config(30), resume=Checkpoint(ckpt))
    assert all(np.array_equal(a, b) for a, b in zip(_weights(full), _weights(resumed), strict=True))
    plain, _ = fit_corpus(corpus, tmp_path / "plain.npz", level="word", model_options=options,
                          config=TrainConfig(seq_len=8, batch_size=4, lr=5e-3, steps=30, workers=1), seed=3)
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(full), _weights(plain), strict=True))


def _cli(tmp_path, *args):
    from click.testing import CliRunner

    from seqdl.cli import make_cli

    corpus = _corpus(tmp_path / "corpus.txt")
    return CliRunner().invoke(make_cli(), ["train", str(corpus), "-o", str(tmp_path / "m.npz"), "--embedding", "8",
                                           "--hidden", "16", "--seq-len", "8", "--batch-size", "4", "--workers", "1",
                                           "--seed", "1", "-q", *args])


def test_cli_sampled_softmax_and_its_usage_errors(tmp_path, assert_one_line_error):
    result = _cli(tmp_path, "--level", "word", "--steps", "6", "--loss", "sampled-softmax", "--negative", "3", "--json")
    assert result.exit_code == 0, result.output
    assert Checkpoint(tmp_path / "m.ckpt.npz").options["negative"] == 3
    assert_one_line_error(_cli(tmp_path, "--loss", "sampled-softmax", "--negative", "3"), "--level word")
    assert_one_line_error(_cli(tmp_path, "--level", "word", "--loss", "sampled-softmax"), "--negative")
    assert_one_line_error(_cli(tmp_path, "--level", "word", "--negative", "3"), "--negative", "sampled-softmax")
    resumed = _cli(tmp_path, "--resume", str(tmp_path / "m.ckpt.npz"), "--steps", "8", "--loss", "full")
    assert_one_line_error(resumed, "--loss full", "does not match")
    resumed = _cli(tmp_path, "--resume", str(tmp_path / "m.ckpt.npz"), "--steps", "8")
    assert resumed.exit_code == 0, resumed.output
