"""Hostile inputs to ``seqdl corpus``: outputs that collide, special files, non-finite scale, signals mid-write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest



def test_questions_named_as_the_corpus_output_is_refused(tmp_path, assert_one_line_error, run_corpus):
    out = tmp_path / "demo.txt"
    out.write_text("keep me\n")
    result = run_corpus(["corpus", "demo", "-o", str(out), "--questions", str(out), "--scale", "0.01"])
    assert_one_line_error(result, "is named as two outputs", code=1)
    assert out.read_text() == "keep me\n"


def test_questions_through_a_link_to_the_output_is_refused(tmp_path, assert_one_line_error, run_corpus):
    out = tmp_path / "demo.txt"
    out.write_text("keep me\n")
    link = tmp_path / "q.txt"
    link.symlink_to(out)
    result = run_corpus(["corpus", "demo", "-o", str(out), "--questions", str(link), "--scale", "0.01"])
    assert_one_line_error(result, str(link), "two outputs", code=1)
    assert out.read_text() == "keep me\n"


@pytest.mark.parametrize("scale", ["nan", "inf", "-inf", "0", "1e9"])
def test_scale_must_be_a_finite_number_in_range(tmp_path, assert_one_line_error, scale, run_corpus):
    result = run_corpus(["corpus", "demo", "-o", str(tmp_path / "d.txt"), "--scale", scale])
    assert_one_line_error(result, "--scale", code=2)
    assert not (tmp_path / "d.txt").exists()


def test_missing_folder_is_one_line_before_any_work(tmp_path, assert_one_line_error, run_corpus):
    out = tmp_path / "no" / "demo.txt"
    result = run_corpus(["corpus", "demo", "-o", str(out), "--scale", "0.01"])
    assert_one_line_error(result, f"{out}: cannot write: no such folder", code=1)
    questions = tmp_path / "no" / "q.txt"
    result = run_corpus(["corpus", "demo", "-o", str(tmp_path / "d.txt"), "--questions", str(questions), "--scale", "0.01"])
    assert_one_line_error(result, f"{questions}: cannot write: no such folder", code=1)
    assert not (tmp_path / "d.txt").exists(), "the corpus is not written when the questions cannot be"


def test_dev_null_is_a_sink_and_stays_a_device(tmp_path, run_corpus):
    result = run_corpus(["corpus", "demo", "-o", os.devnull, "--scale", "0.01", "-q"])
    assert result.exit_code == 0, result.output
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_symlink_output_updates_its_target(tmp_path, run_corpus):
    target = tmp_path / "real.txt"
    target.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    result = run_corpus(["corpus", "demo", "-o", str(link), "--scale", "0.01", "-q"])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and len(target.read_text().splitlines()) > 10


def test_fifo_output_is_refused(tmp_path, assert_one_line_error, run_corpus):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    result = run_corpus(["corpus", "demo", "-o", str(fifo), "--scale", "0.01"])
    assert_one_line_error(result, "not a regular file", code=1)


def test_progress_is_drawn_when_asked(tmp_path, run_corpus):
    result = run_corpus(["corpus", "demo", "-o", str(tmp_path / "d.txt"), "--scale", "0.1"], env={"SEQDL_PROGRESS": "1"})
    assert result.exit_code == 0, result.output
    assert "demo  [" in result.stderr and "100%" in result.stderr


def test_list_json_is_strict(run_corpus):
    result = run_corpus(["corpus", "list", "--json"])
    assert result.exit_code == 0
    entries = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"not strict JSON: {name}"))
    assert {"text8", "tiny-shakespeare"} <= {e["name"] for e in entries}


@pytest.mark.parametrize("signum, status, message", [(signal.SIGTERM, 128 + signal.SIGTERM, "Stopped by SIGTERM."),
                                                     (signal.SIGINT, 130, "Interrupted.")])
def test_signal_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, signum, status, message):
    out = tmp_path / "demo.txt"
    out.write_text("previous corpus\n")
    process = subprocess.Popen([sys.executable, "-m", "seqdl", "corpus", "demo", "-o", str(out), "--scale", "10",
                                "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={k: v for k, v in os.environ.items() if not k.startswith("SEQDL_")})
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):  # writing has begun
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the temporary file never appeared"
            time.sleep(0.02)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, stderr
    assert stderr.strip() == message
    assert out.read_text() == "previous corpus\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.txt"]


@pytest.mark.parametrize("factor", [float("nan"), float("inf"), 0, -1.0, "2"])
def test_demo_size_scale_names_its_parameter(factor):
    from seqdl.errors import ParameterError
    from seqdl_corpora.demo import DemoSize

    with pytest.raises(ParameterError) as info:
        DemoSize().scaled(factor)
    assert info.value.param == "factor"
