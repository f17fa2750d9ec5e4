"""Every rule that reshapes next-token scores, with Hugging Face ``generate()`` semantics.

The functions take a ``(B, V)`` float array of scores (one row per sequence
being decoded; a ``(V,)`` row is accepted too) and return a new array of the
same shape with removed tokens at ``-inf``; they never modify their input.
Each equals the Hugging Face processor of the same name on the same scores
(tests/decoding/test_logits_reference.py checks this against ``transformers``).

:class:`LogitsRules` applies them in Hugging Face's order: the *processors*
(repetition penalty, no-repeat-n-gram, minimum length / EOS) shape every
decoder's scores; the *warpers* (temperature, top-k, top-p, min-p, typical-p)
shape only a sampling distribution. Decoders, built-in or from a plugin, use
one :class:`LogitsRules` built from their options rather than rules of their own.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import ParameterError

__all__ = [
    "LogitsRules", "RULE_OPTIONS", "log_softmax", "min_new_tokens", "min_p", "no_repeat_ngram", "repeated_ngram_tokens",
    "repetition_penalty", "temperature", "top_k", "top_p", "typical_p",
]

#: The keyword options :class:`LogitsRules` takes (a decoder may pass them through).
RULE_OPTIONS = ("repetition_penalty", "no_repeat_ngram_size", "eos_token_id", "min_new_tokens",
                "temperature", "top_k", "top_p", "min_p", "typical_p")


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Normalised log-probabilities of ``logits`` along the last axis, computed stably."""
    logits = np.asarray(logits, dtype=np.float64)
    top = np.asarray(logits.max(axis=-1, keepdims=True))  # an array even for a 0-d input
    if not np.isfinite(top).all():
        top[~np.isfinite(top)] = 0.0
    shifted = logits - top
    with np.errstate(divide="ignore", invalid="ignore"):  # a row of -inf (every token forbidden) gives NaN
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _rows(scores: np.ndarray) -> np.ndarray:
    """A float64 (B, V) copy of ``scores``."""
    out = np.array(scores, dtype=np.float64)
    return out[None, :] if out.ndim == 1 else out


def _like(out: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return out[0] if np.ndim(scores) == 1 else out


def _per_row(sequences: Sequence[Sequence[int]] | Sequence[int], rows: int) -> list[Sequence[int]]:
    """``sequences`` as one id sequence per row (a flat sequence serves a single row)."""
    if rows == 1 and (len(sequences) == 0 or np.ndim(sequences[0]) == 0):
        return [sequences]  # type: ignore[list-item]
    if len(sequences) != rows:
        raise ValueError(f"expected {rows} sequences, one per row of scores, got {len(sequences)}")
    return list(sequences)  # type: ignore[arg-type]


def repetition_penalty(scores: np.ndarray, sequences, penalty: float) -> np.ndarray:
    """CTRL's penalty on every token already in a row's sequence (prompt and generated).

    A token's positive score is divided by ``penalty``, a negative one
    multiplied by it, so ``penalty > 1`` discourages repeats.
    """
    out = _rows(scores)
    for row, sequence in zip(out, _per_row(sequences, len(out))):
        seen = np.unique(np.asarray(sequence, dtype=np.int64))
        if seen.size:
            values = row[seen]
            row[seen] = np.where(values < 0, values * penalty, values / penalty)
    return _like(out, scores)


def repeated_ngram_tokens(sequence: Sequence[int], n: int) -> set[int]:
    """Tokens that would complete an ``n``-gram already present in ``sequence``."""
    sequence = list(sequence)
    if n <= 0 or len(sequence) < n - 1:
        return set()
    if n == 1:
        return set(sequence)
    prefix = sequence[len(sequence) - n + 1:]
    return {sequence[i + n - 1] for i in range(len(sequence) - n + 1) if sequence[i:i + n - 1] == prefix}


def no_repeat_ngram(scores: np.ndarray, sequences, n: int) -> np.ndarray:
    """Forbid each row the tokens that would repeat an ``n``-gram of its sequence."""
    out = _rows(scores)
    for row, sequence in zip(out, _per_row(sequences, len(out))):
        banned = repeated_ngram_tokens(sequence, n)
        if banned:
            row[list(banned)] = -np.inf
    return _like(out, scores)


def min_new_tokens(scores: np.ndarray, n_new: int, minimum: int, eos_ids) -> np.ndarray:
    """Forbid the EOS tokens while fewer than ``minimum`` tokens have been generated."""
    out = _rows(scores)
    eos = list(eos_ids)
    if n_new < minimum and eos:
        out[:, eos] = -np.inf
    return _like(out, scores)


def temperature(scores: np.ndarray, value: float) -> np.ndarray:
    """Scores divided by the temperature ``value`` (> 0)."""
    return np.asarray(scores, dtype=np.float64) / value


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` highest scores of each row (and any tied with the k-th)."""
    out = _rows(scores)
    k = min(max(int(k), 1), out.shape[-1])
    kth = np.partition(out, -k, axis=-1)[:, -k, None]
    out[out < kth] = -np.inf
    return _like(out, scores)


def _remove_sorted(out: np.ndarray, order: np.ndarray, remove_sorted: np.ndarray) -> np.ndarray:
    """Set ``-inf`` where ``remove_sorted`` (a mask in ``order``'s sorted positions) is true."""
    remove = np.zeros_like(remove_sorted)
    np.put_along_axis(remove, order, remove_sorted, axis=-1)
    out[remove] = -np.inf
    return out


def _softmax(scores: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(scores))


def top_p(scores: np.ndarray, p: float) -> np.ndarray:
    """Nucleus filtering: keep the smallest set of most likely tokens whose probability reaches ``p``."""
    out = _rows(scores)
    order = np.argsort(out, axis=-1, kind="stable")  # ascending, as HF
    cumulative = np.cumsum(_softmax(np.take_along_axis(out, order, axis=-1)), axis=-1)
    remove_sorted = cumulative <= 1 - p
    remove_sorted[:, -1] = False  # the most likely token always stays
    return _like(_remove_sorted(out, order, remove_sorted), scores)


def min_p(scores: np.ndarray, p: float) -> np.ndarray:
    """Remove tokens less likely than ``p`` times the most likely token's probability."""
    out = _rows(scores)
    probs = _softmax(out)
    remove = probs < p * probs.max(axis=-1, keepdims=True)
    remove[np.arange(len(out)), np.argmax(probs, axis=-1)] = False
    out[remove] = -np.inf
    return _like(out, scores)


def typical_p(scores: np.ndarray, mass: float) -> np.ndarray:
    """Locally typical sampling: keep the tokens whose surprisal is closest to the entropy, up to ``mass``."""
    out = _rows(scores)
    normalized = log_softmax(out)
    probs = np.exp(normalized)
    with np.errstate(invalid="ignore"):
        entropy = -np.nansum(normalized * probs, axis=-1, keepdims=True)
    shifted = np.abs(-normalized - entropy)
    order = np.argsort(shifted, axis=-1, kind="stable")
    sorted_shifted = np.take_along_axis(shifted, order, axis=-1)
    cumulative = np.cumsum(_softmax(np.take_along_axis(out, order, axis=-1)), axis=-1)
    last = np.minimum((cumulative < mass).sum(axis=-1), out.shape[-1] - 1)
    remove_sorted = sorted_shifted > sorted_shifted[np.arange(len(out)), last][:, None]
    remove_sorted[:, 0] = False
    return _like(_remove_sorted(out, order, remove_sorted), scores)


def _eos_set(eos_token_id: int | Sequence[int] | None) -> frozenset[int]:
    if eos_token_id is None:
        return frozenset()
    if isinstance(eos_token_id, (int, np.integer)):
        ids = [eos_token_id]
    else:
        ids = list(eos_token_id)
    if any(not isinstance(t, (int, np.integer)) or isinstance(t, bool) or t < 0 for t in ids):
        raise ParameterError("eos_token_id", f"must be token ids (integers >= 0), got {eos_token_id!r}")
    return frozenset(int(t) for t in ids)


def _check(param: str, value: Any, ok, requirement: str, integer: bool = False) -> None:
    """Raise a :class:`ParameterError` unless ``value`` is a (finite; integer if asked) number passing ``ok``."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not np.isfinite(value) or not ok(value):
        raise ParameterError(param, f"must be {requirement}, got {value!r}")


class LogitsRules:
    """The logits rules of one generation, applied in Hugging Face's order.

    Processors (every decoder): ``repetition_penalty`` (1.0: off),
    ``no_repeat_ngram_size`` (0: off), ``eos_token_id`` (an id or ids ending a
    sequence) with ``min_new_tokens`` (0). Warpers (sampling only):
    ``temperature`` (1.0; 0 means greedy, no warpers), ``top_k`` (0: off),
    ``top_p`` (1.0: off), ``min_p`` (0.0: off), ``typical_p`` (1.0: off).
    A bad value is a :class:`~seqdl.errors.ParameterError` naming the option.
    """

    def __init__(self, *, repetition_penalty: float = 1.0, no_repeat_ngram_size: int = 0,
                 eos_token_id: int | Sequence[int] | None = None, min_new_tokens: int = 0,
                 temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0,
                 typical_p: float = 1.0):
        _check("repetition_penalty", repetition_penalty, lambda v: v > 0, "a number > 0")
        _check("no_repeat_ngram_size", no_repeat_ngram_size, lambda v: v >= 0, "an integer >= 0", integer=True)
        _check("min_new_tokens", min_new_tokens, lambda v: v >= 0, "an integer >= 0", integer=True)
        _check("temperature", temperature, lambda v: v >= 0, "a number >= 0")
        _check("top_k", top_k, lambda v: v >= 0, "an integer >= 0", integer=True)
        _check("top_p", top_p, lambda v: 0 < v <= 1, "in (0, 1]")
        _check("min_p", min_p, lambda v: 0 <= v <= 1, "in [0, 1]")
        _check("typical_p", typical_p, lambda v: 0 < v <= 1, "in (0, 1]")
        self.repetition_penalty = float(repetition_penalty)
        self.no_repeat_ngram_size = int(no_repeat_ngram_size)
        self.eos = _eos_set(eos_token_id)
        self.min_new_tokens = int(min_new_tokens)
        self.temperature, self.top_k, self.top_p = float(temperature), int(top_k), float(top_p)
        self.min_p, self.typical_p = float(min_p), float(typical_p)

    @property
    def greedy(self) -> bool:
        """Whether ``temperature`` is 0: the decoder takes the most likely token, and no warper applies."""
        return self.temperature == 0

    def is_eos(self, token: int) -> bool:
        """Whether ``token`` ends a sequence."""
        return token in self.eos

    def process(self, scores: np.ndarray, sequences, n_new: int) -> np.ndarray:
        """The processors: repetition penalty, no-repeat-n-gram, minimum length (in that order).

        ``sequences`` holds each row's prompt plus generated ids (a flat
        sequence for a single row); ``n_new`` is how many were generated.
        """
        out = np.array(scores, dtype=np.float64)
        if self.repetition_penalty != 1.0:
            out = repetition_penalty(out, sequences, self.repetition_penalty)
        if self.no_repeat_ngram_size:
            out = no_repeat_ngram(out, sequences, self.no_repeat_ngram_size)
        if self.min_new_tokens:
            out = min_new_tokens(out, n_new, self.min_new_tokens, self.eos)
        return out

    def warp(self, scores: np.ndarray) -> np.ndarray:
        """The warpers: temperature, top-k, top-p, min-p, typical-p (in that order). Not for greedy."""
        out = np.asarray(scores, dtype=np.float64)
        if self.temperature != 1.0:
            out = temperature(out, self.temperature)
        if self.top_k:
            out = top_k(out, self.top_k)
        if self.top_p < 1.0:
            out = top_p(out, self.top_p)
        if self.min_p > 0.0:
            out = min_p(out, self.min_p)
        if self.typical_p < 1.0:
            out = typical_p(out, self.typical_p)
        return out

    def distribution(self, scores: np.ndarray, sequences, n_new: int) -> np.ndarray:
        """Normalised log-probabilities a sampler draws from: processors, then warpers unless greedy."""
        out = self.process(scores, sequences, n_new)
        return log_softmax(out if self.greedy else self.warp(out))
