"""``seqdl train`` then ``seqdl generate``: defaults that chain, decoders by name, one-line errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from seqdl.cli import make_cli
from seqdl.commands.generate import decoder_choice
from seqdl.plugins import PluginHost


def _host() -> PluginHost:
    """A host with the built-in decoder plugins, registered as their entry points would."""
    import seqdl_beam
    import seqdl_sampling

    host = PluginHost()
    host.register(seqdl_sampling, "sampling")
    host.register(seqdl_beam, "beam")
    return host

TINY = ["--hidden", "24", "--embedding", "8", "--seq-len", "16", "--batch-size", "4", "--lr", "1e-2"]


def _corpus(path):
    rng = np.random.default_rng(0)
    phrases = ["the cat sat on the mat.", "a dog ran in the fog.", "we sing a song."]
    path.write_text("\n".join(phrases[i] for i in rng.integers(0, 3, 150)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder holding corpus.txt and the model.npz that 'seqdl train corpus.txt' left there."""
    folder = tmp_path_factory.mktemp("lm")
    _corpus(folder / "corpus.txt")
    host = _host()
    previous = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(make_cli(host), ["train", "corpus.txt", "--epochs", "6", "--seed", "1", "--json",
                                                     *TINY])
        assert result.exit_code == 0, result.output
        yield folder, host, result
    finally:
        os.chdir(previous)


def _run(host, args):
    return CliRunner().invoke(make_cli(host), args)


def test_train_writes_model_and_reports(trained):
    cwd, _, result = trained
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["output"] == "model.npz" and summary["level"] == "char"
    assert summary["val_loss"][-1] < 0.5 * np.log(summary["vocab_size"])
    assert "tokens/s" in result.stderr and "val loss" in result.stderr


def test_generate_defaults_to_model_npz_and_beam_continues_the_text(trained):
    _, host, _ = trained
    result = _run(host, ["generate", "--prompt", "the cat sat on the ", "--beam", "5", "--length", "4", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["decoder"] == "beam" and out["options"] == {"beam_width": 5}
    assert out["text"] == "mat."
    plain = _run(host, ["generate", "--prompt", "the cat sat on the ", "--beam", "5", "--length", "4"])
    assert plain.stdout == "the cat sat on the mat.\n"


def test_sampling_is_reproducible_with_a_seed_and_greedy_at_temperature_zero(trained):
    _, host, _ = trained
    first = _run(host, ["generate", "--seed", "3", "--length", "50", "--top-k", "5"])
    again = _run(host, ["generate", "--seed", "3", "--length", "50", "--top-k", "5"])
    assert first.exit_code == 0 and first.stdout == again.stdout and len(first.stdout) == 51
    greedy = json.loads(_run(host, ["generate", "--temperature", "0", "--json", "--length", "8"]).stdout)
    beam1 = json.loads(_run(host, ["generate", "--beam", "1", "--json", "--length", "8"]).stdout)
    assert greedy["decoder"] == "greedy" and greedy["token_ids"] == beam1["token_ids"]


@pytest.mark.parametrize("args,message", [
    (["generate", "--prompt", "xqz"], "never saw in training: 'q', 'x', 'z'"),
    (["generate", "--model", "missing.npz"], "missing.npz: no such model file"),
    (["generate", "--decoder", "nosuch"], "unknown decoder 'nosuch'"),
    (["generate", "--model", "corpus.txt"], "corpus.txt: not a seqdl model file"),
    (["generate", "--beam", "3", "--temperature", "0.5"], "decoder 'beam' has no option 'temperature' (it takes: "),
    (["train", "absent.txt"], "absent.txt: no such corpus file"),
])
def test_bad_input_is_one_line(trained, args, message):
    _, host, _ = trained
    result = _run(host, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_binary_corpus_is_refused_and_no_model_written(tmp_path):
    corpus = tmp_path / "data.bin"
    corpus.write_bytes(b"abc\x00def" * 10)
    result = _run(_host(), ["train", str(corpus), "-o", str(tmp_path / "m.npz"), "--quiet"])
    assert result.exit_code == 1 and "binary" in result.output
    assert list(tmp_path.iterdir()) == [corpus]


def test_decoder_choice():
    assert decoder_choice(None, None, None, None, None, None) == ("sample", {})
    assert decoder_choice(None, None, 0.0, None, None, 2) == ("greedy", {"seed": 2})
    assert decoder_choice(None, 4, None, None, None, None) == ("beam", {"beam_width": 4})
    assert decoder_choice("mine", None, 0.5, 3, None, None) == ("mine", {"temperature": 0.5, "top_k": 3})


def test_end_to_end_in_a_subprocess(tmp_path, run_seqdl):
    """The installed command line with the installed decoder plugins."""
    _corpus(tmp_path / "corpus.txt")
    trained = run_seqdl("train", "corpus.txt", "--steps", "3", "--quiet", *TINY, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert trained.stderr == "" and (tmp_path / "model.npz").is_file()
    generated = run_seqdl("generate", "--prompt", "the", "--length", "10", "--seed", "0", cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    assert generated.stdout.startswith("the") and len(generated.stdout) == len("the") + 10 + 1
