"""The corpus abstraction: many files, folders, compressed files, URLs, standard input, shards."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import random
import sys

import pytest

from seqdl.errors import CorpusError
from seqdl.text.corpus import Corpus, read_pieces
from seqdl.text.tokenize import split_sentences

COMPRESSORS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def _zstd_compress(data: bytes) -> bytes:
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdCompressor().compress(data)


def _lines(seed: int, n: int) -> str:
    rng = random.Random(seed)
    words = ["alpha", "beta", "Gamma", "délta", "epsilon", "zeta", "eta"]
    return "".join(" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) + "\n" for _ in range(n))


def test_a_folder_reads_its_corpus_files_in_sorted_order_decompressed(tmp_path):
    texts = {name: _lines(i, 40) for i, name in enumerate(["e.zst", "a.txt", "c.bz2", "b.txt.gz", "d.xz"])}
    for name, text in texts.items():
        data = text.encode()
        suffix = os.path.splitext(name)[1]
        data = _zstd_compress(data) if suffix == ".zst" else COMPRESSORS.get(suffix, lambda d: d)(data)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "notes.md").write_text("not part of the corpus\n")
    (tmp_path / "sub").mkdir()
    expected = "".join(texts[name] for name in sorted(texts))
    with Corpus.open(tmp_path) as corpus:
        assert [os.path.basename(s.name) for s in corpus.sources] == sorted(texts)
        assert "".join(p.text for p in corpus.pieces(buffer_size=200)) == expected
        assert list(corpus) == split_sentences(expected, lowercase=True)
        assert list(corpus.sentences(lowercase=False)) == split_sentences(expected, lowercase=False)


def test_several_paths_are_one_corpus_and_offsets_are_per_file(tmp_path):
    first, second = tmp_path / "1.txt", tmp_path / "2.txt.gz"
    first.write_text("one two\nthree\n")
    second.write_bytes(gzip.compress(b"four five\nsix\n"))
    with Corpus.open([first, str(second)]) as corpus:
        pieces = list(corpus.pieces())
        assert [(p.source, p.offset) for p in pieces] == [(str(first), 0), (str(second), 0)]
        assert list(corpus) == [["one", "two"], ["three"], ["four", "five"], ["six"]]


def test_standard_input_is_spooled_once_replayed_and_removed(tmp_path):
    stdin = io.BytesIO(gzip.compress("Der König\nthe queen\n".encode()))  # compression found by magic bytes
    corpus = Corpus.open("-", stdin=stdin)
    (spool,) = corpus.sources
    assert corpus.name == "<stdin>" and os.path.exists(spool.location)
    assert list(corpus) == list(corpus) == [["der", "könig"], ["the", "queen"]]
    corpus.close()
    assert not os.path.exists(spool.location)
    with pytest.raises(CorpusError, match="read only once"):
        Corpus.open(["-", "-"], stdin=io.BytesIO(b"x\n"))


def test_empty_standard_input_is_refused_naming_it():
    with Corpus.open("-", stdin=io.BytesIO(b"")) as corpus, pytest.raises(CorpusError, match="<stdin>: the corpus is empty"):
        list(corpus)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_named_pipe_is_spooled_like_standard_input(tmp_path):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(b"from a pipe\n"))
    writer.start()
    with Corpus.open(fifo) as corpus:
        writer.join()
        assert list(corpus) == list(corpus) == [["from", "a", "pipe"]]


def test_file_urls_for_a_file_a_folder_and_a_glob(tmp_path):
    pytest.importorskip("fsspec")
    (tmp_path / "a.txt").write_text("a b\n")
    (tmp_path / "b.txt.bz2").write_bytes(bz2.compress(b"c d\n"))
    (tmp_path / "skip.csv").write_text("x\n")
    url = tmp_path.as_uri()
    assert list(Corpus.open(url + "/a.txt")) == [["a", "b"]]
    assert list(Corpus.open(url)) == [["a", "b"], ["c", "d"]]
    assert list(Corpus.open(url + "/b*")) == [["c", "d"]]
    with pytest.raises(CorpusError, match="no such corpus file"):
        Corpus.open(url + "/missing.txt")


def test_missing_optional_packages_are_one_line_naming_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "c.zst").write_bytes(b"\x28\xb5\x2f\xfd whatever")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(CorpusError, match="pip install zstandard") as info:
        list(Corpus.open(tmp_path / "c.zst"))
    assert str(tmp_path / "c.zst") in str(info.value)
    with pytest.raises(CorpusError, match="needs fsspec: pip install"):
        Corpus.open("s3://bucket/corpus.txt")


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_bad_bytes_in_a_compressed_file_are_named_by_uncompressed_offset(tmp_path, suffix):
    path = tmp_path / f"c.txt{suffix}"
    good = b"word " * 30 + b"\n"
    path.write_bytes(COMPRESSORS[suffix](good * 20 + b"bad \xff\n"))
    with pytest.raises(CorpusError, match="invalid UTF-8") as info:
        list(read_pieces(path, buffer_size=64))
    assert info.value.path == str(path) and info.value.offset == len(good) * 20 + 4


def test_a_truncated_compressed_file_is_one_error_naming_it(tmp_path):
    path = tmp_path / "c.txt.gz"
    data = gzip.compress(_lines(3, 2000).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorpusError, match="corrupt or truncated gzip data") as info:
        list(read_pieces(path, buffer_size=256))
    assert str(path) in str(info.value) and info.value.offset > 0
    path.write_bytes(b"not gzip at all\n")
    with pytest.raises(CorpusError, match="corrupt or truncated gzip"):
        list(read_pieces(path))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_gets_a_hint_to_re_encode(tmp_path, encoding):
    path = tmp_path / "c.txt"
    path.write_bytes("the king\nthe queen\n".encode(encoding))
    with pytest.raises(CorpusError, match="UTF-16.*re-encode") as info:
        list(read_pieces(path))
    assert str(path) in str(info.value)
    path.write_bytes(b"text then \x00\x01\x02\x03\x04\x05\x06\x07\x08 binary")
    with pytest.raises(CorpusError, match="binary data"):
        list(read_pieces(path))


@pytest.mark.parametrize("count", [1, 2, 3, 7, 40])
def test_shards_tile_the_corpus_line_by_line(tmp_path, count):
    text = _lines(5, 300) + "x" * 500 + " long line\n" + _lines(6, 50)  # a line longer than some shards
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(b"compressed one\n"))
    corpus = Corpus.open(tmp_path)
    shards = corpus.shards(count)
    assert shards[-1].source.name.endswith("b.txt.gz") and shards[-1].end is None  # whole compressed file
    if count > 1:
        assert len(shards) >= count
    lines = [s for shard in shards for s in shard.sentences()]
    assert lines == list(corpus)
    rebuilt = "".join(p.text for shard in shards for p in shard.pieces(buffer_size=64))  # many small reads
    assert rebuilt == text + "compressed one\n"


def test_a_shard_ending_exactly_at_a_line_end(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("aa\nbb\ncc\n")
    corpus = Corpus.open(path)
    from seqdl.text.corpus import Shard

    source = corpus.sources[0]
    assert list(Shard(source, 0, 3).sentences()) == [["aa"]]       # byte 3 starts the next line
    assert list(Shard(source, 0, 4).sentences()) == [["aa"], ["bb"]]
    assert list(Shard(source, 3, 6).sentences()) == [["bb"]]
    assert list(Shard(source, 4, None).sentences()) == [["cc"]]


def test_shards_cut_a_very_long_line_between_tokens(tmp_path, monkeypatch):
    import seqdl.text.corpus as corpus_module

    monkeypatch.setattr(corpus_module, "LONG_LINE", 64)
    words = [f"wörd{i}" for i in range(3000)]
    path = tmp_path / "one-line.txt"
    path.write_text(" ".join(words) + "\nshort line\n")
    corpus = Corpus.open(path)
    shards = corpus.shards(7)
    parts = [[w for s in shard.sentences() for w in s] for shard in shards]
    assert all(parts[:-1])                                   # the long line is spread over the shards...
    assert [w for part in parts for w in part] == words + ["short", "line"]  # ...every token once, whole
