"""Library code reports progress through seqdl.progress instead of printing: Sequential.fit."""

from __future__ import annotations

import numpy as np

from seqdl import nn


def _blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0, 0], [4, 4, 0, 0], [0, 0, 4, 4]], dtype=np.float32)
    y = rng.integers(0, 3, size=n)
    return (centres[y] + rng.normal(scale=0.5, size=(n, 4))).astype(np.float32), y


class Recorder:
    """A ProgressReporter that records what it is told."""

    def __init__(self):
        self.events = []

    def update(self, done, total=None, **fields):
        self.events.append(("update", done, total, sorted(fields)))

    def write(self, line):
        self.events.append(("write", line))

    def close(self):
        self.events.append(("close",))


def test_fit_reports_to_a_given_progress_reporter(capsys):
    X, y = _blobs()
    model = nn.Sequential([nn.Dense(4, 8, rng=np.random.default_rng(0)), nn.ReLU(),
                           nn.Dense(8, 3, rng=np.random.default_rng(1))])
    recorder = Recorder()
    model.fit(X, y, epochs=3, batch_size=20, seed=0, progress=recorder)
    assert capsys.readouterr().err == ""  # a given reporter replaces the stderr display
    updates = [e for e in recorder.events if e[0] == "update"]
    assert [(done, total) for _, done, total, _ in updates] == [(1, 3), (2, 3), (3, 3)]
    assert "loss" in updates[0][3] and "accuracy" in updates[0][3]
    assert [e[1][:9] for e in recorder.events if e[0] == "write"] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert ("close",) not in recorder.events  # the caller owns its reporter


def test_fit_without_a_reporter_shows_epochs_on_stderr_unless_not_verbose(capsys):
    X, y = _blobs()
    model = nn.Sequential([nn.Dense(4, 3, rng=np.random.default_rng(0))])
    model.fit(X, y, epochs=2, batch_size=20, seed=0)
    assert [line[:9] for line in capsys.readouterr().err.splitlines()] == ["epoch 1/2", "epoch 2/2"]
    model.fit(X, y, epochs=2, batch_size=20, seed=0, verbose=False)
    assert capsys.readouterr().err == ""
