"""The protocol between language models and decoders.

A decoder never sees a model's internals: it asks for the log-probabilities
of the next token and a new state, one step at a time. Any object with these
two methods can be decoded by any registered decoder, so a plugin's model and
a plugin's decoder work together without knowing each other.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from .logits import LogitsRules, log_softmax, repeated_ngram_tokens

__all__ = ["Constraints", "Decoder", "StepModel", "log_softmax", "repeated_ngram_tokens", "step_rows"]


@runtime_checkable
class StepModel(Protocol):
    """A model a decoder can drive.

    ``vocab_size`` is the number of token ids; ``start(prompt)`` consumes the
    prompt ids and returns ``(log_probs, state)`` for the next token;
    ``step(state, token)`` feeds one token and returns the same pair.
    ``log_probs`` is a float array of shape ``(vocab_size,)``. States are
    opaque to the decoder and must not be mutated by ``step`` (beam search
    keeps several alive at once).

    Optionally, ``step_batch(states, tokens)`` feeds ``tokens[i]`` after
    ``states[i]`` for every row at once and returns ``(log_probs (B, V),
    new_states)``, exactly what ``step`` would give row by row; decoders use
    it through :func:`step_rows` when a model has it.
    """

    vocab_size: int

    def start(self, prompt: Sequence[int]) -> tuple[np.ndarray, Any]:
        """Consume ``prompt``; return log-probabilities of the next token and the state."""

    def step(self, state: Any, token: int) -> tuple[np.ndarray, Any]:
        """Feed ``token`` after ``state``; return the next log-probabilities and a new state."""


@runtime_checkable
class Decoder(Protocol):
    """What a factory registered with ``register_decoders`` returns.

    A decoder may also have ``generate(model, prompt, max_new_tokens,
    on_token=None)`` returning a list of :class:`seqdl.Generation` (several
    sequences, their log-probabilities and scores; ``on_token(i, token)``
    called as sequence ``i`` grows, for streaming). :func:`seqdl.generate`
    uses it when present, else ``decode``.
    """

    def decode(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[int]:
        """Generate up to ``max_new_tokens`` ids after ``prompt``; return the new ids."""


def step_rows(model: StepModel, states: Sequence[Any], tokens: Sequence[int]) -> tuple[np.ndarray, list]:
    """Feed one token to each of several states: ``(log_probs (B, V) float64, new states)``.

    Uses the model's optional ``step_batch(states, tokens)`` (one call for the
    whole batch) when it has one, else ``step`` row by row; decoders that keep
    several sequences alive (beams, samples) step them through this.
    """
    batched = getattr(model, "step_batch", None)
    if batched is not None:
        log_probs, new_states = batched(list(states), np.asarray(tokens, dtype=np.int64))
        return np.asarray(log_probs, dtype=np.float64).reshape(len(tokens), -1), list(new_states)
    rows = [model.step(state, int(token)) for state, token in zip(states, tokens)]
    return np.stack([np.asarray(r[0], dtype=np.float64) for r in rows]), [r[1] for r in rows]


class Constraints:
    """The decoder-independent rules (EOS, minimum length, no-repeat-n-gram) as one object.

    Kept for code written against seqdl 0.1; it is :class:`seqdl.logits.LogitsRules`
    restricted to those options, which new code should use directly.
    """

    def __init__(self, eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0,
                 no_repeat_ngram_size: int = 0):
        self.rules = LogitsRules(eos_token_id=eos_token_id, min_new_tokens=min_new_tokens,
                                 no_repeat_ngram_size=no_repeat_ngram_size)
        self.eos = self.rules.eos
        self.min_new_tokens = self.rules.min_new_tokens
        self.no_repeat_ngram_size = self.rules.no_repeat_ngram_size

    def is_eos(self, token: int) -> bool:
        """Whether ``token`` ends a sequence."""
        return self.rules.is_eos(token)

    def apply(self, log_probs: np.ndarray, sequence: Sequence[int], n_new: int) -> np.ndarray:
        """A copy of ``log_probs`` with forbidden tokens set to ``-inf`` (``sequence``: prompt plus generated)."""
        return self.rules.process(log_probs, sequence, n_new)
