"""``seqdl generate``: write text with a trained language model and any registered decoder."""

from __future__ import annotations

from pathlib import Path

import click


def decoder_choice(decoder: str | None, beam: int | None, temperature: float | None, top_k: int | None,
                   top_p: float | None, seed: int | None) -> tuple[str, dict]:
    """The decoder name and the options the user gave for it.

    ``--beam N`` means the "beam" decoder with beam_width N; otherwise
    "sample", or "greedy" at temperature 0. Only options actually given are
    passed, so a decoder's own defaults apply to the rest.
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


@click.command("generate")
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("model.npz"),
              show_default=True, help="Model written by 'seqdl train'.")
@click.option("--prompt", default=None, help="Text to continue  [default: start of a line]")
@click.option("--length", type=click.IntRange(min=1), default=200, show_default=True, help="Tokens to generate.")
@click.option("--decoder", default=None, help="A registered decoder by name (see 'seqdl plugins').")
@click.option("--beam", type=click.IntRange(min=1), default=None, help="Beam search with this beam width.")
@click.option("--temperature", type=click.FloatRange(min=0), default=None,
              help="Sampling temperature; 0 is greedy  [default: 1.0]")
@click.option("--top-k", type=click.IntRange(min=0), default=None, help="Sample among the K most likely (0: all).")
@click.option("--top-p", type=click.FloatRange(min=0, max=1, min_open=True), default=None,
              help="Sample from the smallest set with this much probability (1: all).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed: the same text every run.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def generate_command(model_path: Path, prompt: str | None, length: int, decoder: str | None, beam: int | None,
                     temperature: float | None, top_k: int | None, top_p: float | None, seed: int | None,
                     as_json: bool) -> None:
    """Continue PROMPT with the language model in MODEL and print the text.

    Sampling by default; --beam N for beam search; --decoder NAME for any
    decoder a plugin registered.
    """
    from .. import plugins
    from ..errors import ModelFileError, SeqdlError
    from ..lm.model import LanguageModel

    name, options = decoder_choice(decoder, beam, temperature, top_k, top_p, seed)
    factory = plugins.lookup("decoders", name)
    plugins.check_options(f"decoder {name!r}", factory, options)
    if not model_path.exists():
        raise ModelFileError("no such model file (train one with 'seqdl train CORPUS')", path=str(model_path))
    model, _ = LanguageModel.load(model_path)
    vocab = model.vocab
    if prompt is None:
        prompt_ids = [vocab.index.get("\n", 0)]
    else:
        prompt_ids = vocab.encode_prompt(prompt, warn=lambda line: click.echo(f"Warning: {line}", err=True))
        if not prompt_ids:
            raise click.UsageError("--prompt is empty")
    try:
        chosen = factory(**options)
    except (TypeError, ValueError) as exc:  # a bad value, or an option a **kwargs factory refuses
        raise SeqdlError(f"decoder {name!r}: {exc}") from None
    new_ids = chosen.decode(model, prompt_ids, length)
    prompt_text = vocab.decode(prompt_ids)
    # Decoded together, so a word-level continuation gets its joining space.
    continuation = vocab.decode(prompt_ids + list(new_ids))[len(prompt_text):]
    if as_json:
        import json

        click.echo(json.dumps({"model": str(model_path), "decoder": name, "options": options, "prompt": prompt,
                               "text": continuation, "token_ids": [int(i) for i in new_ids]}))
    else:
        click.echo(("" if prompt is None else prompt_text) + continuation)
