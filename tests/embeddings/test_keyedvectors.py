"""KeyedVectors: lookup, similarity queries with gensim's semantics, npz save/load."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl import KeyedVectors
from seqdl.errors import SeqdlError, ShapeError, VocabularyError


@pytest.fixture
def kv():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    return KeyedVectors(words, rng.normal(size=(50, 8)), counts=np.arange(50, 0, -1))


def test_attributes_and_lookup(kv):
    assert len(kv) == 50 and kv.vector_size == 8
    assert kv.vectors.dtype == np.float32 and kv.vectors.flags.c_contiguous
    assert kv.index_to_key[3] == "w3" and kv.key_to_index["w3"] == 3
    assert "w7" in kv and "nope" not in kv
    np.testing.assert_array_equal(kv["w5"], kv.vectors[5])
    np.testing.assert_array_equal(kv[["w1", "w4"]], kv.vectors[[1, 4]])
    assert list(kv)[:2] == ["w0", "w1"]


def test_unknown_words_raise_vocabulary_error_naming_them(kv):
    with pytest.raises(VocabularyError) as info:
        kv["nope"]
    assert isinstance(info.value, SeqdlError) and isinstance(info.value, KeyError)
    assert "'nope'" in str(info.value)
    with pytest.raises(VocabularyError) as info:
        kv[["w1", "x", "y"]]
    assert info.value.words == ["x", "y"]
    with pytest.raises(VocabularyError):
        kv.most_similar(positive=["w1", "zzz"])
    with pytest.raises(VocabularyError):
        kv.similarity("w1", "zzz")


def test_bad_shapes_are_refused():
    with pytest.raises(ShapeError):
        KeyedVectors(["a", "b"], np.zeros((3, 4)))
    with pytest.raises(ShapeError):
        KeyedVectors(["a", "b"], np.zeros((2, 4)), counts=[1, 2, 3])
    with pytest.raises(ValueError):
        KeyedVectors(["a", "a"], np.zeros((2, 4)))


def test_normed_vectors_are_unit_and_cached():
    kv = KeyedVectors(["a", "b", "zero"], np.array([[3.0, 4.0], [0.0, -2.0], [0.0, 0.0]]))
    normed = kv.get_normed_vectors()
    np.testing.assert_allclose(normed[:2], [[0.6, 0.8], [0.0, -1.0]], rtol=1e-6)
    np.testing.assert_array_equal(normed[2], [0.0, 0.0])
    assert kv.get_normed_vectors() is normed
    assert kv.similarity("a", "b") == pytest.approx(-0.8, rel=1e-6)


def _brute_force(kv, positive, negative, restrict=None):
    """Reference: mean of +/- unit vectors, cosine to every word, inputs excluded, full sort."""
    normed = kv.vectors / np.linalg.norm(kv.vectors, axis=1, keepdims=True)
    mean = sum(normed[kv.key_to_index[w]] for w in positive) - sum(normed[kv.key_to_index[w]] for w in negative)
    mean /= np.linalg.norm(mean)
    sims = normed @ mean
    limit = len(kv) if restrict is None else restrict
    order = [i for i in np.argsort(-sims) if i < limit and kv.index_to_key[i] not in {*positive, *negative}]
    return [(kv.index_to_key[i], sims[i]) for i in order]


@pytest.mark.parametrize("positive,negative,restrict", [
    (["w1"], [], None),
    (["w1", "w2"], ["w3"], None),
    (["w4"], ["w9", "w10"], 20),
])
def test_most_similar_matches_brute_force(kv, positive, negative, restrict):
    got = kv.most_similar(positive=positive, negative=negative, topn=7, restrict_vocab=restrict)
    want = _brute_force(kv, positive, negative, restrict)[:7]
    assert [w for w, _ in got] == [w for w, _ in want]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5)
    assert all(isinstance(s, float) for _, s in got)


def test_most_similar_accepts_a_single_word_and_vectors(kv):
    assert kv.most_similar("w1", topn=3) == kv.most_similar(positive=["w1"], topn=3)
    # A raw vector equal to w1's finds w1 itself (only words are excluded).
    assert kv.most_similar(positive=[kv["w1"] * 3.0], topn=1)[0][0] == "w1"
    sims = kv.most_similar(positive=["w1"], topn=None)
    assert sims.shape == (50,) and sims[1] == pytest.approx(1.0, rel=1e-5)


def test_most_similar_agrees_with_gensim(kv):
    gensim_models = pytest.importorskip("gensim.models")
    theirs = gensim_models.KeyedVectors(8)
    theirs.add_vectors(kv.index_to_key, kv.vectors)
    for positive, negative in [(["w1", "w2"], ["w3"]), (["w10"], [])]:
        ours = kv.most_similar(positive=positive, negative=negative, topn=5)
        ref = theirs.most_similar(positive=positive, negative=negative, topn=5)
        assert [w for w, _ in ours] == [w for w, _ in ref]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in ref], rtol=1e-5)


def test_npz_round_trip(kv, tmp_path):
    path = tmp_path / "kv.npz"
    kv.save(path)
    back = KeyedVectors.load(path)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    np.testing.assert_array_equal(back.counts, kv.counts)
