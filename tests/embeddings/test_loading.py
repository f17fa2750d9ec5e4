"""seqdl.load_vectors: every format told apart by content; hostile files refused in one line."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from seqdl import KeyedVectors, Word2Vec, load_vectors
from seqdl.cli import make_cli
from seqdl.errors import ModelFileError
from seqdl.plugins import PluginHost


@pytest.fixture
def kv():
    rng = np.random.default_rng(0)
    return KeyedVectors([f"w{i}" for i in range(20)], rng.normal(size=(20, 5)).astype(np.float32),
                        np.arange(20, 0, -1))


def _glove(path, kv):
    path.write_text("".join(f"{w} {' '.join('%.9g' % x for x in row)}\n" for w, row in zip(kv.index_to_key,
                                                                                         kv.vectors)))
    return path


@pytest.mark.parametrize("name", ["v.vec", "v.bin", "v.txt", "vectors"])
@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_text_and_binary_load_whatever_their_name(kv, tmp_path, name, binary):
    path = tmp_path / name
    kv.save_word2vec_format(path, binary=binary)
    back = load_vectors(path)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert len(load_vectors(path, limit=3)) == 3


def test_glove_files_load_everywhere_vectors_load(kv, tmp_path):
    path = _glove(tmp_path / "glove.6B.5d.txt", kv)
    for back in (load_vectors(path), load_vectors(path, no_header=True), KeyedVectors.load_word2vec_format(path)):
        assert back.index_to_key == kv.index_to_key
        np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert load_vectors(path, limit=4).index_to_key == kv.index_to_key[:4]


def test_a_glove_file_with_a_ragged_row_names_the_line(kv, tmp_path):
    path = _glove(tmp_path / "glove.txt", kv)
    lines = path.read_text().splitlines()
    lines[6] = lines[6].rsplit(" ", 1)[0]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ModelFileError) as info:
        load_vectors(path)
    assert str(path) in str(info.value) and "line 7" in str(info.value)


def test_every_npz_kind_loads(kv, tmp_path):
    kv.save(tmp_path / "kv.npz")
    assert load_vectors(tmp_path / "kv.npz").index_to_key == kv.index_to_key
    model = Word2Vec(dim=4, min_count=1, epochs=1, workers=1).train([["a", "b", "c"], ["b", "c", "a"]])
    model.save(tmp_path / "model.npz")
    np.testing.assert_array_equal(load_vectors(tmp_path / "model.npz").vectors, model.wv.vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_a_header_claiming_fewer_vectors_than_the_file_holds_is_refused(kv, tmp_path, binary):
    path = tmp_path / "v"
    kv.save_word2vec_format(path, binary=binary)
    data = path.read_bytes()
    path.write_bytes(b"12 5\n" + data[data.index(b"\n") + 1:])
    with pytest.raises(ModelFileError, match="promises 12 vectors but the file holds more"):
        load_vectors(path)
    assert len(load_vectors(path, limit=12)) == 12  # asking for the first 12 is fine


@pytest.mark.parametrize("binary", [False, True])
def test_a_header_claiming_a_trillion_rows_is_refused_before_allocating(kv, tmp_path, binary):
    path = tmp_path / "v"
    kv.save_word2vec_format(path, binary=binary)
    data = path.read_bytes()
    path.write_bytes(b"1000000000000 5\n" + data[data.index(b"\n") + 1:])
    with pytest.raises(ModelFileError, match="promises 1,000,000,000,000 vectors"):
        load_vectors(path)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_non_finite_values_are_refused_naming_the_word(kv, tmp_path, bad):
    vectors = kv.vectors.copy()
    vectors[7, 2] = float(bad)
    path = tmp_path / "v.vec"
    KeyedVectors(kv.index_to_key, vectors).save_word2vec_format(path)
    with pytest.raises(ModelFileError) as info:
        load_vectors(path)
    assert "'w7'" in str(info.value) and "line 9" in str(info.value)
    KeyedVectors(kv.index_to_key, vectors).save(tmp_path / "v.npz")
    with pytest.raises(ModelFileError, match="NaN or infinity"):
        load_vectors(tmp_path / "v.npz")


def test_a_non_vectors_npz_is_refused(tmp_path):
    from seqdl.io import save_npz

    save_npz(tmp_path / "other.npz", {"x": np.zeros(3)}, {"format": "seqdl.LanguageModel"})
    with pytest.raises(ModelFileError, match="not a vectors file"):
        load_vectors(tmp_path / "other.npz")


def test_embed_binary_to_a_vec_name_reads_back_with_analogy_and_project(planted_file, tmp_path):
    import seqdl_analogy
    import seqdl_tsne

    host = PluginHost()
    host.register(seqdl_analogy, name="analogy")
    host.register(seqdl_tsne, name="tsne")
    cli = make_cli(host)
    out = tmp_path / "x.vec"
    args = ["embed", str(planted_file), "-o", str(out), "--format", "binary", "--dim", "8", "--min-count", "1",
            "--epochs", "1", "--workers", "1", "-q"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert CliRunner().invoke(cli, ["similar", "t0w1", "--vectors", str(out)]).exit_code == 0
    KeyedVectors.load_word2vec_format(out).save(tmp_path / "x.npz")
    result = CliRunner().invoke(cli, ["project", "--vectors", str(tmp_path / "x.npz"), "--method", "pca",
                                      "-o", str(tmp_path / "map.csv"), "-q"])
    assert result.exit_code == 0, result.output
