"""``seqdl generate``: the Hugging Face options, prompt files, JSON Lines, streaming and one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import seqdl_beam
import seqdl_sampling
from click.testing import CliRunner

import seqdl

from seqdl.cli import make_cli
from seqdl.lm.model import LanguageModel
from seqdl.lm import TokenVocabulary
from seqdl.plugins import PluginHost

CHARS = list("abcde .\n")


def _host(sampling: bool = True) -> PluginHost:
    host = PluginHost()
    if sampling:
        host.register(seqdl_sampling, "sampling")
    host.register(seqdl_beam, "beam")
    return host


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A small char model with random weights (decoding needs no training)."""
    path = tmp_path_factory.mktemp("gen") / "model.npz"
    LanguageModel(TokenVocabulary(CHARS, "char"), embedding_dim=6, hidden_size=12, seed=0).save(path)
    return str(path)


def _run(model_path, *args, host=None):
    return CliRunner().invoke(make_cli(host or _host()), ["generate", "--model", model_path, *args])


def _json_lines(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line, parse_constant=pytest.fail) for line in result.stdout.splitlines()]


def test_prompt_file_gives_json_lines_per_prompt_and_sequence(model_path, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("ab\n\nc d\n", encoding="utf-8")
    rows = _json_lines(_run(model_path, "--prompt-file", str(prompts), "--num-return-sequences", "2", "--seed", "1",
                            "--max-new-tokens", "7", "--json"))
    assert [(r["prompt"], r["sequence"]) for r in rows] == [("ab", 0), ("ab", 1), ("c d", 0), ("c d", 1)]
    for row in rows:
        assert len(row["token_ids"]) == 7 and row["text"] == "".join(CHARS[i] for i in row["token_ids"])
        assert row["log_prob"] < 0 and row["score"] < 0


def test_beam_returns_the_n_best_with_the_hf_options(model_path):
    rows = _json_lines(_run(model_path, "--beam", "4", "--num-return-sequences", "3", "--length-penalty", "0.5",
                            "--no-repeat-ngram", "2", "--repetition-penalty", "1.3", "--eos", ".", "--min-length",
                            "2", "--max-new-tokens", "9", "--json"))
    assert rows[0]["options"] == {"beam_width": 4, "length_penalty": 0.5, "no_repeat_ngram_size": 2,
                                  "repetition_penalty": 1.3, "min_new_tokens": 2, "num_return_sequences": 3,
                                  "eos_token_id": CHARS.index(".")}
    scores = [r["score"] for r in rows]
    assert len(rows) == 3 and scores == sorted(scores, reverse=True)
    for row in rows:
        ids = row["token_ids"]
        assert CHARS.index(".") not in ids[:-1] and len(ids) >= 2
        bigrams = list(zip(ids, ids[1:]))
        assert len(bigrams) == len(set(bigrams))


def test_greedy_flag_and_temperature_zero_with_a_seed(model_path):
    greedy = _json_lines(_run(model_path, "--greedy", "--max-new-tokens", "12", "--json"))
    zero = _json_lines(_run(model_path, "--temperature", "0", "--seed", "1", "--max-new-tokens", "12", "--json"))
    beam1 = _json_lines(_run(model_path, "--beam", "1", "--max-new-tokens", "12", "--json"))
    assert greedy[0]["decoder"] == zero[0]["decoder"] == "greedy"
    assert greedy[0]["token_ids"] == zero[0]["token_ids"] == beam1[0]["token_ids"]


@pytest.mark.parametrize("option", [["--top-p", "0.9"], ["--min-p", "0.1"], ["--typical-p", "0.8"]])
def test_streamed_text_equals_the_printed_text(model_path, option):
    args = ["--prompt", "ab", "--num-return-sequences", "3", "--seed", "4", "--max-new-tokens", "20", *option]
    streamed, plain = _run(model_path, *args, "--stream"), _run(model_path, *args, "--no-stream")
    assert streamed.exit_code == 0 and plain.exit_code == 0
    assert streamed.stdout == plain.stdout and plain.stdout.count("\nab") == 2


def test_stop_text_ends_generation(model_path):
    rows = _json_lines(_run(model_path, "--seed", "0", "--max-new-tokens", "200", "--stop", "e", "--stop", "d",
                            "--json", "--num-return-sequences", "4"))
    for row in rows:
        assert row["text"][-1] in "de" and not set(row["text"][:-1]) & set("de")


def test_length_is_a_hidden_alias(model_path):
    assert len(_json_lines(_run(model_path, "--length", "5", "--json"))[0]["token_ids"]) == 5
    help_text = _run(model_path, "--help").output
    assert "--max-new-tokens" in help_text and "--length " not in help_text


def test_disabled_sampling_plugin_is_named(model_path, assert_one_line_error):
    assert_one_line_error(_run(model_path, host=_host(sampling=False)), "decoder 'sample'", "plugin 'sampling'")


class _Constant:
    """A plugin decoder repeating one token (any id, so a bad one reaches seqdl's output check)."""

    def __init__(self, token: int = 0):
        self.token = token

    def decode(self, model, prompt, max_new_tokens):
        return [self.token] * max_new_tokens


class _ConstantPlugin:
    @seqdl.hookimpl
    def register_decoders(self, register):
        register("constant", _Constant)


def _constant_host() -> PluginHost:
    host = _host()
    host.register(_ConstantPlugin(), "constant")
    return host


def test_o_options_reach_a_plugin_decoder(model_path):
    result = _run(model_path, "--decoder", "constant", "-O", "token=2", "--prompt", "a", "--max-new-tokens", "4",
                  host=_constant_host())
    assert result.exit_code == 0, result.output
    assert result.stdout == "acccc\n"
    streamed = _run(model_path, "--decoder", "constant", "-O", "token=2", "--prompt", "a", "--max-new-tokens", "4",
                    "--stream", host=_constant_host())
    assert streamed.stdout == "acccc\n"  # a decoder that cannot stream is printed at the end


def test_plugin_decoder_ids_outside_the_vocabulary_are_one_line(model_path, assert_one_line_error):
    result = _run(model_path, "--decoder", "constant", "-O", "token=99", host=_constant_host())
    assert_one_line_error(result, "decoder 'constant' returned token id 99", "[0, 8)")


@pytest.mark.parametrize("args,fragments", [
    (["--beam", "2", "--num-return-sequences", "3"], ["--num-return-sequences", "beam width (2)"]),
    (["--min-length", "9", "--max-new-tokens", "5"], ["--min-length 9", "--max-new-tokens 5"]),
    (["--beam", "3", "--stream"], ["beam search cannot stream"]),
    (["--stream", "--json"], ["--stream"]),
    (["--beam", "3", "--top-p", "0.5"], ["decoder 'beam' has no option 'top_p'"]),
    (["--greedy", "--min-p", "0.5"], ["decoder 'greedy' has no option 'min_p'"]),
    (["--greedy", "--num-return-sequences", "2"], ["decoder 'greedy' has no option 'num_return_sequences'"]),
    (["--greedy", "--temperature", "0.5"], ["--greedy"]),
    (["--temperature", "nan"], ["--temperature", "not a finite number"]),
    (["--repetition-penalty", "0"], ["--repetition-penalty"]),
    (["--typical-p", "inf"], ["--typical-p"]),
    (["--eos", "xyz"], ["--eos", "'xyz' is not a token of the model"]),
    (["-O", "seed=3"], ["-O", "use --seed"]),
    (["-O", "nosuch=3"], ["decoder 'sample' has no option 'nosuch'"]),
    (["-O", "top_kk"], ["-O", "KEY=VALUE"]),
    (["--prompt", "zz"], ["never saw in training"]),
    (["--prompt", "ab", "--prompt-file", "x.txt"], ["--prompt-file"]),
    (["--length", "3", "--max-new-tokens", "4"], ["--length", "--max-new-tokens"]),
    (["--stop", ""], ["--stop", "empty"]),
    (["--num-return-sequences", "1000000000000"], ["sampling 1000000000000 sequences", "would need"]),
])
def test_bad_input_is_one_line(model_path, assert_one_line_error, args, fragments):
    assert_one_line_error(_run(model_path, *args), *fragments)


@pytest.mark.parametrize("content,fragment", [
    (b"", "no prompts"), (b"\n  \n", "no prompts"), (b"ab\n\xff\xfe\n", "not UTF-8"),
    (b"ab\n\nabz\n", "line 3: the prompt has characters the model never saw"),
])
def test_bad_prompt_files(model_path, tmp_path, assert_one_line_error, content, fragment):
    path = tmp_path / "prompts.txt"
    path.write_bytes(content)
    assert_one_line_error(_run(model_path, "--prompt-file", str(path)), str(path), fragment)


def test_ctrl_c_while_streaming_keeps_the_text_and_exits_130(model_path):
    process = subprocess.Popen([sys.executable, "-m", "seqdl", "generate", "--model", model_path, "--prompt", "ab",
                                "--stream", "--max-new-tokens", "1000000", "--seed", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = process.stdout.read(40)  # text is arriving
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert first.startswith(b"ab") and b"Traceback" not in err
    assert (first + rest).endswith(b"\n")
