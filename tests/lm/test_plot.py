"""--plot: loss curves written at the end and on interrupt; one clear line without matplotlib."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from seqdl.cli import make_cli
from seqdl.lm import training
from seqdl.lm.checkpoint import Checkpoint

from .test_resume import _corpus

PNG = b"\x89PNG\r\n\x1a\n"
SMALL = ["--embedding", "8", "--hidden", "16", "--seq-len", "8", "--batch-size", "4", "--workers", "1", "--seed", "2",
         "-q"]


def _train(tmp_path, *args):
    corpus = _corpus(tmp_path / "corpus.txt")
    return CliRunner().invoke(make_cli(), ["train", str(corpus), "-o", str(tmp_path / "m.npz"), *SMALL, *args])


def test_plot_is_written_with_every_update(tmp_path):
    plot = tmp_path / "loss.png"
    result = _train(tmp_path, "--steps", "12", "--eval-every", "4", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    assert plot.read_bytes().startswith(PNG)
    history = Checkpoint(tmp_path / "m.ckpt.npz").header["history"]
    assert len(history["step_loss"]) == 12 and [s for s, _ in history["evaluations"]] == [4, 8, 12]
    import matplotlib.image

    assert matplotlib.image.imread(plot).ndim == 3


def test_plot_is_written_on_interrupt(tmp_path, monkeypatch):
    step = training.Trainer.step

    def interrupted(self, x, y, **kwargs):
        if self.steps == 5:
            raise KeyboardInterrupt
        return step(self, x, y, **kwargs)

    monkeypatch.setattr(training.Trainer, "step", interrupted)
    plot = tmp_path / "loss.png"
    result = _train(tmp_path, "--steps", "12", "--plot", str(plot))
    assert result.exit_code != 0
    assert plot.read_bytes().startswith(PNG)
    assert len(Checkpoint(tmp_path / "m.ckpt.npz").header["history"]["step_loss"]) == 5


def test_plot_bad_names_are_refused_before_training(tmp_path, assert_one_line_error):
    assert_one_line_error(_train(tmp_path, "--plot", str(tmp_path / "loss.svg")), "--plot", ".png")
    assert_one_line_error(_train(tmp_path, "--plot", str(tmp_path / "m.npz")), "m.npz")
    assert_one_line_error(_train(tmp_path, "--plot", str(tmp_path / "missing" / "loss.png")), "loss.png")
    assert not (tmp_path / "m.npz").exists()


def test_plot_without_matplotlib_is_one_line_before_training(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    code = ("import sys; sys.modules['matplotlib'] = None; from seqdl.cli import main; "
            f"sys.argv = ['seqdl', 'train', {str(corpus)!r}, '-o', {str(tmp_path / 'm.npz')!r}, '--plot', "
            f"{str(tmp_path / 'loss.png')!r}, '--steps', '2']; main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and 'pip install "seqdl[plot]"' in lines[0], proc.stderr
    assert not (tmp_path / "m.npz").exists() and not (tmp_path / "loss.png").exists()
