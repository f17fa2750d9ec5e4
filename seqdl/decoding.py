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


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Normalised log-probabilities of ``logits`` along the last axis, computed stably."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - np.max(logits, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def repeated_ngram_tokens(sequence: Sequence[int], n: int) -> set[int]:
    """Tokens that would complete an ``n``-gram already present in ``sequence``."""
    if n <= 0 or len(sequence) < n - 1:
        return set()
    if n == 1:
        return set(sequence)
    prefix = tuple(sequence[len(sequence) - n + 1:])
    return {sequence[i + n - 1] for i in range(len(sequence) - n + 1)
            if tuple(sequence[i:i + n - 1]) == prefix}


class Constraints:
    """Rules every decoder applies to the next-token log-probabilities (Hugging Face semantics).

    ``eos_token_id`` (an id or a list of ids) ends a sequence, and cannot be
    chosen before ``min_new_tokens`` tokens; ``no_repeat_ngram_size=n`` forbids
    any n-gram from occurring twice in prompt plus generated tokens.
    """

    def __init__(self, eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0,
                 no_repeat_ngram_size: int = 0):
        if eos_token_id is None:
            self.eos = frozenset()
        elif isinstance(eos_token_id, (int, np.integer)):
            self.eos = frozenset([int(eos_token_id)])
        else:
            self.eos = frozenset(int(t) for t in eos_token_id)
        if min_new_tokens < 0 or no_repeat_ngram_size < 0:
            raise ValueError("min_new_tokens and no_repeat_ngram_size must be >= 0")
        self.min_new_tokens = min_new_tokens
        self.no_repeat_ngram_size = no_repeat_ngram_size

    def is_eos(self, token: int) -> bool:
        """Whether ``token`` ends a sequence."""
        return token in self.eos

    def apply(self, log_probs: np.ndarray, sequence: Sequence[int], n_new: int) -> np.ndarray:
        """A copy of ``log_probs`` with forbidden tokens set to ``-inf``.

        ``sequence`` is the prompt plus the tokens generated so far, ``n_new``
        how many of them were generated.
        """
        out = np.array(log_probs, dtype=np.float64)
        if n_new < self.min_new_tokens and self.eos:
            out[list(self.eos)] = -np.inf
        if self.no_repeat_ngram_size:
            banned = repeated_ngram_tokens(sequence, self.no_repeat_ngram_size)
            if banned:
                out[list(banned)] = -np.inf
        return out
