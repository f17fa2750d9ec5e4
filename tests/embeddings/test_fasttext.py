"""Subword (fastText) embeddings: gensim's n-gram hashing, OOV vectors, Facebook .bin files, the embed flags."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from click.testing import CliRunner

import seqdl
from seqdl import FastText, FastTextKeyedVectors, load_vectors
from seqdl.cli import make_cli
from seqdl.embeddings.subwords import ft_hash, ngram_buckets, ngrams
from seqdl.errors import ModelFileError, ParameterError
from seqdl.plugins import PluginHost

from .conftest import planted_sentences, topic_separation

gensim_fasttext = pytest.importorskip("gensim.models.fasttext")

WORDS = ["hello", "naïve", "日本語", "a", "", "Straße", "ünïcödé-wörd", "<", "x>y"]
SMALL = dict(dim=24, min_count=1, epochs=5, seed=3, sample=0, workers=1, bucket=4000)


@pytest.mark.parametrize("minn,maxn", [(3, 6), (1, 3), (2, 2), (4, 4)])
def test_ngrams_and_buckets_are_gensims(minn, maxn):
    from gensim.models.fasttext_inner import compute_ngrams_bytes, ft_hash_bytes

    for word in WORDS:
        assert ngrams(word, minn, maxn) == compute_ngrams_bytes(word, minn, maxn), word
        assert ngram_buckets(word, minn, maxn, 2_000_000) == gensim_fasttext.ft_ngram_hashes(word, minn, maxn,
                                                                                            2_000_000)
        for gram in ngrams(word, minn, maxn):
            assert ft_hash(gram) == ft_hash_bytes(gram)


def test_the_signed_byte_quirk_changes_non_ascii_hashes():
    plain_fnv = 2166136261
    for byte in "é".encode():
        plain_fnv = ((plain_fnv ^ byte) * 16777619) & 0xFFFFFFFF
    assert ft_hash("é".encode()) != plain_fnv
    assert ft_hash(b"ab") == ((((2166136261 ^ 97) * 16777619 & 0xFFFFFFFF) ^ 98) * 16777619) & 0xFFFFFFFF


@pytest.fixture(scope="module")
def trained():
    return {arch: FastText(model=arch, **SMALL).train(planted_sentences()) for arch in ("skipgram", "cbow")}


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_fasttext_learns_the_topics_and_gives_misspellings_vectors_near_their_word(trained, arch):
    model = trained[arch]
    wv = model.wv
    assert isinstance(wv, FastTextKeyedVectors) and topic_separation(wv) > 0.3
    assert model.loss_history[-1] < model.loss_history[0]
    assert "t3w5x" not in wv.key_to_index and "t3w5x" in wv
    nearest = [w for w, _ in wv.most_similar("t3w5x", topn=5)]
    assert sum(w.startswith("t3") for w in nearest) >= 4, nearest


def test_vocabulary_vectors_are_the_mean_of_word_and_ngram_rows_and_oov_of_ngram_rows(trained):
    wv = trained["skipgram"].wv
    rows = ngram_buckets("t2w3", 3, 6, 4000)
    want = (wv.vectors_vocab[wv.key_to_index["t2w3"]] + wv.vectors_ngrams[rows].sum(axis=0)) / (len(rows) + 1)
    np.testing.assert_allclose(wv["t2w3"], want, rtol=1e-5, atol=1e-7)
    oov = ngram_buckets("t2w3zz", 3, 6, 4000)
    np.testing.assert_allclose(wv["t2w3zz"], wv.vectors_ngrams[oov].mean(axis=0), rtol=1e-5, atol=1e-7)


def test_a_saved_model_and_saved_vectors_load_with_their_oov_vectors(trained, tmp_path):
    model = trained["cbow"]
    model.save(tmp_path / "model.npz")
    model.wv.save(tmp_path / "vectors.npz")
    for name in ("model.npz", "vectors.npz"):
        back = load_vectors(tmp_path / name)
        assert isinstance(back, FastTextKeyedVectors) and back.index_to_key == model.wv.index_to_key
        np.testing.assert_array_equal(back.vectors, model.wv.vectors)
        np.testing.assert_array_equal(back["t1w1qq"], model.wv["t1w1qq"])
    again = FastText.load(tmp_path / "model.npz")
    assert again.params == model.params


def test_minn_above_maxn_is_refused_naming_the_parameter():
    with pytest.raises(ParameterError) as info:
        FastText(minn=5, maxn=3)
    assert info.value.param == "minn"


@pytest.fixture(scope="module")
def facebook_bin(tmp_path_factory):
    """A .bin written by gensim's save_facebook_model, and gensim's own reading of it."""
    sentences = planted_sentences(200) + [["naïve", "café", "日本語", "straße"]] * 5
    model = gensim_fasttext.FastText(vector_size=8, min_count=1, epochs=2, bucket=300, min_n=2, max_n=4, workers=1,
                                     seed=1)
    model.build_vocab(sentences)
    model.train(sentences, total_examples=len(sentences), epochs=2)
    path = tmp_path_factory.mktemp("fb") / "model.bin"
    gensim_fasttext.save_facebook_model(model, str(path))
    return path, gensim_fasttext.load_facebook_vectors(str(path))


def test_facebook_bin_gives_gensims_vectors_in_and_out_of_the_vocabulary(facebook_bin):
    path, theirs = facebook_bin
    ours = load_vectors(path)
    assert isinstance(ours, FastTextKeyedVectors) and ours.index_to_key == list(theirs.index_to_key)
    assert (ours.minn, ours.maxn, ours.bucket) == (2, 4, 300)
    np.testing.assert_allclose(ours.vectors, theirs.vectors, rtol=1e-5, atol=1e-6)
    for word in ["t3w55", "naïf", "cafés", "日本", "zz", "straßen", "x"]:
        np.testing.assert_allclose(ours[word], theirs[word], rtol=1e-5, atol=1e-6, err_msg=word)
    assert len(load_vectors(path, limit=10)) == 10


def test_broken_facebook_bins_fail_naming_the_file(facebook_bin, tmp_path):
    data = facebook_bin[0].read_bytes()
    cases = {
        "truncated.bin": data[: len(data) // 2],
        "cut-in-dictionary.bin": data[:90],
        "quantised.bin": _with_quantised_input(data, len(facebook_bin[1]) + 300),
        "newer.bin": data[:4] + struct.pack("<i", 99) + data[8:],
    }
    expected = {"truncated.bin": "truncated", "cut-in-dictionary.bin": "truncated",
                "quantised.bin": "quantised", "newer.bin": "version 99"}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ModelFileError) as info:
            load_vectors(path)
        assert str(path) in str(info.value) and expected[name] in str(info.value), str(info.value)


def _with_quantised_input(data: bytes, rows: int) -> bytes:
    """The file with the input matrix's 'quantised' flag set (the byte before its two int64 sizes)."""
    rows_dim = struct.pack("<2q", rows, 8)
    at = data.index(rows_dim)
    return data[: at - 1] + b"\x01" + data[at:]


@pytest.fixture
def cli():
    import seqdl_analogy

    host = PluginHost()
    host.register(seqdl_analogy, name="analogy")
    return make_cli(host)


def test_embed_subwords_writes_vectors_and_a_model_that_similar_reads(cli, planted_file):
    folder = planted_file.parent
    args = ["embed", str(planted_file), "-o", str(folder / "v.vec"), "--save-model", str(folder / "m.npz"), "-q",
            "--subwords", "--minn", "2", "--maxn", "4", "--bucket", "3000", "--dim", "16", "--min-count", "1",
            "--epochs", "3", "--workers", "1", "--sample", "0", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    kv = load_vectors(folder / "m.npz")
    assert isinstance(kv, FastTextKeyedVectors) and (kv.minn, kv.maxn, kv.bucket) == (2, 4, 3000)
    np.testing.assert_allclose(seqdl.KeyedVectors.load_word2vec_format(folder / "v.vec").vectors, kv.vectors,
                               rtol=1e-6, atol=1e-7)
    similar = CliRunner().invoke(cli, ["similar", "t0w1", "--vectors", str(folder / "m.npz"), "--json"])
    assert similar.exit_code == 0, similar.output


@pytest.mark.parametrize("args,fragments,code", [
    (["--subwords", "--minn", "5", "--maxn", "3"], ["--minn", "maxn"], 1),
    (["--minn", "2"], ["--minn", "--subwords"], 2),
])
def test_bad_subword_options_fail_in_one_line_and_write_nothing(cli, planted_file, args, fragments, code,
                                                               assert_one_line_error):
    out = planted_file.parent / "v.vec"
    result = CliRunner().invoke(cli, ["embed", str(planted_file), "-o", str(out), "--min-count", "1", *args])
    assert_one_line_error(result, *fragments, code=code)
    assert not out.exists()
