"""The language model: vocabulary, TBPTT batching, learning, the decoding protocol, files."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl.decoding import StepModel
from seqdl.errors import InputError, ModelFileError, TrainingError
from seqdl.io import save_npz
from seqdl.lm import LanguageModel, TokenVocabulary, TrainConfig, Trainer, evaluate, split_tokens, train
from seqdl.lm.training import split_streams, stream_batches
from seqdl.nn import gradcheck


def _repetitive_text(n_lines: int = 60) -> str:
    rng = np.random.default_rng(0)
    phrases = ["the cat sat on the mat.", "a dog ran in the fog.", "we sing a song."]
    return "\n".join(phrases[i] for i in rng.integers(0, len(phrases), n_lines)) + "\n"


def _tiny_model(text: str, level: str = "char", seed: int = 0, dtype=np.float32):
    vocab = TokenVocabulary.from_tokens(split_tokens(text, level), level)
    return LanguageModel(vocab, embedding_dim=8, hidden_size=24, num_layers=1, dtype=dtype, seed=seed)


def test_word_tokens_keep_newlines_and_round_trip():
    text = "to be  or\nnot to be\n"
    tokens = split_tokens(text, "word")
    assert tokens == ["to", "be", "or", "\n", "not", "to", "be", "\n"]
    vocab = TokenVocabulary.from_tokens(tokens, "word")
    assert vocab.decode(vocab.ids(tokens)) == "to be or\nnot to be\n"


def test_word_vocabulary_caps_at_max_words_with_unknown():
    tokens = split_tokens("a a a b b c d", "word")
    vocab = TokenVocabulary.from_tokens(tokens, "word", max_words=2)
    assert vocab.tokens == ["a", "b", "<unk>"]
    assert vocab.decode(vocab.ids(tokens)) == "a a a b b <unk> <unk>"


def test_prompt_with_unseen_characters_is_refused_naming_them():
    vocab = TokenVocabulary.from_tokens(list("abc"), "char")
    assert vocab.encode_prompt("cab") == [2, 0, 1]
    with pytest.raises(InputError, match="'x', 'z'"):
        vocab.encode_prompt("axbz")


def test_streams_are_contiguous_and_targets_shifted():
    ids = np.arange(23)
    streams = split_streams(ids, 2)
    assert streams.tolist() == [list(range(11)), list(range(11, 22))]
    windows = list(stream_batches(streams, 4))
    assert [x.shape[1] for x, _ in windows] == [4, 4, 2]
    # consecutive windows continue each stream, so carried state lines up with the text
    np.testing.assert_array_equal(np.concatenate([x for x, _ in windows], axis=1), streams[:, :-1])
    np.testing.assert_array_equal(np.concatenate([y for _, y in windows], axis=1), streams[:, 1:])


@pytest.mark.parametrize("n_tokens", [12, 40])
def test_model_gradients_match_finite_differences(n_tokens):
    """Both input paths: per-token projection (fewer tokens than the vocabulary) and the fused table."""
    text = _repetitive_text(3)
    vocab = TokenVocabulary.from_tokens(split_tokens(text, "char"), "char")
    model = LanguageModel(vocab, embedding_dim=5, hidden_size=6, num_layers=2, dtype=np.float64, seed=0)
    ids = vocab.ids(split_tokens(text, "char"))[:n_tokens].reshape(2, -1)
    assert (ids.size >= model.vocab_size) == (n_tokens == 40)
    assert gradcheck(model, ids, max_checks=25) < 1e-6


class RecordingProgress:
    """A progress reporter that keeps what it was told."""

    def __init__(self):
        self.updates, self.lines = [], []

    def update(self, done, total=None, **fields):
        self.updates.append((done, fields))

    def write(self, line):
        self.lines.append(line)

    def close(self):
        pass


def test_tiny_model_learns_a_repetitive_text():
    text = _repetitive_text()
    model = _tiny_model(text)
    ids = model.vocab.ids(split_tokens(text, "char"))
    config = TrainConfig(seq_len=16, batch_size=4, lr=1e-2, epochs=8)
    progress = RecordingProgress()
    history = train(model, ids[:-200], ids[-200:], config, progress=progress)
    chance = np.log(model.vocab_size)
    assert history.train_loss[-1] < 0.5 * chance
    assert history.val_loss[-1] < 0.5 * chance
    assert history.val_loss[-1] == pytest.approx(evaluate(model, ids[-200:], 16, 4))
    assert progress.updates[-1][0] == history.steps and "loss" in progress.updates[-1][1]
    assert any("val loss" in line for line in progress.lines)
    # it has learnt the text: after "the cat sat on the " greedy decoding says "mat"
    prompt = model.vocab.encode_prompt("the cat sat on the ")
    log_probs, state = model.start(prompt)
    out = []
    for _ in range(3):
        token = int(np.argmax(log_probs))
        out.append(token)
        log_probs, state = model.step(state, token)
    assert model.vocab.decode(out) == "mat"


def test_step_model_protocol_and_states_are_not_mutated():
    text = _repetitive_text(5)
    model = _tiny_model(text, seed=3)
    assert isinstance(model, StepModel)
    prompt = model.vocab.encode_prompt("the dog")
    log_probs, state = model.start(prompt)
    assert log_probs.shape == (model.vocab_size,)
    assert np.exp(log_probs).sum() == pytest.approx(1.0)
    saved = [tuple(a.copy() for a in pair) for pair in state]
    a, state_a = model.step(state, 0)
    b, _ = model.step(state, 0)
    for pair, kept in zip(state, saved):
        for array, copy in zip(pair, kept):
            np.testing.assert_array_equal(array, copy)
    np.testing.assert_array_equal(a, b)
    # stepping token by token gives what reading the whole prompt gives
    whole, _ = model.start(prompt + [0])
    np.testing.assert_allclose(a, whole, rtol=1e-5, atol=1e-6)


def test_nan_loss_is_a_training_error():
    text = _repetitive_text(5)
    model = _tiny_model(text)
    model.output.params["bias"][0] = np.nan
    ids = model.vocab.ids(split_tokens(text, "char"))
    with pytest.raises(TrainingError, match="step 1"):
        Trainer(model, TrainConfig(seq_len=8, batch_size=2)).step(*next(stream_batches(split_streams(ids, 2), 8)))


def test_save_and_load_round_trip(tmp_path):
    text = _repetitive_text(5)
    model = _tiny_model(text, level="word", seed=4)
    path = tmp_path / "lm.npz"
    model.save(path, {"epochs": 2})
    loaded = LanguageModel.load(path)
    assert loaded.meta["epochs"] == 2 and loaded.vocab.tokens == model.vocab.tokens and loaded.vocab.level == "word"
    prompt = model.vocab.encode_prompt("the cat")
    np.testing.assert_array_equal(loaded.start(prompt)[0], model.start(prompt)[0])


def test_loading_something_else_is_a_model_file_error(tmp_path):
    other = tmp_path / "other.npz"
    save_npz(other, {"x": np.zeros(2)}, {"format": "something"})
    with pytest.raises(ModelFileError, match="not a seqdl language model"):
        LanguageModel.load(other)
    broken = tmp_path / "broken.npz"
    model = _tiny_model(_repetitive_text(2))
    model.save(broken)
    from seqdl.io import load_npz
    arrays, meta = load_npz(broken)
    arrays["rnn.weight_hh_l0"] = arrays["rnn.weight_hh_l0"][:3]
    save_npz(broken, arrays, meta)
    with pytest.raises(ModelFileError, match="rnn.weight_hh_l0"):
        LanguageModel.load(broken)


def test_worker_threads_train_the_same_model():
    """workers=2 splits the batch rows over threads (BLAS single-threaded meanwhile): same losses."""
    text = _repetitive_text(20)
    histories = []
    for workers in (1, 2):
        model = _tiny_model(text, seed=5)
        ids = model.vocab.ids(split_tokens(text, "char"))
        config = TrainConfig(seq_len=8, batch_size=8, lr=1e-2, steps=5, workers=workers)
        histories.append(train(model, ids[:-60], ids[-60:], config))
        assert model.workers == workers
    np.testing.assert_allclose(histories[1].train_loss, histories[0].train_loss, rtol=1e-5)
    np.testing.assert_allclose(histories[1].val_loss, histories[0].val_loss, rtol=1e-5)


@pytest.mark.skipif("LanguageModel(TokenVocabulary.from_tokens(list('ab'), 'char'), 8, 128, workers=2).rnn.unit_parts() < 2",
                    reason="one numba thread")
def test_unit_threads_train_the_same_model_and_leave_large_vocabularies_to_blas():
    """A character model's LSTM at workers=2 runs on unit threads with the same losses as one thread; a
    vocabulary larger than ~0.8 H L keeps BLAS threads, since its output products would run on one."""
    text = _repetitive_text(20)
    histories = []
    for workers in (1, 2):
        model = LanguageModel(TokenVocabulary.from_tokens(split_tokens(text, "char"), "char"), 8, 128, seed=5,
                              workers=workers)
        assert model.rnn.uses_unit_threads() == (workers == 2)
        ids = model.vocab.ids(split_tokens(text, "char"))
        config = TrainConfig(seq_len=8, batch_size=8, lr=1e-2, steps=5, workers=workers)
        histories.append(train(model, ids[:-60], ids[-60:], config))
    np.testing.assert_allclose(histories[1].train_loss, histories[0].train_loss, rtol=1e-5)
    np.testing.assert_allclose(histories[1].val_loss, histories[0].val_loss, rtol=1e-5)
    words = TokenVocabulary.from_tokens([f"w{i}" for i in range(200)], "word")
    large = LanguageModel(words, 8, 128, workers=2)
    assert large.rnn.uses_blas_threads() and not large.rnn.uses_unit_threads()


@pytest.mark.parametrize("change", [{"tokens": list(range(20))}, {"level": "byte"}, {"embedding_dim": "wide"}])
def test_corrupt_header_is_a_model_file_error(tmp_path, change):
    from seqdl.io import load_npz

    path = tmp_path / "lm.npz"
    _tiny_model(_repetitive_text(2)).save(path)
    arrays, meta = load_npz(path)
    save_npz(path, arrays, {**meta, **change})
    with pytest.raises(ModelFileError, match="corrupt language model header"):
        LanguageModel.load(path)


@pytest.mark.parametrize("workers", [1, 2])
def test_divergence_is_one_training_error_without_numpy_warnings(workers):
    """The finiteness checks report divergence; numpy's overflow warnings (also in worker threads) stay quiet."""
    import warnings

    text = _repetitive_text(20)
    model = _tiny_model(text, seed=6)
    ids = model.vocab.ids(split_tokens(text, "char"))
    config = TrainConfig(seq_len=64, batch_size=8, lr=1e9, steps=20, workers=workers)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(TrainingError, match="became (nan|inf)"):
            train(model, ids, None, config)
