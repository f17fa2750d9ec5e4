"""``seqdl evaluate perplexity``: the figures of a token-by-token reference, unseen tokens, the shared group."""

from __future__ import annotations

import json
import math
import warnings

import click
import numpy as np
import pytest
from click.testing import CliRunner

import seqdl
from seqdl.cli import make_cli
from seqdl.decoding import log_softmax
from seqdl.lm import LanguageModel, TokenVocabulary, split_tokens
from seqdl.lm.perplexity import perplexity
from seqdl.plugins import PluginHost


def _model(text, level, max_words=None):
    vocab = TokenVocabulary.from_tokens(split_tokens(text, level), level, max_words=max_words)
    return LanguageModel(vocab, embedding_dim=6, hidden_size=10, num_layers=2, seed=4)


def _reference_nll(model, tokens):
    """Token by token through the decoding protocol: an independent path through the model."""
    unk = model.vocab.index.get("<unk>")
    ids = [model.vocab.index.get(t, unk) for t in tokens]
    log_probs, state = model.start(ids[:1])
    total = 0.0
    for token in ids[1:]:
        total -= float(log_probs[token])
        log_probs, state = model.step(state, token)
    return total, len(ids) - 1


@pytest.mark.parametrize("seq_len", [1, 7, 500])
def test_perplexity_matches_token_by_token_reference(tmp_path, seq_len):
    text = "the cat sat on the mat\nand the dog sat too\n" * 6
    model = _model(text, "char")
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8")
    result = perplexity(model, path, seq_len=seq_len)
    total, count = _reference_nll(model, list(text))
    assert result.tokens == count and result.unknown == 0
    assert result.nll == pytest.approx(total, rel=1e-4)
    assert result.perplexity == pytest.approx(math.exp(total / count), rel=1e-4)
    assert result.bits_per_token == pytest.approx(total / count / math.log(2), rel=1e-4)


def test_word_level_maps_unseen_words_to_unk_and_counts_them(tmp_path):
    model = _model("a a a b b b c c\n" * 4, "word", max_words=3)  # keeps a, b, c; newline and the rest: <unk>
    path = tmp_path / "text.txt"
    path.write_text("a b zebra c d d", encoding="utf-8")
    result = perplexity(model, path)
    tokens = split_tokens(path.read_text(), "word")
    total, count = _reference_nll(model, tokens)
    assert result.unknown == 3  # zebra, d, d
    assert result.tokens == count and result.nll == pytest.approx(total, rel=1e-4)


def _cli():
    return make_cli(PluginHost())


def test_cli_json_and_unseen_characters(tmp_path, assert_one_line_error):
    text = "abcabcab\n" * 10
    model = _model(text, "char")
    model.save(tmp_path / "m.npz")
    (tmp_path / "ok.txt").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["evaluate", "perplexity", "--model", str(tmp_path / "m.npz"),
                                         str(tmp_path / "ok.txt"), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == {"nll", "bits_per_token", "perplexity", "tokens", "unknown"}
    assert figures["tokens"] == len(text) - 1 and figures["perplexity"] == pytest.approx(math.exp(figures["nll"]))
    (tmp_path / "new.txt").write_text("abxyz\n", encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["evaluate", "perplexity", "--model", str(tmp_path / "m.npz"),
                                         str(tmp_path / "new.txt")])
    assert_one_line_error(result, "new.txt", "never saw in training", "'x', 'y', 'z'")
    result = CliRunner().invoke(_cli(), ["evaluate", "perplexity", "--model", str(tmp_path / "absent.npz"),
                                         str(tmp_path / "ok.txt")])
    assert_one_line_error(result, "absent.npz")


def test_a_third_party_plugin_adds_to_the_core_evaluate_group():
    @click.command("bleu")
    def bleu():
        """Score translations."""
        click.echo("bleu ran")

    class Plugin:
        @seqdl.hookimpl
        def register_commands(self, cli):
            cli.commands["evaluate"].add_command(bleu)

    host = PluginHost()
    host.register(Plugin(), name="third")
    result = CliRunner().invoke(make_cli(host), ["evaluate", "--help"])
    assert "bleu" in result.output and "perplexity" in result.output
    assert CliRunner().invoke(make_cli(host), ["evaluate", "bleu"]).output == "bleu ran\n"
    # a CLI built without the plugin does not get its command
    assert "bleu" not in CliRunner().invoke(_cli(), ["evaluate", "--help"]).output


def test_word_prompt_outside_the_vocabulary_reads_as_unk_with_a_warning(tmp_path):
    model = _model("a a a b b b c c\n" * 4, "word", max_words=3)
    model.save(tmp_path / "m.npz")
    warned = []
    ids = model.vocab.encode_prompt("a zebra b", warn=warned.append)
    assert ids == [model.vocab.index["a"], model.vocab.index["<unk>"], model.vocab.index["b"]]
    assert len(warned) == 1 and "'zebra'" in warned[0] and "<unk>" in warned[0]
    import seqdl_sampling

    host = PluginHost()
    host.register(seqdl_sampling, "sampling")
    # the library warns as Python does ...
    with pytest.warns(UserWarning, match="never saw in training, read as <unk>: 'zebra'"):
        seqdl.generate(model, "a zebra", max_new_tokens=2, host=host, seed=0)
    # ... or through warn=, which the command uses to print one "Warning:" line (no Python warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = CliRunner().invoke(make_cli(host), ["generate", "--model", str(tmp_path / "m.npz"), "--prompt",
                                                     "a zebra", "--length", "3"])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if line] == [
        "Warning: the prompt has words the model never saw in training, read as <unk>: 'zebra'"]
    (tmp_path / "prompts.txt").write_text("a b\nzebra a\n", encoding="utf-8")
    result = CliRunner().invoke(make_cli(host), ["generate", "--model", str(tmp_path / "m.npz"), "--prompt-file",
                                                 str(tmp_path / "prompts.txt"), "--length", "3", "--seed", "1"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line]
    assert len(warned) == 1 and warned[0].startswith(f"Warning: {tmp_path / 'prompts.txt'}, line 2: ")
