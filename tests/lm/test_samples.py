"""--sample-every: samples appear through the progress reporter and leave the run (and its resume) untouched."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from seqdl.cli import make_cli
from seqdl.lm.checkpoint import Checkpoint
from seqdl.lm.pipeline import fit_corpus
from seqdl.lm.training import TrainConfig

from .test_resume import SMALL, _corpus, _weights


class Recorder:
    """A progress reporter keeping the messages; presses Ctrl-C at update ``stop`` if given."""

    def __init__(self, stop=None):
        self.stop, self.lines = stop, []

    def update(self, done, total=None, **fields):
        if done == self.stop:
            raise KeyboardInterrupt

    def write(self, line):
        self.lines.append(line)

    def close(self):
        pass


def _config(steps, sample_every=None):
    return TrainConfig(seq_len=8, batch_size=4, lr=5e-3, steps=steps, workers=1, optimizer="adamw",
                       lr_schedule="cosine", warmup=3, sample_every=sample_every, sample_seed=11)


def _samples(lines):
    return {line.split(":")[0]: line for line in lines if line.startswith("sample at step")}


def test_samples_do_not_change_the_run_and_a_resume_is_bit_identical(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    plain, _ = fit_corpus(corpus, tmp_path / "plain.npz", model_options=SMALL, config=_config(20), seed=3)
    full_log = Recorder()
    full, _ = fit_corpus(corpus, tmp_path / "full.npz", model_options=SMALL, config=_config(20, 3), seed=3,
                         progress=full_log)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(plain), _weights(full), strict=True))
    samples = _samples(full_log.lines)
    assert sorted(samples) == sorted(f"sample at step {s}" for s in (3, 6, 9, 12, 15, 18))
    texts = [line.split(":\n", 1)[1] for line in samples.values()]
    assert all(text.strip() for text in texts) and len(set(texts)) > 1

    ckpt = tmp_path / "run.ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        fit_corpus(corpus, tmp_path / "part.npz", model_options=SMALL, config=_config(20, 3), seed=3,
                   checkpoint=ckpt, progress=Recorder(stop=8))
    saved = Checkpoint(ckpt)
    assert saved.options["sample_every"] == 3 and saved.options["sample_seed"] == 11
    resumed_log = Recorder()
    resumed, _ = fit_corpus(corpus, tmp_path / "part.npz", config=_config(20, 3), resume=saved, progress=resumed_log)
    assert all(np.array_equal(a, b) for a, b in zip(_weights(full), _weights(resumed), strict=True))
    # the samples after the resume are the ones the uninterrupted run showed
    after = _samples(resumed_log.lines)
    assert sorted(after) == sorted(f"sample at step {s}" for s in (9, 12, 15, 18))
    assert all(after[k] == samples[k] for k in after)


def test_cli_shows_samples_on_stderr(tmp_path):
    corpus = _corpus(tmp_path / "corpus.txt")
    args = ["train", str(corpus), "-o", str(tmp_path / "m.npz"), "--steps", "8", "--sample-every", "4",
            "--embedding", "8", "--hidden", "16", "--seq-len", "8", "--batch-size", "4", "--workers", "1",
            "--seed", "5", "--level", "word"]
    runs = [CliRunner().invoke(make_cli(), args) for _ in range(2)]
    for result in runs:
        assert result.exit_code == 0, result.output
        assert "sample at step 4:" in result.stderr and "sample at step 8:" in result.stderr
    assert runs[0].stderr.split("wrote")[0] == runs[1].stderr.split("wrote")[0]  # seeded by --seed
    quiet = CliRunner().invoke(make_cli(), [*args, "-q"])
    assert quiet.exit_code == 0 and "sample" not in quiet.stderr
