"""LanguageModel: cells, dropout, tied weights, RNG state, cache-free decoding steps and model files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqdl.errors import ModelFileError, ParameterError, ResourceError
from seqdl.io import load_npz, save_npz
from seqdl.lm import LanguageModel, TokenVocabulary
from seqdl.nn import gradcheck
from seqdl.nn.optim import Adam

VOCAB = TokenVocabulary(list("abcdefg"), "char")


def _model(cell="lstm", **kw):
    kw = {"embedding_dim": 5, "hidden_size": 6, "num_layers": 2, "dtype": np.float64, "seed": 0, **kw}
    return LanguageModel(VOCAB, cell=cell, **kw)


def _ids(n, t, seed=0):
    return np.random.default_rng(seed).integers(0, len(VOCAB), (n, t))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("tokens", [(1, 4), (2, 5)])  # fewer tokens than the vocabulary, and the fused table
def test_gradients_match_finite_differences(cell, tokens):
    model = _model(cell, hidden_size=5, tie_weights=True)
    assert gradcheck(model, _ids(*tokens), max_checks=20) < 1e-6


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gradients_with_dropout_everywhere(cell):
    model = _model(cell, dropout=0.3, num_layers=3)
    assert gradcheck(model, _ids(2, 5), training=True, max_checks=20) < 1e-6


@pytest.mark.parametrize("cell,tied", [("lstm", False), ("gru", True), ("rnn", False)])
def test_matches_torch_word_language_model(cell, tied):
    """Same weights in torch's Embedding -> RNN -> Linear (decoder.weight = encoder.weight when tied)."""
    torch = pytest.importorskip("torch")
    model = _model(cell, hidden_size=5 if tied else 6, tie_weights=tied)
    ids = _ids(3, 4, seed=1)
    logits, state = model.forward(ids, training=False)
    grad = np.random.default_rng(2).standard_normal(logits.shape)
    model.backward(grad)

    h = model.hidden_size
    rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        model.embedding_dim, h, 2, batch_first=True).double()
    rnn.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.rnn.params.items()})
    encoder = torch.nn.Embedding(len(VOCAB), model.embedding_dim).double()
    decoder = torch.nn.Linear(h, len(VOCAB)).double()
    with torch.no_grad():
        encoder.weight.copy_(torch.from_numpy(model.embedding.params["weight"]))
        decoder.bias.copy_(torch.from_numpy(model.output.params["bias"]))
        if tied:
            decoder.weight = encoder.weight
        else:
            decoder.weight.copy_(torch.from_numpy(model.output.params["weight"]))
    out, final = rnn(encoder(torch.from_numpy(ids)))
    theirs = decoder(out)
    theirs.backward(torch.from_numpy(grad))
    np.testing.assert_allclose(logits, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    ours_final = state if isinstance(state, tuple) else (state,)
    theirs_final = final if isinstance(final, tuple) else (final,)
    for a, b in zip(ours_final, theirs_final):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.embedding.grads["weight"], encoder.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, value in rnn.named_parameters():
        np.testing.assert_allclose(model.rnn.grads[name], value.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_forward_returns_the_state_and_keeps_none():
    model = _model()
    logits, (h, c) = model.forward(_ids(3, 4))
    assert logits.shape == (3, 4, len(VOCAB)) and h.shape == c.shape == (2, 3, 6)
    assert not hasattr(model, "final_state")
    whole, _ = model.forward(_ids(3, 8))
    first, state = model.forward(_ids(3, 8)[:, :4])
    second, _ = model.forward(_ids(3, 8)[:, 4:], state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)


def test_tied_weights_share_one_matrix_updated_once_and_saved_once(tmp_path):
    with pytest.raises(ParameterError, match="embedding_dim 5 and hidden_size 6"):
        _model(tie_weights=True)
    model = _model(hidden_size=5, tie_weights=True, dtype=np.float32)
    arrays = [id(p) for layer in model.layers for p in layer.params.values()]
    assert len(arrays) == len(set(arrays))
    assert model.output.weight is model.embedding.params["weight"]
    before = model.embedding.params["weight"].copy()
    optimizer = Adam(model.layers, lr=0.1)
    logits, _ = model.forward(_ids(2, 3))
    model.backward(np.ones_like(logits))
    optimizer.step()
    # Adam's first step moves every parameter with a non-zero gradient by lr * sign(grad) (once, not twice)
    moved = np.abs(model.embedding.params["weight"] - before)
    np.testing.assert_allclose(moved[np.abs(model.embedding.grads["weight"]) > 1e-3], 0.1, rtol=1e-3)
    model.save(tmp_path / "tied.npz")
    stored, meta = load_npz(tmp_path / "tied.npz")
    assert "output.weight" not in stored and meta["tie_weights"] is True
    loaded = LanguageModel.load(tmp_path / "tied.npz")
    assert loaded.output.weight is loaded.embedding.params["weight"]
    np.testing.assert_array_equal(loaded.forward(_ids(2, 3))[0], model.forward(_ids(2, 3))[0])


def test_dropout_masks_follow_the_rng_state():
    model = _model("gru", dropout=0.5)
    ids = _ids(2, 6)
    assert not np.allclose(model.forward(ids, training=True)[0], model.forward(ids)[0])
    saved = json.loads(json.dumps(model.get_rng_state()))
    first = model.forward(ids, training=True)[0]
    model.set_rng_state(saved)
    np.testing.assert_array_equal(model.forward(ids, training=True)[0], first)
    with pytest.raises(ParameterError, match="dropout"):
        _model(dropout=1.0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_decoding_steps_equal_the_training_forward(cell):
    model = _model(cell, dtype=np.float32)
    ids = [1, 4, 2, 6, 0]
    logits, _ = model.forward(np.array([ids]))
    expected = logits[0] - np.log(np.exp(logits[0].astype(np.float64)).sum(axis=1, keepdims=True))
    log_probs, state = model.start(ids[:2])
    np.testing.assert_allclose(log_probs, expected[1], rtol=1e-5, atol=1e-5)
    for t in range(2, 5):
        log_probs, state = model.step(state, ids[t])
        np.testing.assert_allclose(log_probs, expected[t], rtol=1e-5, atol=1e-5)
    assert log_probs.dtype == np.float64


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_step_batch_equals_step_row_by_row(cell):
    model = _model(cell)
    states = [model.start(prompt)[1] for prompt in ([1], [2, 3], [6, 5, 4])]
    log_probs, new = model.step_batch(states, [0, 1, 2])
    assert log_probs.shape == (3, len(VOCAB)) and log_probs.dtype == np.float64
    for row, (state, token) in enumerate(zip(states, [0, 1, 2])):
        one, one_state = model.step(state, token)
        np.testing.assert_allclose(log_probs[row], one, rtol=1e-12, atol=1e-13)
        for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (new[row], one_state))):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    before = [np.copy(s) for s in states[0]]
    model.step_batch(states, [3, 3, 3])
    np.testing.assert_array_equal(states[0][0], before[0])  # states are never written in place
    empty, none = model.step_batch([], [])
    assert empty.shape == (0, len(VOCAB)) and none == []


def test_save_load_round_trip_keeps_the_architecture(tmp_path):
    model = _model("gru", dropout=0.25, num_layers=2, dtype=np.float32)
    path = tmp_path / "m.npz"
    model.save(path, {"epochs": 3, "version": 99})
    loaded = LanguageModel.load(path)
    assert loaded.config() == model.config() and loaded.meta["epochs"] == 3 and loaded.meta["version"] == 2
    np.testing.assert_array_equal(loaded.forward(_ids(2, 4))[0], model.forward(_ids(2, 4))[0])


def test_version_1_files_still_load(tmp_path):
    """The layout written before version 2: ``lstm{k}.weight_ih`` arrays and no cell/dropout/tie keys."""
    model = _model(dtype=np.float32)
    arrays = {"embedding.weight": model.embedding.params["weight"], "output.weight": model.output.params["weight"],
              "output.bias": model.output.params["bias"]}
    for k in range(2):
        for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            arrays[f"lstm{k}.{key}"] = model.rnn.params[f"{key}_l{k}"]
    header = {"format": "seqdl-lm", "version": 1, "level": "char", "tokens": VOCAB.tokens, "embedding_dim": 5,
              "hidden_size": 6, "num_layers": 2, "epochs": 1}
    save_npz(tmp_path / "v1.npz", arrays, header)
    loaded = LanguageModel.load(tmp_path / "v1.npz")
    assert loaded.cell == "lstm" and loaded.meta["version"] == 1
    np.testing.assert_array_equal(loaded.forward(_ids(2, 4))[0], model.forward(_ids(2, 4))[0])


def test_non_finite_arrays_are_refused_by_name(tmp_path):
    path = tmp_path / "m.npz"
    _model().save(path)
    arrays, meta = load_npz(path)
    arrays["rnn.bias_hh_l1"][3] = np.inf
    save_npz(path, arrays, meta)
    with pytest.raises(ModelFileError, match="rnn.bias_hh_l1"):
        LanguageModel.load(path)


@pytest.mark.parametrize("change", [{"cell": "transformer"}, {"dropout": 2.0}, {"tie_weights": "yes"},
                                    {"num_layers": 0}, {"version": 7}])
def test_corrupt_headers_are_refused(tmp_path, change):
    path = tmp_path / "m.npz"
    _model().save(path)
    arrays, meta = load_npz(path)
    save_npz(path, arrays, {**meta, **change})
    with pytest.raises(ModelFileError):
        LanguageModel.load(path)


def test_absurd_sizes_are_refused_before_allocating(tmp_path):
    path = tmp_path / "m.npz"
    _model().save(path)
    arrays, meta = load_npz(path)
    save_npz(path, arrays, {**meta, "hidden_size": 10 ** 9})
    with pytest.raises(ResourceError, match="would need .* of memory"):
        LanguageModel.load(path)
