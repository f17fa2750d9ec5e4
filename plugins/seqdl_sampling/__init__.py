"""Built-in plugin: greedy and stochastic sampling decoders ("greedy", "sample").

Hugging Face ``generate()`` semantics: the next-token distribution is shaped
by temperature, then top-k, then top-p (nucleus), always keeping at least one
token; sampling is seeded and reproducible.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

import seqdl
from seqdl.decoding import Constraints, StepModel, log_softmax


def filter_log_probs(log_probs: np.ndarray, temperature: float = 1.0, top_k: int = 0,
                     top_p: float = 1.0) -> np.ndarray:
    """Reshape a next-token distribution: temperature, then top-k, then top-p.

    Returns normalised log-probabilities with removed tokens at ``-inf``.
    ``top_k=0`` and ``top_p=1.0`` disable those filters; at least one token
    (the most likely) always survives.
    """
    if temperature <= 0:
        raise ValueError("temperature must be > 0 (use the greedy decoder for temperature 0)")
    if top_k < 0 or not 0.0 < top_p <= 1.0:
        raise ValueError("top_k must be >= 0 and top_p in (0, 1]")
    scores = log_softmax(np.asarray(log_probs, dtype=np.float64) / temperature)
    if 0 < top_k < scores.size:
        kth = np.partition(scores, -top_k)[-top_k]
        scores = np.where(scores < kth, -np.inf, scores)
    if top_p < 1.0:
        order = np.argsort(-scores, kind="stable")
        probs = np.exp(scores[order])
        mass_before = np.cumsum(probs) - probs
        scores[order[mass_before >= top_p]] = -np.inf
    return log_softmax(scores)


class Sampler:
    """Decoder that samples each token; ``temperature=0`` means greedy (argmax).

    Options: ``temperature`` (1.0), ``top_k`` (0: off), ``top_p`` (1.0: off),
    ``seed`` (None: fresh entropy), and the :class:`seqdl.Constraints` options
    ``eos_token_id``, ``min_new_tokens``, ``no_repeat_ngram_size``.
    """

    def __init__(self, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int | None = None,
                 eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0,
                 no_repeat_ngram_size: int = 0):
        if temperature < 0:
            raise ValueError("temperature must be >= 0")
        self.temperature, self.top_k, self.top_p, self.seed = temperature, top_k, top_p, seed
        if temperature > 0:  # validate the filter options now, not mid-generation
            filter_log_probs(np.zeros(1), temperature, top_k, top_p)
        self.constraints = Constraints(eos_token_id, min_new_tokens, no_repeat_ngram_size)

    def decode(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[int]:
        """Generate up to ``max_new_tokens`` ids after ``prompt``; an EOS token ends (and is kept)."""
        rng = np.random.default_rng(self.seed)
        sequence = list(prompt)
        log_probs, state = model.start(prompt)
        new: list[int] = []
        while len(new) < max_new_tokens:
            scores = self.constraints.apply(log_probs, sequence, len(new))
            if not np.isfinite(scores).any():  # the constraints forbid every token
                break
            if self.temperature == 0:
                token = int(np.argmax(scores))
            else:
                probs = np.exp(filter_log_probs(scores, self.temperature, self.top_k, self.top_p))
                token = int(rng.choice(probs.size, p=probs / probs.sum()))
            new.append(token)
            sequence.append(token)
            if self.constraints.is_eos(token) or len(new) == max_new_tokens:
                break
            log_probs, state = model.step(state, token)
        return new


def greedy(eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0,
           no_repeat_ngram_size: int = 0) -> Sampler:
    """The greedy decoder: always the most likely allowed token (it takes no sampling options)."""
    return Sampler(temperature=0.0, eos_token_id=eos_token_id, min_new_tokens=min_new_tokens,
                   no_repeat_ngram_size=no_repeat_ngram_size)


@seqdl.hookimpl
def register_decoders(register):
    """Register "greedy" and "sample"."""
    register("greedy", greedy)
    register("sample", Sampler)
