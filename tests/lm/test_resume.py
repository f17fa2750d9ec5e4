"""A run stopped and resumed ends bit-identical to an uninterrupted one; bad checkpoints are one-line errors."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from seqdl.cli import make_cli
from seqdl.lm import LanguageModel
from seqdl.lm.checkpoint import Checkpoint
from seqdl.lm.pipeline import fit_corpus
from seqdl.lm.training import TrainConfig
from seqdl.plugins import PluginHost

SMALL = {"embedding_dim": 8, "hidden_size": 16, "num_layers": 2, "dropout": 0.2, "cell": "gru"}
CLI_SMALL = ["--embedding", "8", "--hidden", "16", "--layers", "2", "--dropout", "0.2", "--seq-len", "8", "--batch-size", "4",
             "--workers", "1", "--seed", "3", "--optimizer", "adamw", "--lr-schedule", "cosine", "--warmup", "3",
             "-q"]

CONSTANT = [*CLI_SMALL, "--lr-schedule", "constant"]


def _corpus(path, seed=0, lines=60):
    rng = np.random.default_rng(seed)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta"]
    path.write_text("\n".join(" ".join(rng.choice(words, 5)) for _ in range(lines)) + "\n", encoding="utf-8")
    return path


def _weights(model: LanguageModel) -> list[np.ndarray]:
    return [value.copy() for layer in model.layers for value in layer.params.values()]


class StopAt:
    """A progress reporter that presses Ctrl-C once the run reaches update ``step``."""

    def __init__(self, step):
        self.step = step

    def update(self, done, total=None, **fields):
        if done == self.step:
            raise KeyboardInterrupt

    def write(self, line):
        pass

    def close(self):
        pass


def _config(steps):
    return TrainConfig(seq_len=8, batch_size=4, lr=5e-3, steps=steps, workers=1, optimizer="adamw",
                       lr_schedule="cosine", warmup=3)


@pytest.mark.parametrize("stop", [7, 23])  # mid-epoch, and in the second epoch (an epoch is 15 windows here)
def test_interrupted_and_resumed_run_is_bit_identical(tmp_path, stop):
    corpus = _corpus(tmp_path / "corpus.txt", lines=20)
    full, _ = fit_corpus(corpus, tmp_path / "full.npz", model_options=SMALL, config=_config(30), seed=3)
    ckpt = tmp_path / "run.ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        fit_corpus(corpus, tmp_path / "part.npz", model_options=SMALL, config=_config(30), seed=3,
                   checkpoint=ckpt, progress=StopAt(stop))
    saved = Checkpoint(ckpt)
    assert saved.header["position"]["steps"] == stop
    resumed, history = fit_corpus(corpus, tmp_path / "part.npz", config=_config(30), resume=saved,
                                  checkpoint=ckpt)
    assert history.steps == 30
    for a, b in zip(_weights(full), _weights(resumed), strict=True):
        assert np.array_equal(a, b)
    # the model file written at the end is the same as well
    assert all(np.array_equal(a, b) for a, b in zip(_weights(LanguageModel.load(tmp_path / "full.npz")),
                                                    _weights(LanguageModel.load(tmp_path / "part.npz"))))


def _signal_during_update(update, where="optimizer"):
    """An on_ready hook that raises SIGINT while update number ``update`` is being applied (it is held until the
    update is complete), or, with ``where="validation"``, while the validation after that update runs."""

    def on_ready(trainer):
        if where == "optimizer":
            real = trainer.optimizer.step

            def step():
                real()
                if trainer.steps == update - 1:  # counted after the optimiser's step
                    signal.raise_signal(signal.SIGINT)

            trainer.optimizer.step = step
        else:
            real = trainer._validate

            def validate(*args):
                real(*args)
                if trainer.steps == update:
                    signal.raise_signal(signal.SIGINT)

            trainer._validate = validate

    return on_ready


@pytest.mark.parametrize(("update", "where"), [(7, "optimizer"), (15, "optimizer"), (15, "validation"),
                                               (23, "optimizer")])
def test_a_signal_during_an_update_or_the_epoch_end_resumes_bit_identically(tmp_path, update, where):
    """A signal that arrives while the optimiser writes the weights (held until the update is whole), or
    during the validation at the end of an epoch (15 windows), checkpoints a position that resumes exactly."""
    corpus = _corpus(tmp_path / "corpus.txt", lines=20)
    full, full_history = fit_corpus(corpus, tmp_path / "full.npz", model_options=SMALL, config=_config(30), seed=3)
    ckpt = tmp_path / "run.ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        fit_corpus(corpus, tmp_path / "part.npz", model_options=SMALL, config=_config(30), seed=3,
                   checkpoint=ckpt, on_ready=_signal_during_update(update, where))
    position = Checkpoint(ckpt).header["position"]
    assert position["steps"] == update
    assert (position["epoch"], position["batch"]) in {divmod(update, 15), (update // 15 - 1, 15)}
    resumed, history = fit_corpus(corpus, tmp_path / "part.npz", config=_config(30), resume=Checkpoint(ckpt))
    assert all(np.array_equal(a, b) for a, b in zip(_weights(full), _weights(resumed), strict=True))
    assert history.train_loss == full_history.train_loss
    assert history.step_loss == full_history.step_loss


class InterruptOnValidation:
    """A progress reporter that presses Ctrl-C while the validation at update ``step`` is being reported."""

    def __init__(self, step):
        self.step = step

    def update(self, done, total=None, **fields):
        pass

    def write(self, line):
        if line.startswith(f"step {self.step}:"):
            signal.raise_signal(signal.SIGINT)

    def close(self):
        pass


@pytest.mark.parametrize("where", ["evaluating", "reporting"])
def test_a_validation_cut_short_is_redone_and_one_recorded_is_kept(tmp_path, monkeypatch, where):
    """Ctrl-C while the mid-epoch validation at update 10 computes its loss (it is redone on resume), or while
    it is recorded, reported and its best model saved (held until that is done): the resumed run validates at
    the same updates, with the same losses and weights, as an uninterrupted one."""
    from seqdl.lm import training

    corpus = _corpus(tmp_path / "corpus.txt", lines=20)  # 15 windows an epoch
    config = lambda: TrainConfig(seq_len=8, batch_size=4, lr=5e-3, steps=30, workers=1, eval_every=5)  # noqa: E731
    full, full_history = fit_corpus(corpus, tmp_path / "full.npz", model_options=SMALL, config=config(), seed=3)
    ckpt, progress = tmp_path / "run.ckpt.npz", None
    if where == "evaluating":
        real, calls = training.evaluate, []

        def evaluate(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:  # the validation at update 10
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(training, "evaluate", evaluate)
    else:
        progress = InterruptOnValidation(10)
    with pytest.raises(KeyboardInterrupt):
        fit_corpus(corpus, tmp_path / "part.npz", model_options=SMALL, config=config(), seed=3, checkpoint=ckpt,
                   progress=progress)
    monkeypatch.undo()
    saved = Checkpoint(ckpt)
    assert saved.header["position"]["steps"] == 10
    # Update 10 improved on update 5, so its model is the best once its validation is recorded.
    assert full_history.val_loss[1] < full_history.val_loss[0]
    assert LanguageModel.load(tmp_path / "part.npz").meta["steps"] == (10 if where == "reporting" else 5)
    resumed, history = fit_corpus(corpus, tmp_path / "part.npz", config=config(), resume=saved)
    assert [s for s, _ in history.evaluations] == [s for s, _ in full_history.evaluations] == [5, 10, 15, 20, 25, 30]
    assert history.val_loss == full_history.val_loss
    assert history.best_step == full_history.best_step
    assert all(np.array_equal(a, b) for a, b in zip(_weights(full), _weights(resumed), strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(_weights(LanguageModel.load(tmp_path / "full.npz")),
                                                    _weights(LanguageModel.load(tmp_path / "part.npz"))))


def test_a_resumed_run_differs_if_the_state_were_not_restored(tmp_path):
    """Guard for the test above: resuming from weights alone (fresh optimiser) does not give the same weights."""
    corpus = _corpus(tmp_path / "corpus.txt")
    full, _ = fit_corpus(corpus, tmp_path / "full.npz", model_options=SMALL, config=_config(20), seed=3)
    ckpt = tmp_path / "run.ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        fit_corpus(corpus, tmp_path / "part.npz", model_options=SMALL, config=_config(20), seed=3,
                   checkpoint=ckpt, progress=StopAt(10))
    saved = Checkpoint(ckpt)
    saved.header["optimizer"]["slots"] = {}  # forget Adam's moments
    resumed, _ = fit_corpus(corpus, tmp_path / "part.npz", config=_config(20), resume=saved)
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(full), _weights(resumed)))


def _cli(args):
    return CliRunner().invoke(make_cli(PluginHost()), args)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cli_stop_then_resume_matches_one_run(tmp_path):
    """A run of 9 steps extended to 25 equals a run of 25 (with a schedule that does not depend on the length)."""
    corpus = _corpus(tmp_path / "corpus.txt")
    one = _cli(["train", str(corpus), "-o", str(tmp_path / "one.npz"), "--steps", "25", *CONSTANT])
    assert one.exit_code == 0, one.output
    first = _cli(["train", str(corpus), "-o", str(tmp_path / "two.npz"), "--steps", "9", *CONSTANT])
    assert first.exit_code == 0, first.output
    ckpt = tmp_path / "two.ckpt.npz"
    # architecture and schedule come from the checkpoint; --steps counts from the run's start
    second = _cli(["train", str(corpus), "-o", str(tmp_path / "two.npz"), "--resume", str(ckpt), "--steps", "25",
                   "--workers", "1", "-q"])
    assert second.exit_code == 0, second.output
    a, b = LanguageModel.load(tmp_path / "one.npz"), LanguageModel.load(tmp_path / "two.npz")
    assert all(np.array_equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))


@pytest.fixture
def stopped_run(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    result = _cli(["train", str(corpus), "-o", str(tmp_path / "m.npz"), "--steps", "4", *CLI_SMALL])
    assert result.exit_code == 0, result.output
    return tmp_path, corpus, tmp_path / "m.ckpt.npz"


def test_resume_refuses_another_architecture(stopped_run, assert_one_line_error):
    folder, corpus, ckpt = stopped_run
    before = _digest(folder / "m.npz")
    result = _cli(["train", str(corpus), "-o", str(folder / "m.npz"), "--resume", str(ckpt), "--hidden", "32",
                   "--steps", "8"])
    assert_one_line_error(result, "--hidden 32 does not match the checkpoint", "--hidden 16")
    result = _cli(["train", str(corpus), "-o", str(folder / "m.npz"), "--resume", str(ckpt), "--batch-size", "2",
                   "--steps", "8"])
    assert_one_line_error(result, "--batch-size 2 does not match")
    assert _digest(folder / "m.npz") == before


def test_resume_refuses_another_corpus(stopped_run, assert_one_line_error):
    folder, _, ckpt = stopped_run
    other = _corpus(folder / "other.txt", seed=1)
    before = _digest(folder / "m.npz"), _digest(ckpt)
    result = _cli(["train", str(other), "-o", str(folder / "m.npz"), "--resume", str(ckpt), "--steps", "8"])
    assert_one_line_error(result, "other.txt", "not the corpus the checkpoint")
    assert (_digest(folder / "m.npz"), _digest(ckpt)) == before


@pytest.mark.parametrize("damage", ["truncate", "model-file", "text"])
def test_resume_refuses_a_damaged_checkpoint(stopped_run, assert_one_line_error, damage):
    folder, corpus, ckpt = stopped_run
    bad = folder / "bad.ckpt.npz"
    if damage == "truncate":
        bad.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    elif damage == "model-file":
        bad.write_bytes((folder / "m.npz").read_bytes())
    else:
        bad.write_text("hello\n")
    before = _digest(folder / "m.npz"), _digest(bad)
    result = _cli(["train", str(corpus), "-o", str(folder / "m.npz"), "--resume", str(bad), "--steps", "8"])
    assert_one_line_error(result, "bad.ckpt.npz")
    assert (_digest(folder / "m.npz"), _digest(bad)) == before


def test_resume_past_the_end_and_warmup_beyond_the_run(stopped_run, assert_one_line_error):
    folder, corpus, ckpt = stopped_run
    result = _cli(["train", str(corpus), "-o", str(folder / "m.npz"), "--resume", str(ckpt), "--steps", "4"])
    assert_one_line_error(result, "--steps", "already at update 4")
    result = _cli(["train", str(corpus), "-o", str(folder / "x.npz"), "--steps", "5", "--warmup", "5"])
    assert_one_line_error(result, "--warmup", "only 5")


def test_sigterm_writes_a_checkpoint_that_resumes_bit_identically(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt", lines=400)
    ckpt = tmp_path / "m.ckpt.npz"
    env = dict(os.environ, SEQDL_PROGRESS="1")
    proc = subprocess.Popen([sys.executable, "-m", "seqdl", "train", str(corpus), "-o", str(tmp_path / "m.npz"),
                             "--steps", "1000000", *(a for a in CONSTANT if a != "-q")],
                            stderr=subprocess.PIPE, text=True, env=env)
    # wait for the first update to be reported (the progress line names the step count)
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline and "steps" not in seen:
        seen += proc.stderr.read(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "--resume" in err and "Traceback" not in err
    steps = Checkpoint(ckpt).header["position"]["steps"]
    assert steps >= 1
    result = _cli(["train", str(corpus), "-o", str(tmp_path / "m.npz"), "--resume", str(ckpt),
                   "--steps", str(steps + 5), "--workers", "1", "-q"])
    assert result.exit_code == 0, result.output
    one = _cli(["train", str(corpus), "-o", str(tmp_path / "one.npz"), "--steps", str(steps + 5), *CONSTANT])
    assert one.exit_code == 0, one.output
    a, b = LanguageModel.load(tmp_path / "one.npz"), LanguageModel.load(tmp_path / "m.npz")
    assert all(np.array_equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))
