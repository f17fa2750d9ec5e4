"""``seqdl generate``: write text with a trained language model and any registered decoder.

Options follow Hugging Face ``generate()``; each one the user gives is
passed to the decoder under the library's name (``--no-repeat-ngram`` is
``no_repeat_ngram_size``), and a decoder that does not take it says so.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..options import FiniteFloat, json_option, parse_key_values, seed_option

#: Decoder options the command sets from its own flags (refused in -O, naming the flag).
OWN_OPTIONS = {"temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p", "min_p": "--min-p",
               "typical_p": "--typical-p", "seed": "--seed", "beam_width": "--beam",
               "num_return_sequences": "--num-return-sequences", "length_penalty": "--length-penalty",
               "no_repeat_ngram_size": "--no-repeat-ngram", "min_new_tokens": "--min-length",
               "eos_token_id": "--eos", "repetition_penalty": "--repetition-penalty", "stop": "--stop"}


def decoder_choice(decoder: str | None, beam: int | None, temperature: float | None, top_k: int | None,
                   top_p: float | None, seed: int | None) -> tuple[str, dict]:
    """The decoder name and the sampling options the user gave for it.

    ``--beam N`` means the "beam" decoder with beam_width N; otherwise
    "sample", or "greedy" at temperature 0 (a seed is harmless there). Only
    options actually given are passed, so a decoder's own defaults apply to the rest.
    """
    sampling = {k: v for k, v in {"temperature": temperature, "top_k": top_k, "top_p": top_p, "seed": seed}.items()
                if v is not None}
    if beam is not None:
        if decoder not in (None, "beam"):
            raise click.UsageError(f"--beam selects the beam decoder; it cannot be combined with --decoder {decoder}")
        return "beam", {"beam_width": beam, **sampling}
    if decoder is None:
        if temperature == 0:
            sampling.pop("temperature")
            return "greedy", sampling
        return "sample", sampling
    return decoder, sampling


def read_prompts(path: str) -> list[tuple[int, str]]:
    """The prompts in ``path`` with their line numbers, one per non-blank line (without the newline)."""
    from ..errors import InputError

    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text", path=path, offset=exc.start) from None
    prompts = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not prompts:
        raise InputError("no prompts (the file is empty or blank; give one prompt per line)", path=path)
    return prompts


def encode_prompts(model, prompts: list[tuple[int | None, str | None]], path: str | None) -> list[tuple]:
    """``(text, ids)`` of every prompt, all checked before any is generated; errors name the file's line."""
    from ..errors import InputError
    from ..generation import prompt_ids

    def warn(message: str, line: int | None) -> None:
        where = "" if line is None else f"{path}, line {line}: "
        click.echo(f"Warning: {where}{message}", err=True)

    encoded = []
    for line, text in prompts:
        if text is not None and not text:
            raise click.UsageError("--prompt is empty")
        try:
            encoded.append((text, prompt_ids(model, text, warn=lambda message: warn(message, line))))
        except InputError as exc:
            if line is None:
                raise
            raise InputError(str(exc), path=path, line=line) from None
    return encoded


def eos_id(vocab, token: str) -> int:
    r"""The id of ``--eos TOKEN``; ``\n`` and ``\t`` may be typed as escapes."""
    from ..errors import ParameterError

    token = {"\\n": "\n", "\\t": "\t"}.get(token, token)
    if token not in vocab.index:
        raise ParameterError("eos_token_id", f"{token!r} is not a token of the model")
    return vocab.index[token]


class _Streamer:
    """Prints each sequence's text as its tokens arrive (one sequence after another)."""

    def __init__(self, vocab, prompt_ids: list[int], prefix: str, separator: str):
        self.vocab, self.prompt_ids, self.prefix, self.separator = vocab, prompt_ids, prefix, separator
        self.prompt_text = vocab.decode(prompt_ids)
        self.current, self.ids, self.printed, self.started = None, [], 0, False

    def __call__(self, index: int, token: int) -> None:
        self.started = True
        if index != self.current:
            if self.current is not None:
                self.finish()
                click.echo(self.separator, nl=False)
            self.current, self.ids, self.printed = index, [], 0
            click.echo(self.prefix, nl=False)
        self.ids.append(token)
        text = self.vocab.decode(self.prompt_ids + self.ids)[len(self.prompt_text):]
        click.echo(text[self.printed:], nl=False)
        self.printed = len(text)

    def finish(self) -> None:
        """End the line of the sequence being printed."""
        if self.current is not None:
            click.echo("")
            self.current = None


@click.command("generate")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("model.npz"),
              show_default=True, help="Model written by 'seqdl train'.")
@click.option("--prompt", default=None, help="Text to continue  [default: start of a line]")
@click.option("--prompt-file", type=click.Path(dir_okay=False), default=None,
              help="Continue each line of this UTF-8 file (one prompt per line).")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=None, help="Tokens to generate  [default: 200]")
@click.option("--length", "length_alias", type=click.IntRange(min=1), default=None, hidden=True)
@click.option("--decoder", default=None, help="A registered decoder by name (see 'seqdl plugins').")
@click.option("--beam", "beam_width", type=click.IntRange(min=1), default=None,
              help="Beam search with this beam width.")
@click.option("--greedy", is_flag=True, help="Always the most likely token (the same as --temperature 0).")
@click.option("--temperature", type=FiniteFloat(min=0), default=None,
              help="Sampling temperature; 0 is greedy  [default: 1.0]")
@click.option("--top-k", type=click.IntRange(min=0), default=None, help="Sample among the K most likely (0: all).")
@click.option("--top-p", type=FiniteFloat(min=0, max=1, min_open=True), default=None,
              help="Sample from the smallest set with this much probability (1: all).")
@click.option("--min-p", type=FiniteFloat(min=0, max=1), default=None,
              help="Drop tokens less likely than this fraction of the most likely one (0: off).")
@click.option("--typical-p", type=FiniteFloat(min=0, max=1, min_open=True), default=None,
              help="Locally typical sampling with this probability mass (1: off).")
@click.option("--repetition-penalty", type=FiniteFloat(min=0, min_open=True), default=None,
              help="Penalise tokens already in the prompt or output (CTRL; > 1 discourages repeats).")
@click.option("--no-repeat-ngram", "no_repeat_ngram_size", type=click.IntRange(min=0), default=None,
              help="Never repeat an N-gram of tokens (0: off).")
@click.option("--min-length", "min_new_tokens", type=click.IntRange(min=0), default=None,
              help="Generate at least N tokens before --eos may end the text.")
@click.option("--eos", "eos_token_id", metavar="TOKEN", default=None,
              help=r"A token that ends the text, e.g. '\n' or '.'.")
@click.option("--stop", "stop_strings", multiple=True, metavar="TEXT",
              help="End once the text contains TEXT (repeatable).")
@click.option("--num-return-sequences", type=click.IntRange(min=1), default=None,
              help="Sequences per prompt: the N best beams, or N independent samples  [default: 1]")
@click.option("--length-penalty", type=FiniteFloat(), default=None,
              help="Beam score = log-probability / length ** this (> 0 favours longer text)  [default: 1.0]")
@click.option("-O", "--option", "extra_options", multiple=True, metavar="KEY=VALUE",
              help="Another option for the decoder (repeatable), e.g. -O my_option=3.")
@click.option("--stream/--no-stream", default=None,
              help="Print text as it is generated  [default: when stdout is a terminal]")
@seed_option(help="Random seed: the same text every run.")
@json_option
def generate_command(model_path: Path, prompt: str | None, prompt_file: str | None, max_new_tokens: int | None,
                     length_alias: int | None, decoder: str | None, beam_width: int | None, greedy: bool,
                     temperature: float | None, top_k: int | None, top_p: float | None, min_p: float | None,
                     typical_p: float | None, repetition_penalty: float | None, no_repeat_ngram_size: int | None,
                     min_new_tokens: int | None, eos_token_id: str | None, stop_strings: tuple[str, ...],
                     num_return_sequences: int | None, length_penalty: float | None, extra_options: tuple[str, ...],
                     stream: bool | None, seed: int | None, as_json: bool) -> None:
    """Continue PROMPT with the language model in MODEL and print the text.

    Sampling by default; --greedy for the most likely text; --beam N for beam
    search; --decoder NAME for any decoder a plugin registered.

    \b
      seqdl generate --prompt "ROMEO:" --top-p 0.9 --seed 1
      seqdl generate --beam 5 --num-return-sequences 3 --no-repeat-ngram 3
      seqdl generate --prompt-file prompts.txt --json --max-new-tokens 50
    """
    from ..errors import ModelFileError

    if max_new_tokens is not None and length_alias is not None:
        raise click.UsageError("--length is the old name of --max-new-tokens; give only one")
    length = max_new_tokens or length_alias or 200
    if prompt is not None and prompt_file is not None:
        raise click.UsageError("give --prompt or --prompt-file, not both")
    if greedy:
        if temperature not in (None, 0) or beam_width is not None:
            raise click.UsageError("--greedy cannot be combined with --temperature or --beam")
        temperature = 0.0
    if min_new_tokens is not None and min_new_tokens > length:
        raise click.UsageError(f"--min-length {min_new_tokens} is more than --max-new-tokens {length}")
    name, options = decoder_choice(decoder, beam_width, temperature, top_k, top_p, seed)
    given = {"min_p": min_p, "typical_p": typical_p, "repetition_penalty": repetition_penalty,
             "no_repeat_ngram_size": no_repeat_ngram_size, "min_new_tokens": min_new_tokens,
             "num_return_sequences": num_return_sequences, "length_penalty": length_penalty}
    options.update({k: v for k, v in given.items() if v is not None})
    options.update(parse_key_values(extra_options, "-O", reserved=OWN_OPTIONS))
    if stream and as_json:
        raise click.UsageError("--stream prints text, not JSON; use one of them")
    if stream and name == "beam":
        raise click.UsageError("beam search cannot stream: it knows the best text only at the end (use --no-stream)")
    if stream is None:
        stream = not as_json and name != "beam" and sys.stdout.isatty()

    import seqdl
    from ..generation import make_decoder
    from ..lm.model import LanguageModel
    from ..plugins import current_host

    host = current_host()
    make_decoder(name, {**options, **({"stop": None} if stop_strings else {})}, host)  # bad options fail first
    prompts = read_prompts(prompt_file) if prompt_file is not None else [(None, prompt)]
    if not model_path.exists():
        raise ModelFileError("no such model file (train one with 'seqdl train CORPUS')", path=str(model_path))
    model = LanguageModel.load(model_path)
    if eos_token_id is not None:
        options["eos_token_id"] = eos_id(model.vocab, eos_token_id)
    many = len(prompts) * (num_return_sequences or 1) > 1
    from ..io import to_json

    for number, (text, ids) in enumerate(encode_prompts(model, prompts, prompt_file)):
        shown = "" if text is None else model.vocab.decode(ids)
        streamer = _Streamer(model.vocab, ids, shown, "\n" if many else "") if stream else None
        if streamer is not None and number:
            click.echo("")
        try:
            results = seqdl.generate(model, ids, decoder=name, max_new_tokens=length,
                                     stop_strings=stop_strings, on_token=streamer, host=host, **options)
        except KeyboardInterrupt:
            if streamer is not None:
                streamer.finish()  # keep what was printed, on a line of its own
            raise
        if streamer is not None and streamer.started:
            streamer.finish()
            continue  # printed already (a decoder that cannot stream prints below)
        for index, result in enumerate(results):
            if as_json:
                click.echo(to_json({"model": str(model_path), "decoder": name, "options": options, "prompt": text,
                                    "sequence": index, "text": result.text, "token_ids": result.token_ids,
                                    "log_prob": result.log_prob, "score": result.score}))
            else:
                if many and (number or index):
                    click.echo("")
                click.echo(shown + result.text)
