"""Training that continues: --save-model / --init, Word2Vec.update (gensim's build_vocab(update=True)), callbacks."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from seqdl import FastText, Word2Vec, load_vectors
from seqdl.cli import make_cli
from seqdl.plugins import PluginHost

from .conftest import planted_sentences

SMALL = dict(dim=16, min_count=1, epochs=3, seed=3, sample=0, workers=1)


def _new_topic(n=300, seed=5):
    """Sentences over words no planted sentence has (``n9w0``..``n9w7``), plus the old filler words."""
    rng = np.random.default_rng(seed)
    return [[f"n9w{i}" if rng.random() < 0.8 else "the" for i in rng.integers(8, size=10)] for _ in range(n)]


@pytest.mark.parametrize("cls", [Word2Vec, FastText])
def test_update_adds_new_words_keeps_the_old_and_learns_the_new(cls, tmp_path):
    extra = {"bucket": 2000} if cls is FastText else {}
    model = cls(**SMALL, **extra).train(planted_sentences())
    model.save(tmp_path / "m.npz")
    old_words = list(model.wv.index_to_key)
    old_counts = model.wv.counts.copy()
    loaded = cls.load(tmp_path / "m.npz")
    untouched = loaded.syn0[loaded.wv.key_to_index["t0w0"]].copy()
    loaded.update(_new_topic())
    wv = loaded.wv
    assert wv.index_to_key[: len(old_words)] == old_words           # old words keep their rows
    assert sorted(wv.index_to_key[len(old_words):]) == [f"n9w{i}" for i in range(8)]
    the = old_words.index("the")
    assert wv.counts[the] > old_counts[the] and wv.counts[0 if the else 1] == old_counts[0 if the else 1]
    if cls is Word2Vec:  # a word absent from the new text keeps its input row exactly
        np.testing.assert_array_equal(loaded.syn0[wv.key_to_index["t0w0"]], untouched)
    same = np.mean([wv.similarity("n9w0", f"n9w{i}") for i in range(1, 8)])
    other = np.mean([wv.similarity("n9w0", f"t{t}w1") for t in range(6)])
    assert same > other + 0.2


def test_callbacks_run_at_each_epoch_with_current_vectors():
    seen = []

    class Recorder:
        def on_epoch_end(self, model):
            seen.append((model.epoch, len(model.loss_history), model.wv["t1w1"].copy()))

        def on_train_end(self, model):
            seen.append("end")

    model = Word2Vec(**SMALL).train(planted_sentences(), callbacks=[Recorder()])
    assert [s[:2] for s in seen[:-1]] == [(1, 1), (2, 2), (3, 3)] and seen[-1] == "end"
    assert not np.array_equal(seen[0][2], seen[1][2])
    np.testing.assert_array_equal(seen[2][2], model.wv["t1w1"])


@pytest.fixture
def cli():
    return make_cli(PluginHost())


FAST = ["--dim", "16", "--min-count", "1", "--epochs", "2", "--workers", "1", "--sample", "0", "-q"]


def _write(path, sentences):
    path.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    return path


def test_embed_init_continues_a_saved_model_on_new_text(cli, planted_file, tmp_path):
    more = _write(tmp_path / "more.txt", _new_topic())
    first = CliRunner().invoke(cli, ["embed", str(planted_file), "-o", str(tmp_path / "a.vec"), "--save-model",
                                     str(tmp_path / "a.npz"), *FAST])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(cli, ["embed", str(more), "--init", str(tmp_path / "a.npz"), "-o",
                                      str(tmp_path / "b.vec"), "--save-model", str(tmp_path / "b.npz"), *FAST,
                                      "--epochs", "3"])
    assert second.exit_code == 0, second.output
    before, after = load_vectors(tmp_path / "a.vec"), load_vectors(tmp_path / "b.vec")
    assert after.index_to_key[: len(before)] == before.index_to_key and len(after) == len(before) + 8
    assert Word2Vec.load(tmp_path / "b.npz").params.epochs == 3


@pytest.mark.parametrize("extra,fragments", [
    (["--dim", "32"], ["--dim 16", "not 32"]),
    (["--arch", "cbow"], ["--arch skipgram"]),
    (["--subwords"], ["--subwords", "plain word2vec"]),
])
def test_init_with_a_model_of_another_shape_fails_in_one_line(cli, planted_file, tmp_path, extra, fragments,
                                                              assert_one_line_error):
    assert CliRunner().invoke(cli, ["embed", str(planted_file), "-o", str(tmp_path / "a.vec"), "--save-model",
                                    str(tmp_path / "a.npz"), *FAST]).exit_code == 0
    out = tmp_path / "b.vec"
    result = CliRunner().invoke(cli, ["embed", str(planted_file), "--init", str(tmp_path / "a.npz"), "-o", str(out),
                                      *FAST, *extra])
    assert_one_line_error(result, *fragments, code=1)
    assert not out.exists()


def test_init_with_vectors_instead_of_a_model_fails_in_one_line(cli, planted_file, tmp_path, assert_one_line_error):
    from seqdl import KeyedVectors

    KeyedVectors(["a"], np.zeros((1, 4), dtype=np.float32)).save(tmp_path / "kv.npz")
    result = CliRunner().invoke(cli, ["embed", str(planted_file), "--init", str(tmp_path / "kv.npz"), "-o",
                                      str(tmp_path / "b.vec"), *FAST])
    assert_one_line_error(result, "--init needs a model", str(tmp_path / "kv.npz"), code=1)
