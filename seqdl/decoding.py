"""The protocol between language models and decoders.

A decoder never sees a model's internals: it asks for the log-probabilities
of the next token and a new state, one step at a time. Any object with these
two methods can be decoded by any registered decoder, so a plugin's model and
a plugin's decoder work together without knowing each other.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class StepModel(Protocol):
    """A model a decoder can drive.

    ``vocab_size`` is the number of token ids; ``start(prompt)`` consumes the
    prompt ids and returns ``(log_probs, state)`` for the next token;
    ``step(state, token)`` feeds one token and returns the same pair.
    ``log_probs`` is a float array of shape ``(vocab_size,)``. States are
    opaque to the decoder and must not be mutated by ``step`` (beam search
    keeps several alive at once).
    """

    vocab_size: int

    def start(self, prompt: Sequence[int]) -> tuple[np.ndarray, Any]:
        """Consume ``prompt``; return log-probabilities of the next token and the state."""

    def step(self, state: Any, token: int) -> tuple[np.ndarray, Any]:
        """Feed ``token`` after ``state``; return the next log-probabilities and a new state."""


@runtime_checkable
class Decoder(Protocol):
    """What a factory registered with ``register_decoders`` returns."""

    def decode(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[int]:
        """Generate up to ``max_new_tokens`` ids after ``prompt``; return the new ids."""
