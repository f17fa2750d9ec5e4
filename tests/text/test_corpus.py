"""Corpus streaming: bounded pieces that never cut a token, and errors naming file and byte offset."""

from __future__ import annotations

import pytest

from seqdl.errors import CorpusError
from seqdl.text.corpus import read_pieces
from seqdl.text.tokenize import file_sentences, split_sentences


def test_pieces_rebuild_the_file_and_end_at_whitespace(tmp_path):
    text = "".join(f"line {i} " + "wörd " * (i % 7) + "\n" for i in range(300))
    path = tmp_path / "c.txt"
    path.write_text(text, encoding="utf-8")
    pieces = list(read_pieces(path, buffer_size=64))
    assert len(pieces) > 10
    assert "".join(p.text for p in pieces) == text
    offset = 0
    for piece in pieces:
        assert piece.offset == offset
        offset += len(piece.text.encode("utf-8"))


def test_a_line_longer_than_the_buffer_is_split_between_tokens_not_truncated(tmp_path):
    words = [f"tok{i}é" for i in range(5000)]
    path = tmp_path / "long.txt"
    path.write_text(" ".join(words) + "\nlast line\n", encoding="utf-8")
    sentences = list(file_sentences(path, buffer_size=256))
    assert len(sentences) > 20  # the long line came in many pieces...
    assert [w for s in sentences for w in s] == words + ["last", "line"]  # ...with every token whole
    assert max(len(p.text) for p in read_pieces(path, buffer_size=256)) < 600


def test_sentences_are_lines_lowercased_on_request(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes("\ufeffThe King\r\n\n  \tA\u00a0QUEEN  \n".encode("utf-8"))
    assert list(file_sentences(path)) == [["the", "king"], ["a", "queen"]]
    assert list(file_sentences(path, lowercase=False)) == [["The", "King"], ["A", "QUEEN"]]
    assert split_sentences("x y\nz", lowercase=False) == [["x", "y"], ["z"]]


@pytest.mark.parametrize("content,message,offset", [
    (b"good text\nbad \xff byte\n", "invalid UTF-8", 14),
    (b"abc\xe9def\n", "invalid UTF-8", 3),               # latin-1, not UTF-8
    (b"text then \x00\x01\x02 binary", "binary", 10),
])
def test_bad_bytes_are_reported_with_file_and_offset(tmp_path, content, message, offset):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError) as info:
        list(file_sentences(path))
    assert str(path) in str(info.value) and message in str(info.value)
    assert info.value.offset == offset and f"byte {offset}" in str(info.value)


def test_offsets_are_file_offsets_in_later_pieces(tmp_path):
    path = tmp_path / "bad.txt"
    good = ("word " * 20 + "\n") * 50
    path.write_bytes(good.encode() + b"oops\xc3(\n")
    with pytest.raises(CorpusError) as info:
        list(read_pieces(path, buffer_size=100))
    assert info.value.offset == len(good) + 4


@pytest.mark.parametrize("content,message", [(b"", "empty"), (b" \n\t\n", "no text")])
def test_empty_corpora_are_refused(tmp_path, content, message):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        list(file_sentences(path))


def test_missing_file_and_folder_without_corpus_files_are_refused(tmp_path):
    with pytest.raises(CorpusError, match="no such corpus file"):
        list(file_sentences(tmp_path / "missing.txt"))
    (tmp_path / "notes.md").write_text("not a corpus file\n")
    with pytest.raises(CorpusError, match="holds no corpus files"):
        list(file_sentences(tmp_path))
