"""The shared pieces every command uses: float options, output checks, JSON, progress, parameter errors, signals."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

from seqdl.errors import InputError, ParameterError, ResourceError
from seqdl.io import atomic_write, check_output, to_json
from seqdl.options import FiniteFloat, parse_key_values
from seqdl.progress import Progress
from seqdl.resources import check_memory


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_finite_float_refuses_non_finite(value):
    @click.command()
    @click.option("--x", type=FiniteFloat(min=0))
    def command(x):
        click.echo(x)

    result = CliRunner().invoke(command, ["--x", value])
    assert result.exit_code == 2
    assert "not a finite number" in result.output


def test_finite_float_keeps_bounds():
    @click.command()
    @click.option("--x", type=FiniteFloat(min=0, max=1, max_open=True))
    def command(x):
        click.echo(x)

    assert CliRunner().invoke(command, ["--x", "0.5"]).output == "0.5\n"
    assert CliRunner().invoke(command, ["--x", "1"]).exit_code == 2


def test_parse_key_values_types_and_reserved():
    assert parse_key_values(["a=1", "b-c=0.5", "d=true", "e=none", "f=word"]) == \
        {"a": 1, "b_c": 0.5, "d": True, "e": None, "f": "word"}
    with pytest.raises(click.BadParameter, match="use --method"):
        parse_key_values(["method=pca"], reserved={"method": "--method"})
    with pytest.raises(click.BadParameter, match="finite"):
        parse_key_values(["x=nan"])
    with pytest.raises(click.BadParameter, match="twice"):
        parse_key_values(["x=1", "x=2"])


def test_check_output_refuses_an_input(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("text\n")
    link = tmp_path / "link.txt"
    link.symlink_to(corpus)
    for out in (corpus, link, tmp_path / "." / "corpus.txt"):
        with pytest.raises(InputError, match="also an input"):
            check_output(out, inputs=[corpus])
    assert corpus.read_text() == "text\n"


def test_check_output_refuses_two_outputs_and_special_files(tmp_path):
    with pytest.raises(InputError, match="two outputs"):
        check_output(tmp_path / "a", others=[tmp_path / "a"])
    with pytest.raises(InputError, match="folder"):
        check_output(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        check_output(tmp_path / "missing" / "x.vec")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        check_output(fifo)
    assert check_output(os.devnull) == __import__("pathlib").Path(os.devnull)


def test_check_output_unwritable_folder(tmp_path, monkeypatch):
    # Root writes into read-only folders, so the refusal the OS would give is simulated at its source.
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(InputError, match=r"x\.vec: cannot write into the folder .*Permission denied"):
        check_output(tmp_path / "x.vec")


def test_atomic_write_through_symlink_and_to_device(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as fh:
        fh.write("new")
    assert link.is_symlink() and target.read_text() == "new"
    with atomic_write(os.devnull) as fh:  # written directly: the device node is never replaced
        fh.write("sink")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "target.txt"]


def test_atomic_write_names_the_users_path(tmp_path):
    with pytest.raises(InputError, match="nowhere"):
        with atomic_write(tmp_path / "nowhere" / "x.txt") as fh:
            fh.write("x")


def test_to_json_is_strict():
    import numpy as np

    text = to_json({"loss": float("nan"), "scores": np.array([1.0, np.inf]), "n": np.int64(3)})
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}")) == \
        {"loss": None, "scores": [1.0, None], "n": 3}


def test_progress_renders_rate_fields_and_eta():
    stream = io.StringIO()
    progress = Progress(total=100, unit="words", desc="embed", stream=stream, force=True)
    progress.started -= 1.0  # one second in, so the rate is known
    progress.update(50, loss=0.5)
    progress.write("a sample")
    progress.update(100)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert any("50%" in line and "words/s" in line and "loss 0.5" in line and "ETA" in line for line in lines)
    assert "a sample" in lines and lines[-1].startswith("embed  [" + "#" * Progress.WIDTH)


def test_progress_quiet_and_no_terminal():
    stream = io.StringIO()
    progress = Progress(total=10, stream=stream, quiet=True, force=True)
    progress.update(5)
    progress.write("message")
    assert stream.getvalue() == ""
    stream = io.StringIO()
    progress = Progress(total=10, stream=stream, force=False)  # not a terminal: no bar, messages still shown
    progress.update(5)
    progress.write("message")
    assert stream.getvalue() == "message\n"


def test_check_memory_refuses_what_cannot_fit():
    with pytest.raises(ResourceError, match="would need .* of memory"):
        check_memory(10**15, "a 10^12 x 1000 matrix")
    check_memory(1024, "a small array")


def test_parameter_error_names_the_flag():
    from seqdl.cli import SeqdlGroup

    @click.group(cls=SeqdlGroup)
    def cli():
        pass

    @cli.command()
    @click.option("--min-count", type=int)
    def fit(min_count):
        raise ParameterError("min_count", "leaves no word in the vocabulary")

    result = CliRunner().invoke(cli, ["fit", "--min-count", "9"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: --min-count: leaves no word in the vocabulary"
    assert str(ParameterError("min_count", "x")) == "min_count: x"


def test_sigterm_exits_143_and_cleans_up(tmp_path):
    script = (
        "import sys, time\n"
        "from seqdl.cli import main\n"
        "import click\n"
        "from seqdl.io import atomic_write\n"
        "import seqdl.cli\n"
        "@click.command('slow')\n"
        "def slow():\n"
        "    with atomic_write(sys.argv[1]) as fh:\n"
        "        fh.write('partial'); print('started', flush=True); time.sleep(60)\n"
        "seqdl.cli.core_commands = (lambda old: lambda: [*old(), slow])(seqdl.cli.core_commands)\n"
        "main(['slow'])\n"
    )
    out = tmp_path / "out.txt"
    proc = subprocess.Popen([sys.executable, "-c", script, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "SEQDL_LOAD_PLUGINS": ""})
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Stopped by SIGTERM" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
