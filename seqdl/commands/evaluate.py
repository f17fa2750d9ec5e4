"""``seqdl evaluate``: the group plugins add their evaluations to, with the core ``perplexity``."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import json_option


def make_evaluate_group() -> click.Group:
    """A fresh ``evaluate`` group (one per CLI, so plugins' subcommands never leak between CLIs).

    A plugin's ``register_commands(cli)`` adds a subcommand with
    ``cli.commands["evaluate"].add_command(command)``.
    """

    @click.group("evaluate")
    def evaluate_group() -> None:
        """Evaluate a model: perplexity of a language model; plugins add more (analogies, similarity...)."""

    evaluate_group.add_command(perplexity_command)
    return evaluate_group


@click.command("perplexity")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("model.npz"),
              show_default=True, help="Language model file (from 'seqdl train').")
@click.option("--seq-len", type=click.IntRange(min=1), default=256, show_default=True,
              help="Tokens per forward pass (the state is carried across, so this only affects speed).")
@json_option
def perplexity_command(file: Path, model_path: Path, seq_len: int, as_json: bool) -> None:
    """Perplexity of a language model on FILE, read as one stream with the state carried throughout.

    Prints the mean negative log-likelihood (nats), bits per token, the
    perplexity, the tokens scored and how many were <unk>.
    """
    from ..io import check_input, to_json
    from ..lm.model import LanguageModel
    from ..lm.perplexity import perplexity

    check_input(file, "file")
    model = LanguageModel.load(model_path)
    result = perplexity(model, file, seq_len=seq_len)
    if as_json:
        click.echo(to_json(result.to_dict()))
        return
    click.echo(f"perplexity {result.perplexity:.4f}  nll {result.mean_nll:.4f} nats  "
               f"{result.bits_per_token:.4f} bits/token  {result.tokens} tokens, {result.unknown} <unk>")
