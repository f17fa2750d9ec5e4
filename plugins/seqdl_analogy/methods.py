"""Analogy scoring methods: 3CosAdd and 3CosMul (Levy & Goldberg 2014), batched.

An analogy method has the signature registered through
``register_analogy_methods``::

    method(candidates, positive, negative) -> scores

``candidates`` is a (V, D) float32 array of unit-length word vectors to rank,
``positive`` a (B, P, D) and ``negative`` a (B, N, D) array of the unit
vectors of each query's positive and negative words (N may be 0). It returns
a (B, V) array: higher is a better answer. The caller excludes the query words
and picks the top n, so a method only scores, and does so for a whole batch
with matrix products.
"""

from __future__ import annotations

import numpy as np

#: Added to the 3CosMul denominator to avoid division by zero (gensim's value).
COSMUL_EPSILON = 1e-6


def cos_add(candidates: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """3CosAdd: cosine with the unit mean of positive minus negative vectors (gensim ``most_similar``)."""
    query = positive.sum(axis=1) - negative.sum(axis=1)
    norms = np.linalg.norm(query, axis=1, keepdims=True)
    query = query / np.where(norms > 0, norms, 1)
    return query.astype(candidates.dtype, copy=False) @ candidates.T


def cos_mul(candidates: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """3CosMul: product of positive over product of negative cosines, each shifted to [0, 1].

    As gensim's ``most_similar_cosmul``: ``prod((1 + cos(w, p)) / 2) /
    (prod((1 + cos(w, n)) / 2) + 1e-6)``.
    """
    batch, n_pos, dim = positive.shape
    n_neg = negative.shape[1]
    words = np.concatenate([positive, negative], axis=1).reshape(-1, dim).astype(candidates.dtype, copy=False)
    shifted = words @ candidates.T  # (B * (P + N), V): one product for the whole batch
    shifted += 1
    shifted *= 0.5
    shifted = shifted.reshape(batch, n_pos + n_neg, -1)
    denominator = shifted[:, n_pos:].prod(axis=1)
    denominator += COSMUL_EPSILON
    numerator = shifted[:, :n_pos].prod(axis=1)
    numerator /= denominator
    return numerator


#: The methods this plugin registers, by name.
METHODS = {"3cosadd": cos_add, "3cosmul": cos_mul}
