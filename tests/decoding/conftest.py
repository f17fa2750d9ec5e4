"""A tiny language model whose next-token distribution depends on the last two tokens."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqdl.decoding import log_softmax


class SecondOrderModel:
    """A random second-order Markov model over ``vocab_size`` tokens, following seqdl.StepModel."""

    def __init__(self, vocab_size: int = 4, seed: int = 0, sharpness: float = 0.5):
        rng = np.random.default_rng(seed)
        self.vocab_size = vocab_size
        self.table = log_softmax(sharpness * rng.normal(size=(vocab_size, vocab_size, vocab_size)))
        self.calls = 0

    def _log_probs(self, history: tuple[int, ...]) -> np.ndarray:
        self.calls += 1
        a, b = (history[-2:] if len(history) >= 2 else (0, *history[-1:]) if history else (0, 0))
        return self.table[a, b].copy()

    def start(self, prompt):
        history = tuple(prompt)
        return self._log_probs(history), history

    def step(self, state, token):
        history = state + (token,)
        return self._log_probs(history), history

    def sequence_log_prob(self, prompt, tokens) -> float:
        """Exact log-probability of generating ``tokens`` after ``prompt``."""
        log_probs, state = self.start(prompt)
        total = 0.0
        for token in tokens:
            total += log_probs[token]
            log_probs, state = self.step(state, token)
        return float(total)


def repeats_an_ngram(sequence, first_new, n) -> bool:
    """Whether an n-gram ending at a generated position (index >= first_new) occurred earlier."""
    for end in range(max(first_new, n - 1), len(sequence)):
        gram = sequence[end - n + 1:end + 1]
        if any(sequence[start:start + n] == gram for start in range(end - n + 1)):
            return True
    return False


def exhaustive(model, prompt, max_new_tokens, length_penalty=1.0, eos=None, min_new_tokens=0, no_repeat=0):
    """Every allowed finished sequence scored as beam search scores it, best first."""
    results = []
    for length in range(1, max_new_tokens + 1):
        for tokens in itertools.product(range(model.vocab_size), repeat=length):
            eos_positions = [i for i, t in enumerate(tokens) if eos is not None and t == eos]
            if eos_positions and eos_positions[0] != length - 1:
                continue  # EOS ends a sequence: nothing after it
            if length < max_new_tokens and not eos_positions:
                continue  # without EOS a sequence only ends at max length
            if eos_positions and length - 1 < min_new_tokens:
                continue
            if no_repeat and repeats_an_ngram(list(prompt) + list(tokens), len(prompt), no_repeat):
                continue
            log_prob = model.sequence_log_prob(prompt, tokens)
            results.append((log_prob / length ** length_penalty, tokens))
    results.sort(key=lambda r: -r[0])
    return results


@pytest.fixture
def make_model():
    """Factory: ``make_model(vocab_size=4, seed=0, sharpness=0.5)``."""
    return SecondOrderModel


@pytest.fixture
def exhaustive_search():
    return exhaustive
