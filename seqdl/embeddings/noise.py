"""Random numbers and O(1) noise-word sampling for the training kernels.

The generator is xorshift64* (one multiply per draw, good high bits), seeded
per job with splitmix64 so that a job's draws depend only on the seed and the
job's number. Noise words are drawn from ``count ** 0.75`` with Walker's
alias method: one draw picks a bucket from the high 32 bits and decides
between the bucket's word and its alias with the low 32 bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_MULT = np.uint64(0x2545F4914F6CDD1D)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MASK32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def seed_state(seed, stream):
    """A non-zero xorshift state for job ``stream`` of a run seeded with ``seed`` (splitmix64)."""
    z = np.uint64(seed) * _GOLDEN + np.uint64(stream) * np.uint64(0xBF58476D1CE4E5B9) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return z if z != np.uint64(0) else _GOLDEN


@njit(cache=True, nogil=True, inline="always")
def next_random(state):
    """Advance the generator: ``(64 random bits, new state)``."""
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state * _MULT, state


@njit(cache=True, nogil=True, inline="always")
def below(bits, n):
    """A number in ``[0, n)`` from the high 32 bits of ``bits`` (multiply-shift, no division)."""
    return np.int64(((bits >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(cache=True, nogil=True, inline="always")
def draw_noise(state, accept, alias):
    """One noise word from the alias table: ``(word, new state)``."""
    bits, state = next_random(state)
    bucket = below(bits, accept.shape[0])
    if (bits & _MASK32) <= np.uint64(accept[bucket]):
        return bucket, state
    return np.int64(alias[bucket]), state


@njit(cache=True, nogil=True)
def draw_many(seed, accept, alias, count):
    """``count`` noise ids drawn with :func:`draw_noise` from a generator seeded with ``seed`` (stream 0)."""
    state = seed_state(seed, 0)
    out = np.empty(count, dtype=np.int64)
    for i in range(count):
        out[i], state = draw_noise(state, accept, alias)
    return out


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """The noise probabilities ``count ** exponent``, normalised (float64)."""
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    return weights / weights.sum()


def alias_table(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table for ``probabilities``: ``(accept uint32, alias int32)``.

    Bucket ``i`` returns ``i`` when the low 32 random bits are at most
    ``accept[i]``, else ``alias[i]``.
    """
    n = len(probabilities)
    scaled = np.asarray(probabilities, dtype=np.float64) * n
    accept, alias = _build_alias(scaled)
    return np.minimum(np.round(accept * 2.0**32), 2.0**32 - 1).astype(np.uint32), alias


@njit(cache=True, nogil=True)
def _build_alias(scaled):
    n = scaled.shape[0]
    accept = np.ones(n, dtype=np.float64)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        l = large[nl - 1]
        accept[s] = scaled[s]
        alias[s] = l
        scaled[l] = scaled[l] + scaled[s] - 1.0
        if scaled[l] < 1.0:
            nl -= 1
            small[ns] = l
            ns += 1
    return accept, alias
