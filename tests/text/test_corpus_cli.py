"""Corpus arguments on the command line: standard input, folders, several files, UTF-16, output checks."""

from __future__ import annotations

import gzip
import tempfile

from click.testing import CliRunner

from seqdl.cli import make_cli

LINES = "the king sat on the throne\nthe queen sat on the throne\n" * 30
SMALL = ["--dim", "8", "--epochs", "1", "--min-count", "1", "--workers", "1", "-q"]


def _embed(*args: str, input: bytes | None = None):
    return CliRunner().invoke(make_cli(), ["embed", *args], input=input)


def test_dash_reads_standard_input_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "out.vec"
    result = _embed("-", "-o", str(out), *SMALL, input=gzip.compress(LINES.encode()))
    assert result.exit_code == 0, result.output
    assert {line.split()[0] for line in out.read_text().splitlines()[1:]} == {"the", "king", "queen", "sat",
                                                                                "on", "throne"}
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_folder_and_a_file_together_are_one_corpus(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.txt").write_text(LINES)
    (folder / "b.txt.gz").write_bytes(gzip.compress(b"a lonely unicorn\n" * 3))
    (tmp_path / "c.txt").write_text("zebra crossing\n" * 2)
    out = tmp_path / "out.vec"
    result = _embed(str(folder), str(tmp_path / "c.txt"), "-o", str(out), *SMALL)
    assert result.exit_code == 0, result.output
    words = {line.split()[0] for line in out.read_text().splitlines()[1:]}
    assert {"king", "unicorn", "zebra"} <= words


def test_utf16_corpus_gets_a_hint_to_re_encode(tmp_path, assert_one_line_error):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(LINES.encode("utf-16"))
    result = _embed(str(corpus), "-o", str(tmp_path / "o.vec"), *SMALL)
    assert_one_line_error(result, str(corpus), "UTF-16", "re-encode")


def test_an_output_inside_a_corpus_folder_that_is_a_corpus_file_is_refused(tmp_path, assert_one_line_error):
    (tmp_path / "a.txt").write_text(LINES)
    before = (tmp_path / "a.txt").read_bytes()
    result = _embed(str(tmp_path), "-o", str(tmp_path / "a.txt"), *SMALL)
    assert_one_line_error(result, "is also an input")
    assert (tmp_path / "a.txt").read_bytes() == before


def test_max_vocab_memory_bounds_the_words_counted(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(LINES + "".join(f"rare{i} the king\n" for i in range(200)))
    out = tmp_path / "out.vec"
    result = _embed(str(corpus), "-o", str(out), *SMALL, "--max-vocab-memory", "8")
    assert result.exit_code == 0, result.output
    words = [line.split()[0] for line in out.read_text().splitlines()[1:]]
    assert len(words) <= 8 and {"the", "king", "queen", "sat", "on", "throne"} <= set(words)
    assert sum(w.startswith("rare") for w in words) <= 2  # only those seen since the last pruning
