"""Built-in plugin: greedy and stochastic sampling decoders ("greedy", "sample").

Hugging Face ``generate()`` semantics: the processors (repetition penalty,
no-repeat-n-gram, minimum length) and then the warpers (temperature, top-k,
top-p, min-p, typical-p) of :class:`seqdl.logits.LogitsRules` shape each
next-token distribution, always keeping at least one token. Sample ``i`` draws
from its own random stream spawned from ``seed``, so it is the same whether
the samples are generated together (one batched model step for all of them)
or one after another (streaming), and whatever ``num_return_sequences`` is.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import seqdl
from seqdl.decoding import StepModel, step_rows
from seqdl.errors import ParameterError
from seqdl.logits import LogitsRules, log_softmax
from seqdl.resources import check_memory


def filter_log_probs(log_probs: np.ndarray, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                     min_p: float = 0.0, typical_p: float = 1.0) -> np.ndarray:
    """A next-token distribution after the warpers: normalised log-probabilities, removed tokens at ``-inf``."""
    if temperature == 0:
        raise ParameterError("temperature", "must be > 0 here (temperature 0 is greedy decoding)")
    rules = LogitsRules(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, typical_p=typical_p)
    return log_softmax(rules.warp(log_probs))


class Sampler:
    """Decoder that samples each token; ``temperature=0`` means greedy (argmax).

    Options: ``num_return_sequences`` (1) independent samples, ``seed``
    (None: fresh entropy), ``stop`` (a callable on the generated ids that
    ends a sequence when true), and the :class:`seqdl.logits.LogitsRules`
    options ``temperature``, ``top_k``, ``top_p``, ``min_p``, ``typical_p``,
    ``repetition_penalty``, ``no_repeat_ngram_size``, ``eos_token_id``,
    ``min_new_tokens``.
    """

    def __init__(self, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int | None = None,
                 eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0,
                 no_repeat_ngram_size: int = 0, min_p: float = 0.0, typical_p: float = 1.0,
                 repetition_penalty: float = 1.0, num_return_sequences: int = 1,
                 stop: Callable[[Sequence[int]], bool] | None = None):
        self.rules = LogitsRules(temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p, typical_p=typical_p,
                                 repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size,
                                 eos_token_id=eos_token_id, min_new_tokens=min_new_tokens)
        if isinstance(num_return_sequences, bool) or not isinstance(num_return_sequences, int) \
                or num_return_sequences < 1:
            raise ParameterError("num_return_sequences", f"must be an integer >= 1, got {num_return_sequences!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ParameterError("seed", f"must be an integer >= 0, got {seed!r}")
        self.seed, self.num_return_sequences, self.stop = seed, num_return_sequences, stop

    def generate(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int,
                 on_token: Callable[[int, int], None] | None = None) -> list[seqdl.Generation]:
        """``num_return_sequences`` samples, in order; with ``on_token`` they are generated one after another."""
        # Each sample holds a few float64 rows of vocabulary size while it grows.
        check_memory(4 * 8 * self.num_return_sequences * model.vocab_size,
                     f"sampling {self.num_return_sequences} sequences over {model.vocab_size} tokens")
        streams = np.random.SeedSequence(self.seed).spawn(self.num_return_sequences)
        rngs = [np.random.default_rng(s) for s in streams]
        if on_token is None:
            return self._run(model, prompt, max_new_tokens, list(range(len(rngs))), rngs, None)
        out = []
        for i, rng in enumerate(rngs):
            out += self._run(model, prompt, max_new_tokens, [i], [rng], on_token)
        return out

    def decode(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[int]:
        """The first sample's new ids (an EOS token ends it and is kept)."""
        return list(self.generate(model, prompt, max_new_tokens)[0].token_ids)

    def _choose(self, log_probs: np.ndarray, rngs) -> np.ndarray:
        """One token per row of a normalised distribution: argmax if greedy, else an inverse-CDF draw."""
        if self.rules.greedy:
            return np.argmax(log_probs, axis=-1)
        cumulative = np.cumsum(np.exp(log_probs), axis=-1)
        draws = np.array([rng.random() for rng in rngs]) * cumulative[:, -1]
        tokens = np.array([np.searchsorted(row, u, side="right") for row, u in zip(cumulative, draws)])
        return np.minimum(tokens, log_probs.shape[-1] - 1)

    def _run(self, model, prompt, max_new_tokens, indices, rngs, on_token) -> list[seqdl.Generation]:
        rows = len(indices)
        tokens: list[list[int]] = [[] for _ in range(rows)]
        log_prob, score = np.zeros(rows), np.zeros(rows)
        if max_new_tokens < 1:
            return [seqdl.Generation(None, (), 0.0, 0.0) for _ in range(rows)]
        first, state = model.start(list(prompt))
        log_probs = np.tile(np.asarray(first, dtype=np.float64), (rows, 1))
        states, alive = [state] * rows, list(range(rows))
        while alive:
            n_new = len(tokens[alive[0]])
            distribution = self.rules.distribution(log_probs, [[*prompt, *tokens[r]] for r in alive], n_new)
            choices = self._choose(distribution, [rngs[r] for r in alive])
            going, going_states, going_tokens = [], [], []
            for k, (r, token) in enumerate(zip(alive, choices)):
                token = int(token)
                if not np.isfinite(distribution[k, token]):  # the rules forbid every token
                    continue
                tokens[r].append(token)
                log_prob[r] += log_probs[k, token]
                score[r] += distribution[k, token]
                if on_token is not None:
                    on_token(indices[r], token)
                ended = (self.rules.is_eos(token) or len(tokens[r]) == max_new_tokens
                         or (self.stop is not None and self.stop(tokens[r])))
                if not ended:
                    going.append(r)
                    going_states.append(states[k])
                    going_tokens.append(token)
            alive = going
            if alive:
                log_probs, states = step_rows(model, going_states, going_tokens)
        return [seqdl.Generation(None, tuple(t), float(lp), float(s)) for t, lp, s in zip(tokens, log_prob, score)]


def greedy(eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0, no_repeat_ngram_size: int = 0,
           repetition_penalty: float = 1.0, stop: Callable[[Sequence[int]], bool] | None = None,
           seed: int | None = None) -> Sampler:
    """The greedy decoder: always the most likely allowed token.

    It takes the processors' options but no sampling ones; ``seed`` is
    accepted and has no effect, so a script may pass one to any decoder.
    """
    return Sampler(temperature=0.0, eos_token_id=eos_token_id, min_new_tokens=min_new_tokens,
                   no_repeat_ngram_size=no_repeat_ngram_size, repetition_penalty=repetition_penalty, stop=stop,
                   seed=seed)


@seqdl.hookimpl
def register_decoders(register):
    """Register "greedy" and "sample"."""
    register("greedy", greedy)
    register("sample", Sampler)
