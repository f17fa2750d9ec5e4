"""seqdl train's option checks: one line naming the flag, before any work."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from seqdl.cli import make_cli
from seqdl.plugins import PluginHost


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat\n" * 20, encoding="utf-8")
    return path


def _train(*args):
    return CliRunner().invoke(make_cli(PluginHost()), ["train", *map(str, args)])


@pytest.mark.parametrize("args,fragments", [
    (["--dropout", "1"], ["--dropout", "1"]),
    (["--dropout", "nan"], ["--dropout", "not a finite number"]),
    (["--lr", "inf"], ["--lr", "not a finite number"]),
    (["--weight-decay", "-1"], ["--weight-decay"]),
    (["--tie-weights", "--embedding", "8", "--hidden", "16"], ["--tie-weights", "--embedding equal to --hidden"]),
    (["--steps", "10", "--warmup", "10"], ["--warmup", "only 10"]),
    (["--batch-size", "1000"], ["too few tokens", "use a smaller --batch-size"]),
    (["--hidden", "10000000"], ["a language model of", "would need", "of memory"]),  # not the OOM killer
    (["--embedding", "100000000"], ["a language model of", "would need", "of memory"]),
])
def test_bad_options_are_one_line(corpus, tmp_path, assert_one_line_error, args, fragments):
    result = _train(corpus, "-o", tmp_path / "m.npz", "--hidden", "8", "--embedding", "8", *args)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "m.npz").exists()


def test_no_batch_size_advice_at_batch_size_one():
    import numpy as np

    from seqdl.errors import CorpusError
    from seqdl.lm.training import TrainConfig, plan

    with pytest.raises(CorpusError) as error:
        plan(np.zeros(1, dtype=np.int32), TrainConfig(batch_size=1))
    assert "too few tokens" in str(error.value) and "batch-size" not in str(error.value)


def test_output_checked_before_work(corpus, tmp_path, assert_one_line_error):
    assert_one_line_error(_train(corpus, "-o", corpus), "is also an input")
    assert_one_line_error(_train(corpus, "-o", tmp_path / "nofolder" / "m.npz"), "no such folder")


def test_optimizer_and_schedule_options_train(corpus, tmp_path):
    result = _train(corpus, "-o", tmp_path / "m.npz", "--hidden", "8", "--embedding", "8", "--steps", "6", "--batch-size", "4", "--seq-len", "8",
                    "--optimizer", "rmsprop", "--weight-decay", "0.01", "--lr-schedule", "step", "--warmup", "2",
                    "--eval-every", "2", "--json", "-q", "--workers", "1")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["steps"] == 6 and len(summary["val_loss"]) == 3
