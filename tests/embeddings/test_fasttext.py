"""Subword (fastText) embeddings: gensim's n-gram hashing, OOV vectors, Facebook .bin files, the embed flags."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from click.testing import CliRunner

import seqdl
from seqdl import FastText, FastTextKeyedVectors, load_vectors
from seqdl.cli import make_cli
from seqdl.embeddings.subwords import ft_hash, ngram_buckets, ngrams, subword_table
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


@pytest.mark.parametrize("minn, maxn, bucket", [(3, 6, 2_000_000), (1, 3, 1000), (2, 2, 7), (5, 4, 100)])
def test_the_vocabulary_table_kernel_gives_the_reference_buckets(minn, maxn, bucket):
    """The numba table for a whole vocabulary equals ngram_buckets and gensim word by word (multi-byte UTF-8 included)."""
    rng = np.random.default_rng(0)
    alphabet = list("abcxyz-'<>") + ["é", "€", "ü", "日", "本", "\u00ff", "\U0001F600"]
    words = list(dict.fromkeys("".join(rng.choice(alphabet, size=rng.integers(1, 12))) for _ in range(2000)))
    words += ["", "a"]
    ptr, rows = subword_table(words, minn, maxn, bucket)
    assert ptr.shape == (len(words) + 1,) and ptr[-1] == len(rows)
    for i, word in enumerate(words):
        expected = [i] + [len(words) + b for b in ngram_buckets(word, minn, maxn, bucket)]
        assert rows[ptr[i]:ptr[i + 1]].tolist() == expected, word
        if minn <= maxn:  # and gensim's own hashes
            assert expected[1:] == [len(words) + b for b in gensim_fasttext.ft_ngram_hashes(word, minn, maxn, bucket)]


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


def _reference(arch, syn0, syn1, ptr, rows, sentences, keep, accept, alias, tables, window, negative, alpha, seed,
               job):
    """gensim's fasttext_fast_sentence_{sg,cbow}_neg in NumPy (skip-gram pair by pair, the centre's rows summed
    and divided by its n-gram count; CBOW averaging over every row), with seqdl's random draws (one job)."""
    from seqdl.embeddings.noise import below, next_random, seed_state

    # numba hands uint64 back as Python ints: keep the state a uint64, as in the kernel.
    state = np.uint64(seed_state(seed, job))
    for sentence in sentences:
        kept = []
        for word in sentence:
            bits, state = next_random(state)
            bits, state = np.uint64(bits), np.uint64(state)
            if (int(bits) >> 32) <= int(keep[word]):
                kept.append(word)
        for i, centre in enumerate(kept):
            bits, state = next_random(state)
            bits, state = np.uint64(bits), np.uint64(state)
            reduced = window - below(bits, window)
            lo, hi = max(0, i - reduced), min(len(kept), i + reduced + 1)
            if arch == "cbow":
                if hi - lo > 1:
                    inputs = np.concatenate([rows[ptr[w]:ptr[w + 1]] for w in kept[lo:i] + kept[i + 1:hi]])
                    state = _predict(syn0, syn1, inputs, centre, state, accept, alias, tables, negative, alpha)
                continue
            for j in range(lo, hi):
                if j != i:
                    centre_rows = rows[ptr[centre]:ptr[centre + 1]]
                    state = _predict(syn0, syn1, centre_rows, kept[j], state, accept, alias, tables, negative, alpha,
                                     divisor=max(len(centre_rows) - 1, 1))


def _predict(syn0, syn1, inputs, true, state, accept, alias, tables, negative, alpha, divisor=None):
    """The sum of rows ``inputs`` over ``divisor`` (default: their count) predicts ``true`` against noise words;
    every input row gets the gradient."""
    from seqdl.embeddings.kernels import MAX_EXP, TABLE_SIZE
    from seqdl.embeddings.noise import draw_noise

    h = (syn0[inputs].sum(axis=0, dtype=np.float32) / np.float32(divisor or len(inputs))).astype(np.float32)
    work = np.zeros_like(h)
    for d in range(negative + 1):
        if d == 0:
            target, label = true, 1.0
        else:
            target, state = draw_noise(state, accept, alias)
            state = np.uint64(state)
            if target == true:
                continue
            label = 0.0
        f = float(h @ syn1[target])
        index = TABLE_SIZE - 1 if f >= MAX_EXP else 0 if f <= -MAX_EXP else \
            int((f + MAX_EXP) * (TABLE_SIZE / MAX_EXP / 2))
        g = np.float32((label - tables[0, index]) * alpha)
        work += g * syn1[target]
        syn1[target] += g * h
    np.add.at(syn0, inputs, work)
    return state


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_the_subword_kernels_make_gensims_updates(arch):
    from seqdl.embeddings import kernels
    from seqdl.embeddings.noise import alias_table, noise_distribution
    from seqdl.embeddings.subwords import subword_table

    words = [f"w{i}x" for i in range(12)] + ["abab", "aaaaaa"]  # "aaaaaa" repeats n-grams: shared buckets
    rng = np.random.default_rng(0)
    sentences = [list(rng.integers(len(words), size=9)) for _ in range(6)]
    ptr, rows = subword_table(words, 2, 3, 40)
    syn0 = rng.uniform(-0.5, 0.5, size=(len(words) + 40, 8)).astype(np.float32)
    syn1 = rng.uniform(-0.5, 0.5, size=(len(words), 8)).astype(np.float32)
    accept, alias = alias_table(noise_distribution(np.arange(len(words), 0, -1)))
    keep = np.full(len(words), 2**32 - 1, dtype=np.uint32)
    tables = kernels.sigmoid_tables()
    want0, want1, net_before = syn0.copy(), syn1.copy(), syn0.copy()
    _reference(arch, want0, want1, ptr, rows, sentences, keep, accept, alias, tables, 3, 4, 0.1, 7, 2)

    net = kernels.Net(syn0, syn1, keep, accept, alias, np.zeros(len(words), dtype=np.float32), tables, ptr, rows)
    settings = kernels.Settings(kernels.SKIPGRAM if arch == "skipgram" else kernels.CBOW, kernels.NEGATIVE, 3, 4)
    ids = np.concatenate(sentences).astype(np.int32)
    ends = np.cumsum([len(s) for s in sentences]).astype(np.int64)
    scratch = kernels.make_scratch(settings, 8, len(words), 64)
    kernels.train_job(net, scratch, settings, ids, ends, 0.1, 0.1, 7, 2)
    np.testing.assert_allclose(syn1, want1, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(syn0, want0, rtol=1e-4, atol=1e-5)
    assert np.abs(syn0 - net_before).max() > 0.01  # it trained


def test_a_facebook_bin_continues_training_with_new_words(facebook_bin, planted_file, tmp_path):
    path, theirs = facebook_bin
    model = FastText.load_facebook(path)
    assert (model.params.dim, model.params.minn, model.params.maxn, model.params.bucket) == (8, 2, 4, 300)
    np.testing.assert_allclose(model.wv.vectors, theirs.vectors, rtol=1e-5, atol=1e-6)
    more = tmp_path / "more.txt"
    more.write_text("zebra quagga okapi zebra quagga okapi\n" * 20, encoding="utf-8")
    result = CliRunner().invoke(make_cli(PluginHost()), ["embed", str(more), "--init", str(path), "-o",
                                                         str(tmp_path / "v.vec"), "--save-model",
                                                         str(tmp_path / "m.npz"), "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output
    after = load_vectors(tmp_path / "m.npz")
    assert after.index_to_key[: len(theirs)] == list(theirs.index_to_key)
    assert set(after.index_to_key[len(theirs):]) == {"zebra", "quagga", "okapi"}


def test_similar_analogy_and_project_answer_for_words_only_a_subword_model_can_build(trained, cli, tmp_path):
    model = trained["skipgram"]
    model.save(tmp_path / "m.npz")
    model.wv.save_word2vec_format(tmp_path / "plain.vec")
    unseen = "t2w3xq"  # never in the corpus; its n-grams are t2w3's
    assert unseen not in model.wv.key_to_index
    similar = CliRunner().invoke(cli, ["similar", unseen, "--vectors", str(tmp_path / "m.npz"), "--topn", "5",
                                       "--json"])
    assert similar.exit_code == 0, similar.output
    import json

    neighbours = [row["word"] for row in json.loads(similar.output)]
    assert sum(word.startswith("t2w") for word in neighbours) >= 4, neighbours
    analogy = CliRunner().invoke(cli, ["analogy", unseen, "t2w1", "t2w5", "--vectors", str(tmp_path / "m.npz"),
                                       "--json"])
    assert analogy.exit_code == 0, analogy.output
    assert unseen not in analogy.output
    xy = seqdl.project(load_vectors(tmp_path / "m.npz"), [unseen, "t2w3", "t0w1", "t1w1"], method="pca")
    assert xy.shape == (4, 2) and np.isfinite(xy).all()
    plain = CliRunner().invoke(cli, ["similar", unseen, "--vectors", str(tmp_path / "plain.vec")])
    assert plain.exit_code == 1 and "not in vocabulary" in plain.output
