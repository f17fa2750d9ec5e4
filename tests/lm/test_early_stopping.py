"""--patience stops when validation stops improving, and the saved model is the best one."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl.lm import LanguageModel
from seqdl.lm.pipeline import fit_corpus, load_corpus
from seqdl.lm.training import TrainConfig, evaluate


def test_patience_stops_and_keeps_the_best_model(tmp_path):
    # Training teaches "a" -> "b" -> "a"; the held-out tail is all "b": validation soon gets worse.
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("ab" * 400 + "b" * 90, encoding="utf-8")
    config = TrainConfig(seq_len=8, batch_size=4, lr=2e-2, steps=400, workers=1, eval_every=2, patience=3)
    model, history = fit_corpus(corpus, tmp_path / "m.npz", model_options={"embedding_dim": 4, "hidden_size": 8},
                                config=config, seed=0)
    assert history.stopped_early and history.steps < 400
    assert history.stale_evaluations == 3
    assert history.best_val_loss == min(history.val_loss) < history.val_loss[-1]
    saved = LanguageModel.load(tmp_path / "m.npz")
    assert saved.meta["steps"] == history.best_step
    val = load_corpus(corpus, tmp_path, "char", val_fraction=0.1, vocab=saved.vocab).val_ids
    assert evaluate(saved, val, 8, 4) == pytest.approx(history.best_val_loss, rel=1e-6)
    assert evaluate(model, val, 8, 4) > history.best_val_loss


def test_patience_must_be_positive():
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(patience=0)
