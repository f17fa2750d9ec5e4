"""``seqdl embed``: outputs gensim reads, progress on stderr, and one-line errors that leave no file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from seqdl import KeyedVectors
from seqdl.cli import make_cli
from seqdl.plugins import PluginHost

FAST = ["--dim", "16", "--min-count", "1", "--epochs", "2", "--workers", "1", "--sample", "0"]


@pytest.fixture
def cli():
    return make_cli(PluginHost())


@pytest.fixture
def runner():
    return CliRunner()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name != "corpus.txt" and not p.name.startswith("bad"))


def test_default_output_is_vectors_vec_in_the_current_folder(cli, runner, planted_file, monkeypatch):
    monkeypatch.chdir(planted_file.parent)
    result = runner.invoke(cli, ["embed", str(planted_file), *FAST])
    assert result.exit_code == 0, result.output
    kv = KeyedVectors.load_word2vec_format(planted_file.parent / "vectors.vec", binary=False)
    assert len(kv) == 52 and kv.vector_size == 16
    assert "words/s" in result.stderr and "loss" in result.stderr and "wrote 52 vectors" in result.stderr
    assert _leftovers(planted_file.parent) == ["vectors.vec"]


@pytest.mark.parametrize("name,extra,binary", [("v.bin", [], True), ("v.bin", ["--format", "text"], False),
                                              ("v.txt", ["--format", "binary"], True)])
def test_format_follows_the_suffix_unless_given_and_gensim_reads_it(cli, runner, planted_file, name, extra, binary):
    gensim_models = pytest.importorskip("gensim.models")
    out = planted_file.parent / name
    result = runner.invoke(cli, ["embed", str(planted_file), "-o", str(out), "--quiet", *FAST, *extra])
    assert result.exit_code == 0, result.output
    theirs = gensim_models.KeyedVectors.load_word2vec_format(str(out), binary=binary)
    ours = KeyedVectors.load_word2vec_format(out, binary=binary)
    assert list(theirs.index_to_key) == ours.index_to_key
    np.testing.assert_array_equal(theirs.vectors, ours.vectors)


def test_quiet_is_silent_and_json_summarises(cli, runner, planted_file):
    out = planted_file.parent / "v.vec"
    result = runner.invoke(cli, ["embed", str(planted_file), "-o", str(out), "--quiet", "--json", *FAST])
    assert result.exit_code == 0 and result.stderr == ""
    summary = json.loads(result.stdout)
    assert summary["output"] == str(out) and summary["words"] == 52 and summary["format"] == "text"
    assert len(summary["loss_history"]) == 2 and summary["words_per_second"] > 0


def test_options_reach_the_model(cli, runner, planted_file):
    out = planted_file.parent / "v.vec"
    args = ["embed", str(planted_file), "-o", str(out), "--quiet", "--arch", "cbow", "--loss", "sampled-softmax",
            "--negative", "8", "--max-vocab", "10", "--no-lowercase", *FAST]
    assert runner.invoke(cli, args).exit_code == 0
    kv = KeyedVectors.load_word2vec_format(out)
    assert len(kv) == 10 and kv.index_to_key[0] in {"the", "of", "and", "a"}


def test_same_seed_one_worker_writes_identical_files(cli, runner, planted_file):
    outputs = []
    for name in ("a.vec", "b.vec"):
        out = planted_file.parent / name
        assert runner.invoke(cli, ["embed", str(planted_file), "-o", str(out), "-q", "--seed", "9", *FAST]).exit_code == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("content,expected", [
    (None, "no such corpus file"),
    (b"", "the corpus is empty"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", "byte 7: binary data"),
    (b"caf\xe9 au lait\n", "byte 3: invalid UTF-8"),
    (b"just three words\n", "no word occurs at least 5 times"),
])
def test_bad_corpora_fail_with_one_line_and_leave_no_output(cli, runner, tmp_path, content, expected):
    corpus = tmp_path / "bad-corpus.txt"
    if content is not None:
        corpus.write_bytes(content)
    out = tmp_path / "out.vec"
    result = runner.invoke(cli, ["embed", str(corpus), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and str(corpus) in lines[0], result.stderr
    assert expected in lines[0]
    assert _leftovers(tmp_path) == []


def test_a_corpus_with_nothing_to_predict_warns_that_the_vectors_are_untrained(cli, runner, tmp_path):
    corpus = tmp_path / "words.txt"
    corpus.write_text("alpha\nbeta\nalpha\n")
    out = tmp_path / "v.vec"
    result = runner.invoke(cli, ["embed", str(corpus), "-o", str(out), "-q", "--min-count", "1", "--workers", "1"])
    assert result.exit_code == 0 and out.is_file()
    assert result.stderr.startswith("Warning: no word had a context word") and "untrained" in result.stderr


def test_missing_output_folder_is_reported_before_training(cli, runner, planted_file, assert_one_line_error):
    result = runner.invoke(cli, ["embed", str(planted_file), "-o", str(planted_file.parent / "no" / "v.vec")])
    assert_one_line_error(result, "no such folder", code=1)


def test_the_output_may_not_be_the_corpus(cli, runner, planted_file, assert_one_line_error):
    before = planted_file.read_bytes()
    result = runner.invoke(cli, ["embed", str(planted_file), "-o", str(planted_file), *FAST])
    assert_one_line_error(result, str(planted_file), code=1)
    assert planted_file.read_bytes() == before


def test_every_hyperparameter_is_an_option_with_the_dataclass_default(cli):
    from dataclasses import fields

    from seqdl.embeddings.params import FastTextParams

    options = {p.name: p for p in cli.commands["embed"].params}
    for spec in fields(FastTextParams):
        assert spec.name in options, spec.name
        assert options[spec.name].default == spec.default, spec.name
    assert "--arch" in options["model"].opts and options["model_alias"].hidden


@pytest.mark.parametrize("args,fragments", [
    (["--alpha", "nan"], ["--alpha", "nan"]),
    (["--sample", "inf"], ["--sample"]),
    (["--seed", "-1"], ["--seed"]),
    (["--workers", "0"], ["--workers"]),
    (["--arch", "glove"], ["--arch"]),
])
def test_bad_option_values_are_usage_errors(cli, runner, planted_file, args, fragments, assert_one_line_error):
    result = runner.invoke(cli, ["embed", str(planted_file), "-o", str(planted_file.parent / "v.vec"), *args])
    assert_one_line_error(result, *fragments, code=2)
    assert _leftovers(planted_file.parent) == []


def test_a_candidate_set_larger_than_the_vocabulary_is_refused_by_flag(cli, runner, planted_file,
                                                                      assert_one_line_error):
    result = runner.invoke(cli, ["embed", str(planted_file), "-o", str(planted_file.parent / "v.vec"), *FAST,
                                 "--loss", "sampled-softmax", "--negative", "10000000"])
    assert_one_line_error(result, "--negative", "52", code=1)
    assert _leftovers(planted_file.parent) == []


def test_a_dimension_that_cannot_fit_in_memory_is_refused_before_allocating(cli, runner, planted_file,
                                                                           assert_one_line_error):
    result = runner.invoke(cli, ["embed", str(planted_file), "-o", str(planted_file.parent / "v.vec"), *FAST,
                                 "--dim", "1000000000000"])
    assert_one_line_error(result, "would need", "memory", code=1)


def test_the_old_model_flag_still_chooses_the_architecture(cli, runner, planted_file):
    outs = []
    for flag in ("--arch", "--model"):
        out = planted_file.parent / f"{flag[2:]}.vec"
        result = runner.invoke(cli, ["embed", str(planted_file), "-o", str(out), "-q", flag, "cbow", *FAST])
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_end_to_end_in_a_subprocess(run_seqdl, planted_file):
    folder = planted_file.parent
    done = run_seqdl("embed", "corpus.txt", "-o", "v.bin", *FAST, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert KeyedVectors.load_word2vec_format(folder / "v.bin").vector_size == 16
    (folder / "bad.txt").write_bytes(b"ok\n\xff\n")
    failed = run_seqdl("embed", "bad.txt", cwd=folder)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.strip() == "Error: bad.txt, byte 3: invalid UTF-8 (invalid start byte)"
    assert not (folder / "vectors.vec").exists()


def test_sigterm_during_embed_leaves_no_temporary_file_or_folder(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    corpus = tmp_path / "corpus.txt"
    rng = __import__("numpy").random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    corpus.write_text("\n".join(" ".join(rng.choice(words, 20)) for _ in range(20000)) + "\n", encoding="utf-8")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "out" / "v.vec"
    out.parent.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "SEQDL_PROGRESS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "seqdl", "embed", str(corpus), "-o", str(out), "--epochs", "500",
                             "--workers", "1", "--min-count", "1"], stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while "epoch" not in proc.stderr.readline():  # training has started: the job cache exists
        assert time.monotonic() < deadline and proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert list(out.parent.iterdir()) == []
    assert list(scratch.iterdir()) == []
