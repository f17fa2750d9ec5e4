"""word2vec text/binary files: exact round trips, gensim interoperability, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl import KeyedVectors
from seqdl.errors import InputError, ModelFileError


@pytest.fixture
def kv():
    rng = np.random.default_rng(1)
    words = ["the", "König", "naïve", "日本", "a", "z-z", "x_1"]
    return KeyedVectors(words, rng.normal(scale=3.0, size=(len(words), 5)).astype(np.float32))


@pytest.mark.parametrize("binary", [False, True])
def test_round_trip_is_exact(kv, tmp_path, binary):
    path = tmp_path / ("v.bin" if binary else "v.vec")
    kv.save_word2vec_format(path, binary=binary)
    back = KeyedVectors.load_word2vec_format(path)  # binary guessed from the suffix
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_limit_reads_the_first_vectors(kv, tmp_path):
    kv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    back = KeyedVectors.load_word2vec_format(tmp_path / "v.bin", limit=3)
    assert back.index_to_key == kv.index_to_key[:3]


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_ours(kv, tmp_path, binary):
    gensim_models = pytest.importorskip("gensim.models")
    path = tmp_path / "ours.out"
    kv.save_word2vec_format(path, binary=binary)
    theirs = gensim_models.KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert list(theirs.index_to_key) == kv.index_to_key
    np.testing.assert_array_equal(theirs.vectors, kv.vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_gensims(kv, tmp_path, binary):
    gensim_models = pytest.importorskip("gensim.models")
    theirs = gensim_models.KeyedVectors(kv.vector_size)
    theirs.add_vectors(kv.index_to_key, kv.vectors)
    path = tmp_path / "gensim.out"
    theirs.save_word2vec_format(str(path), binary=binary)
    ours = KeyedVectors.load_word2vec_format(path, binary=binary)
    assert ours.index_to_key == kv.index_to_key
    # gensim writes text values with repr(), binary as raw float32: both exact.
    np.testing.assert_array_equal(ours.vectors, kv.vectors)


@pytest.mark.parametrize("bad", ["two words", "tab\there", "new\nline", "", "nbsp\u00a0x"])
def test_words_with_whitespace_are_refused_and_nothing_is_written(tmp_path, bad):
    kv = KeyedVectors(["ok", bad], np.ones((2, 3)))
    path = tmp_path / "v.vec"
    with pytest.raises(InputError, match="whitespace"):
        kv.save_word2vec_format(path)
    assert list(tmp_path.iterdir()) == []


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("content,where", [
    (b"", "line 1"),
    (b"hello world\n", "line 1"),
    (b"2 3\na 1 2 3\n", "line 3"),               # truncated: one vector of two
    (b"2 3\na 1 2 3\nb 1 2\n", "line 3"),        # too few values
    (b"2 3\na 1 2 3\nb 1 2 3 4\n", "line 3"),    # too many values: not a word "b 1"
    (b"1 3\na 1 x 3\n", "line 2"),               # not a number
    (b"1 3\n\xff\xfe 1 2 3\n", "line 2"),        # invalid UTF-8
])
def test_malformed_text_names_file_and_line(tmp_path, content, where):
    path = _write(tmp_path / "bad.vec", content)
    with pytest.raises(ModelFileError) as info:
        KeyedVectors.load_word2vec_format(path)
    assert str(path) in str(info.value) and where in str(info.value)


def test_truncated_binary_names_file_and_offset(kv, tmp_path):
    good = tmp_path / "good.bin"
    kv.save_word2vec_format(good, binary=True)
    data = good.read_bytes()
    bad = _write(tmp_path / "bad.bin", data[: len(data) - 7])
    with pytest.raises(ModelFileError) as info:
        KeyedVectors.load_word2vec_format(bad)
    message = str(info.value)
    assert str(bad) in message and "truncated" in message and "byte" in message


def test_duplicate_words_and_missing_file_are_reported(tmp_path):
    path = _write(tmp_path / "dup.vec", b"2 2\na 1 2\na 3 4\n")
    with pytest.raises(ModelFileError, match="more than once"):
        KeyedVectors.load_word2vec_format(path)
    with pytest.raises(ModelFileError, match="no such"):
        KeyedVectors.load_word2vec_format(tmp_path / "missing.vec")


def test_reads_fasttext_style_trailing_space(tmp_path):
    path = _write(tmp_path / "ft.vec", "2 2\nda 0.5 -1 \nnè 2 3 \n".encode())
    kv = KeyedVectors.load_word2vec_format(path)
    assert kv.index_to_key == ["da", "nè"]
    np.testing.assert_array_equal(kv.vectors, [[0.5, -1], [2, 3]])
