"""Beam search ("beam" decoder of the seqdl_beam plugin).

Hugging Face ``generate(num_beams=...)`` semantics: each step the processors
of :class:`seqdl.logits.LogitsRules` (repetition penalty, no-repeat-n-gram,
minimum length / EOS) shape every beam's log-probabilities; a hypothesis'
score is the sum of those processed log-probabilities divided by
``length ** length_penalty`` (length counts generated tokens, EOS included);
the ``num_return_sequences`` best finished hypotheses are returned. The search
stops early only when no live beam can still beat the n-th best finished one,
so a beam wide enough never to prune finds exactly what exhaustive search
finds. All live beams are stepped together (the model's ``step_batch`` when it
has one).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

import seqdl
from seqdl.decoding import StepModel, step_rows
from seqdl.errors import ParameterError
from seqdl.resources import check_memory
from seqdl.logits import LogitsRules


@dataclass(frozen=True)
class Hypothesis:
    """A finished beam: generated ``tokens``, the model's summed ``log_prob`` and the length-penalised ``score``."""

    tokens: tuple[int, ...]
    log_prob: float
    score: float


@dataclass
class _Beam:
    tokens: tuple[int, ...]
    log_prob: float  # the model's, for reporting
    processed: float  # the sum the search ranks by
    state: Any


class BeamSearch:
    """Beam-search decoder.

    Options: ``beam_width`` (5), ``length_penalty`` (1.0; > 0 favours longer
    sequences), ``num_return_sequences`` (1, at most ``beam_width``), ``stop``
    (a callable on the generated ids that ends a hypothesis when true), and
    the :class:`seqdl.logits.LogitsRules` processors ``eos_token_id``,
    ``min_new_tokens``, ``no_repeat_ngram_size``, ``repetition_penalty``.
    """

    def __init__(self, beam_width: int = 5, length_penalty: float = 1.0, num_return_sequences: int = 1,
                 eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0,
                 no_repeat_ngram_size: int = 0, repetition_penalty: float = 1.0,
                 stop: Callable[[Sequence[int]], bool] | None = None):
        if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
            raise ParameterError("beam_width", f"must be an integer >= 1, got {beam_width!r}")
        if isinstance(num_return_sequences, bool) or not isinstance(num_return_sequences, int) \
                or not 1 <= num_return_sequences <= beam_width:
            raise ParameterError("num_return_sequences",
                                 f"must be between 1 and the beam width ({beam_width}), got {num_return_sequences!r}")
        if isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float)) \
                or not np.isfinite(length_penalty):
            raise ParameterError("length_penalty", f"must be a finite number, got {length_penalty!r}")
        self.beam_width = beam_width
        self.length_penalty = float(length_penalty)
        self.num_return_sequences = num_return_sequences
        self.rules = LogitsRules(eos_token_id=eos_token_id, min_new_tokens=min_new_tokens,
                                 no_repeat_ngram_size=no_repeat_ngram_size, repetition_penalty=repetition_penalty)
        self.stop = stop

    def _score(self, log_prob: float, length: int) -> float:
        return log_prob / (length ** self.length_penalty)

    def _best_possible(self, beam: _Beam, max_new_tokens: int) -> float:
        """An upper bound on the score any continuation of ``beam`` can reach.

        Processed log-probabilities are never positive, so the sum only falls
        as tokens are added: the bound is the current sum under the most
        favourable final length.
        """
        shortest, longest = len(beam.tokens) + 1, max_new_tokens
        return max(self._score(beam.processed, shortest), self._score(beam.processed, longest))

    def _ends(self, tokens: tuple[int, ...], max_new_tokens: int) -> bool:
        return (self.rules.is_eos(tokens[-1]) or len(tokens) == max_new_tokens
                or (self.stop is not None and self.stop(tokens)))

    def search(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[Hypothesis]:
        """The ``num_return_sequences`` best hypotheses, best first."""
        if max_new_tokens < 1:
            return [Hypothesis((), 0.0, 0.0)]
        # Live beams are at most vocab ** steps; each holds a row of scores and a state.
        live = min(self.beam_width, model.vocab_size ** min(max_new_tokens - 1, 16))
        check_memory(live * (16.0 * model.vocab_size + 1024), f"beam search with {live:,} live beams over "
                                                              f"{model.vocab_size:,} tokens")
        first, state = model.start(list(prompt))
        beams = [_Beam((), 0.0, 0.0, state)]
        log_probs = np.asarray(first, dtype=np.float64)[None, :]
        finished: list[tuple[float, int, Hypothesis]] = []  # min-heap of the n best, by score
        n_best, counter, width = self.num_return_sequences, 0, self.beam_width
        for _ in range(max_new_tokens):
            n_new = len(beams[0].tokens)
            processed = self.rules.process(log_probs, [[*prompt, *b.tokens] for b in beams], n_new)
            totals = (processed + np.array([b.processed for b in beams])[:, None]).ravel()
            finite = np.flatnonzero(np.isfinite(totals))
            if finite.size > 2 * width:  # enough to fill the beam even if some end
                finite = finite[np.argpartition(-totals[finite], 2 * width)[:2 * width]]
            ranked = finite[np.lexsort((finite, -totals[finite]))]  # best first; ties by beam, then token
            vocab = log_probs.shape[1]
            continuing: list[_Beam] = []
            for rank, flat in enumerate(ranked):
                index, token = divmod(int(flat), vocab)
                beam = beams[index]
                tokens = beam.tokens + (token,)
                log_prob = beam.log_prob + float(log_probs[index, token])
                total = float(totals[flat])
                if self._ends(tokens, max_new_tokens):
                    if rank >= width:  # as in HF: only top-ranked candidates may finish
                        continue
                    hypothesis = Hypothesis(tokens, log_prob, self._score(total, len(tokens)))
                    entry = (hypothesis.score, counter, hypothesis)
                    counter += 1
                    if len(finished) < n_best:
                        heapq.heappush(finished, entry)
                    elif hypothesis.score > finished[0][0]:
                        heapq.heapreplace(finished, entry)
                    continue
                continuing.append(_Beam(tokens, log_prob, total, beam.state))
                if len(continuing) == width:
                    break
            if not continuing:
                break
            log_probs, states = step_rows(model, [b.state for b in continuing], [b.tokens[-1] for b in continuing])
            beams = [_Beam(b.tokens, b.log_prob, b.processed, s) for b, s in zip(continuing, states)]
            if len(finished) == n_best and max(self._best_possible(b, max_new_tokens) for b in beams) <= finished[0][0]:
                break
        return [entry[2] for entry in sorted(finished, key=lambda e: (-e[0], e[1]))]

    def generate(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[seqdl.Generation]:
        """The best hypotheses as :class:`seqdl.Generation` objects (beam search cannot stream)."""
        return [seqdl.Generation(None, h.tokens, h.log_prob, h.score)
                for h in self.search(model, prompt, max_new_tokens)]

    def decode(self, model: StepModel, prompt: Sequence[int], max_new_tokens: int) -> list[int]:
        """The best hypothesis' generated ids (EOS kept if it ended there)."""
        best = self.search(model, prompt, max_new_tokens)
        return list(best[0].tokens) if best else []
