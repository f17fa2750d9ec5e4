"""Hostile inputs to ``seqdl project`` and the projections: degenerate vectors, outputs that are inputs, links."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import seqdl
from seqdl.cli import make_cli
from seqdl.errors import InputError, ParameterError


def run(*args: str):
    return CliRunner().invoke(make_cli(), list(args))


@pytest.mark.parametrize("method", ["tsne", "pca"])
@pytest.mark.parametrize("fill, what", [(0.0, "all zeros"), (0.25, "all equal")])
def test_degenerate_vectors_are_refused_before_scikit_learn(method, fill, what):
    # scikit-learn's t-SNE dies with a segmentation fault on these: the check must come first.
    options = {"perplexity": 5} if method == "tsne" else {}
    with pytest.raises(InputError, match=f"they are {what}"):
        seqdl.project(np.full((20, 6), fill, dtype=np.float32), method=method, **options)


def test_degenerate_vectors_file_is_one_line(tmp_path, assert_one_line_error):
    vectors = tmp_path / "flat.vec"
    kv = seqdl.KeyedVectors([f"w{i}" for i in range(20)], np.zeros((20, 4), dtype=np.float32))
    kv.save_word2vec_format(vectors)
    out = tmp_path / "map.csv"
    result = run("project", "--vectors", str(vectors), "--perplexity", "5", "-o", str(out))
    assert_one_line_error(result, "t-SNE cannot map these 20 vectors: they are all zeros", code=1)
    assert not out.exists()


def test_one_distinct_row_among_equal_ones_is_still_mapped():
    vectors = np.ones((20, 5))
    vectors[0, 0] = 2.0
    assert seqdl.project(vectors, method="pca").shape == (20, 2)


def test_projection_errors_name_the_parameter(clusters):
    with pytest.raises(ParameterError) as info:
        seqdl.project(clusters[1], max_iter=10)
    assert info.value.param == "max_iter"


def test_output_that_is_the_vectors_file_is_refused(vectors_file, tmp_path, assert_one_line_error):
    alias = tmp_path / "vectors.csv"
    alias.symlink_to(vectors_file)  # a .csv name for the same file, so the suffix check passes
    before = vectors_file.read_bytes()
    result = run("project", "--vectors", str(alias), "--method", "pca", "-o", str(alias))
    assert_one_line_error(result, "is also an input", code=1)
    assert vectors_file.read_bytes() == before


def test_output_that_is_the_words_file_is_refused(vectors_file, tmp_path, assert_one_line_error):
    words = tmp_path / "words.csv"
    words.write_text("ant0 ant1 bee0\n", encoding="utf-8")
    result = run("project", "--vectors", str(vectors_file), "--words-file", str(words), "--method", "pca",
                 "-o", str(words))
    assert_one_line_error(result, "is also an input", code=1)
    assert words.read_text(encoding="utf-8") == "ant0 ant1 bee0\n"


def test_symlink_output_is_written_through(vectors_file, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    result = run("project", "--vectors", str(vectors_file), "--method", "pca", "--limit", "5", "-q", "-o", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    with open(target, newline="", encoding="utf-8") as fh:
        assert len(list(csv.reader(fh))) == 6


def test_unwritable_folder_fails_before_the_work(vectors_file, tmp_path, assert_one_line_error):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    if os.geteuid() == 0:  # root writes into read-only folders, not into /proc
        folder = Path("/proc")
    try:
        result = run("project", "--vectors", str(vectors_file), "-o", str(folder / "map.csv"))
        assert_one_line_error(result, "cannot write into the folder", code=1)
        assert "projecting" not in result.output
    finally:
        (tmp_path / "locked").chmod(0o700)


def test_top_is_a_hidden_alias_of_limit(vectors_file, tmp_path):
    out = tmp_path / "m.csv"
    result = run("project", "--vectors", str(vectors_file), "--method", "pca", "--top", "7", "-q", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 8
    help_text = run("project", "--help").output
    assert "--limit" in help_text and "--top" not in help_text


def test_huge_limit_means_every_word(vectors_file, tmp_path, kv):
    out = tmp_path / "all.csv"
    result = run("project", "--vectors", str(vectors_file), "--method", "pca", "--limit", str(10**12), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(kv) + 1


def test_a_bad_value_given_with_O_names_the_O_option(vectors_file, tmp_path, assert_one_line_error):
    result = run("project", "--vectors", str(vectors_file), "-O", "init=spectral", "-o", str(tmp_path / "m.csv"))
    assert_one_line_error(result, "-O init: unknown t-SNE init 'spectral' (choose from pca, random)", code=1)
