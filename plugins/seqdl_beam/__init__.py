"""Built-in plugin: beam-search decoding ("beam").

Hugging Face ``generate(num_beams=...)`` semantics: a hypothesis' score is
its summed log-probability divided by ``length ** length_penalty`` (length
counts generated tokens, EOS included); EOS, minimum length and
no-repeat-n-gram constraints apply; the ``num_return_sequences`` best
finished hypotheses are returned. The search stops early only when no live
beam can still beat the n-th best finished one, so a beam wide enough never
to prune finds exactly what exhaustive search finds.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

import seqdl
from seqdl.decoding import Constraints, StepModel


@dataclass(frozen=True)
class Hypothesis:
    """A finished beam: generated ``tokens``, their summed ``log_prob`` and the length-penalised ``score``."""

    tokens: tuple[int, ...]
    log_prob: float
    score: float


@dataclass
class _Beam:
    tokens: tuple[int, ...]
    log_prob: float
    state: Any
    next_log_probs: np.ndarray


class BeamSearch:
    """Beam-search decoder.

    Options: ``beam_width`` (5), ``length_penalty`` (1.0; > 0 favours longer
    sequences), ``num_return_sequences`` (1, at most ``beam_width``), and the
    :class:`seqdl.Constraints` options ``eos_token_id``, ``min_new_tokens``,
    ``no_repeat_ngram_size``.
    """

    def __init__(self, beam_width: int = 5, length_penalty: float = 1.0, num_return_sequences: int = 1,
                 eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0,
                 no_repeat_ngram_size: int = 0):
        if beam_width < 1:
            raise ValueError("beam_width must be >= 1")
        if not 1 <= num_return_sequences <= beam_width:
            raise ValueError("num_return_sequences must be between 1 and beam_width")
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.num_return_sequences = num_return_sequences
        self.constraints = Constraints(eos_token_id, min_new_tokens, no_repeat_ngram_size)

    def _score(self, log_prob: float, length: int) -> float:
        return log_prob / (length ** self.length_penalty)

    def _best_possible(self, beam: _Beam, max_new_tokens: int) -> float:
        """An upper bound on the score any continuation of ``beam`` can reach.

        Log-probabilities only fall as tokens are added, so the bound is the
        current sum under the most favourable final length.
        """
        shortest, longest = len(beam.tokens) + 1, max_new_tokens
        return max(self._score(beam.log_prob, shortest), self._score(beam.log_prob, longest))

    def search(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[Hypothesis]:
        """The ``num_return_sequences`` best hypotheses, best first."""
        if max_new_tokens < 1:
            return [Hypothesis((), 0.0, 0.0)]
        log_probs, state = model.start(prompt)
        beams = [_Beam((), 0.0, state, np.asarray(log_probs, dtype=np.float64))]
        finished: list[tuple[float, int, Hypothesis]] = []  # min-heap of the n best, by score
        n_best, counter = self.num_return_sequences, 0
        for _ in range(max_new_tokens):
            candidates = []  # (log_prob, beam index, token)
            for index, beam in enumerate(beams):
                scores = self.constraints.apply(beam.next_log_probs, [*prompt, *beam.tokens], len(beam.tokens))
                allowed = np.flatnonzero(np.isfinite(scores))
                if allowed.size > 2 * self.beam_width:  # enough to fill the beam even if some end
                    allowed = allowed[np.argpartition(-scores[allowed], 2 * self.beam_width)[:2 * self.beam_width]]
                candidates.extend((beam.log_prob + scores[t], index, int(t)) for t in allowed)
            candidates.sort(key=lambda c: -c[0])
            next_beams: list[_Beam] = []
            for rank, (log_prob, index, token) in enumerate(candidates):
                tokens = beams[index].tokens + (token,)
                ends = self.constraints.is_eos(token) or len(tokens) == max_new_tokens
                if ends:
                    if rank >= self.beam_width:  # as in HF: only top-ranked candidates may finish
                        continue
                    hypothesis = Hypothesis(tokens, float(log_prob), self._score(log_prob, len(tokens)))
                    entry = (hypothesis.score, counter, hypothesis)
                    counter += 1
                    if len(finished) < n_best:
                        heapq.heappush(finished, entry)
                    elif hypothesis.score > finished[0][0]:
                        heapq.heapreplace(finished, entry)
                    continue
                next_log_probs, state = model.step(beams[index].state, token)
                next_beams.append(_Beam(tokens, float(log_prob), state, np.asarray(next_log_probs, dtype=np.float64)))
                if len(next_beams) == self.beam_width:
                    break
            beams = next_beams
            if not beams:
                break
            if len(finished) == n_best and max(self._best_possible(b, max_new_tokens) for b in beams) <= finished[0][0]:
                break
        return [entry[2] for entry in sorted(finished, key=lambda e: (-e[0], e[1]))]

    def decode(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[int]:
        """The best hypothesis' generated ids (EOS kept if it ended there)."""
        best = self.search(model, prompt, max_new_tokens)
        return list(best[0].tokens) if best else []


@seqdl.hookimpl
def register_decoders(register):
    """Register "beam"."""
    register("beam", BeamSearch)
