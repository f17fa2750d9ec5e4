"""``seqdl convert``: word2vec text <-> binary <-> npz, GloVe -> word2vec, TensorBoard projector files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from seqdl import FastText, FastTextKeyedVectors, KeyedVectors, load_vectors
from seqdl.cli import make_cli
from seqdl.plugins import PluginHost

from .conftest import planted_sentences


@pytest.fixture
def kv():
    rng = np.random.default_rng(1)
    return KeyedVectors([f"w{i}" for i in range(30)], rng.normal(size=(30, 6)).astype(np.float32))


def _convert(*args):
    return CliRunner().invoke(make_cli(PluginHost()), ["convert", *map(str, args)])


@pytest.mark.parametrize("first,second", [("a.vec", "b.bin"), ("a.bin", "b.npz"), ("a.npz", "b.txt"),
                                          ("a.vec", "b.glove")])
def test_round_trips_keep_every_word_and_value(kv, tmp_path, first, second):
    src = tmp_path / "src.vec"
    kv.save_word2vec_format(src)
    args = ["--to", "glove"] if second.endswith("glove") else []
    assert _convert(src, tmp_path / first, "-q").exit_code == 0
    result = _convert(tmp_path / first, tmp_path / second, "-q", *args)
    assert result.exit_code == 0, result.output
    back = load_vectors(tmp_path / second)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)


def test_glove_to_word2vec_is_what_gensim_reads(kv, tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    glove = tmp_path / "glove.txt"
    glove.write_text("".join(f"{w} {' '.join('%.9g' % x for x in r)}\n" for w, r in zip(kv.index_to_key,
                                                                                       kv.vectors)))
    result = _convert(glove, tmp_path / "w2v.vec", "--limit", "10", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"input": str(glove), "outputs": [str(tmp_path / "w2v.vec")],
                                         "format": "text", "words": 10, "dim": 6}
    theirs = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "w2v.vec"))
    assert list(theirs.index_to_key) == kv.index_to_key[:10]
    np.testing.assert_array_equal(theirs.vectors, kv.vectors[:10])


def test_projector_pair_has_a_row_per_word_and_matching_labels(kv, tmp_path):
    src = tmp_path / "v.bin"
    kv.save_word2vec_format(src, binary=True)
    result = _convert(src, tmp_path / "vectors.tsv", "-q")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in (tmp_path / "vectors.tsv").read_text().splitlines()]
    np.testing.assert_array_equal(np.array(rows, dtype=np.float32), kv.vectors)
    assert (tmp_path / "metadata.tsv").read_text().splitlines() == kv.index_to_key


def test_a_subword_model_converts_to_npz_keeping_its_oov_vectors(tmp_path):
    model = FastText(dim=8, min_count=1, epochs=1, workers=1, bucket=500).train(planted_sentences(100))
    model.save(tmp_path / "m.npz")
    assert _convert(tmp_path / "m.npz", tmp_path / "kv.npz", "-q").exit_code == 0
    kv = load_vectors(tmp_path / "kv.npz")
    assert isinstance(kv, FastTextKeyedVectors)
    np.testing.assert_array_equal(kv["t1w2zz"], model.wv["t1w2zz"])


def test_bad_inputs_fail_in_one_line_and_write_nothing(kv, tmp_path, assert_one_line_error):
    src = tmp_path / "v.vec"
    kv.save_word2vec_format(src)
    before = src.read_bytes()
    assert_one_line_error(_convert(src, src), str(src), code=1)                        # OUT is IN
    assert src.read_bytes() == before
    assert_one_line_error(_convert(tmp_path / "none.vec", tmp_path / "o.vec"), "no such", code=1)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("a 1 2 3\nb 1 2\n")
    assert_one_line_error(_convert(ragged, tmp_path / "o.vec"), "line 2", code=1)
    assert_one_line_error(_convert(src, tmp_path / "o.vec", "--metadata", tmp_path / "m.tsv"), "--metadata", code=2)
    assert_one_line_error(_convert(src, tmp_path / "vectors.tsv", "--metadata", src), str(src), code=1)
    assert_one_line_error(_convert(src, tmp_path / "o.vec", "--limit", "0"), "--limit", code=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ragged.txt", "v.vec"]


def test_an_explicit_input_format_is_obeyed(kv, tmp_path, assert_one_line_error):
    src = tmp_path / "v.bin"
    kv.save_word2vec_format(src, binary=True)
    assert _convert(src, tmp_path / "a.vec", "--binary", "-q").exit_code == 0
    np.testing.assert_array_equal(load_vectors(tmp_path / "a.vec").vectors, kv.vectors)
    assert_one_line_error(_convert(src, tmp_path / "b.vec", "--text"), str(src), code=1)
    assert not (tmp_path / "b.vec").exists()
