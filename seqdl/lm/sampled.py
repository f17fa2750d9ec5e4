"""Sampled softmax (Jean et al. 2015; TensorFlow's ``sampled_softmax_loss``) for word-level training.

Each update scores every target and ``negative`` noise words shared by the
whole batch instead of the whole vocabulary. Noise words come from the
unigram counts of the training ids raised to 0.75 (word2vec's noise), drawn
with :mod:`seqdl.embeddings.noise`'s alias sampler; counts are add-one
smoothed so every word can be drawn and has a finite correction. Every logit
is corrected by ``-log(negative * q(word))`` and a noise word equal to a
row's target is removed from that row (TensorFlow's
``remove_accidental_hits``). Only training uses it: validation and
perplexity are always the full softmax.
"""

from __future__ import annotations

import numpy as np

from ..embeddings.noise import alias_table, draw_many, noise_distribution
from ..errors import ParameterError
from ..nn.kernels.elementwise import scatter_add_rows


class SampledSoftmax:
    """The sampled-softmax loss over a vocabulary with the given training ``counts``, ``negative`` noise words per batch."""

    def __init__(self, counts: np.ndarray, negative: int):
        if isinstance(negative, bool) or not isinstance(negative, (int, np.integer)) or negative < 1:
            raise ParameterError("negative", f"must be an integer >= 1, got {negative!r}")
        probabilities = noise_distribution(np.asarray(counts, dtype=np.float64) + 1.0)
        self.accept, self.alias = alias_table(probabilities)
        self.negative = int(negative)
        #: log of the expected count of each word among the noise words: the logits' correction.
        self.log_expected = np.log(self.negative * probabilities)

    def draw(self, seed: int) -> np.ndarray:
        """``negative`` noise word ids, a function of ``seed`` alone."""
        return draw_many(np.uint64(seed), self.accept, self.alias, self.negative)

    def loss(self, hidden: np.ndarray, targets: np.ndarray, negatives: np.ndarray, weight: np.ndarray,
             bias: np.ndarray, weight_grad: np.ndarray, bias_grad: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean sampled-softmax loss of ``hidden`` (M, H) for ``targets`` (M,) against ``negatives`` (K,).

        The output layer is ``weight`` (V, H) and ``bias`` (V,); their
        gradients are added to ``weight_grad`` and ``bias_grad`` (only the
        rows of the targets and negatives). Returns ``(loss, d loss / d hidden)``.
        """
        m = hidden.shape[0]
        true_w, noise_w = weight[targets], weight[negatives]
        correction = self.log_expected.astype(hidden.dtype)
        logits = np.empty((m, 1 + len(negatives)), dtype=hidden.dtype)
        logits[:, 0] = np.einsum("mh,mh->m", hidden, true_w) + bias[targets] - correction[targets]
        logits[:, 1:] = hidden @ noise_w.T + (bias[negatives] - correction[negatives])
        logits[:, 1:][negatives[None, :] == targets[:, None]] = -np.inf  # accidental hits
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        total = probs.sum(axis=1)
        loss = float(np.mean(np.log(total) - logits[:, 0]))
        grad = probs / (total[:, None] * m)
        grad[:, 0] -= 1.0 / m
        grad_hidden = grad[:, :1] * true_w + grad[:, 1:] @ noise_w
        scatter_add_rows(weight_grad, targets, grad[:, :1] * hidden)
        scatter_add_rows(weight_grad, negatives, grad[:, 1:].T @ hidden)
        np.add.at(bias_grad, targets, grad[:, 0])
        np.add.at(bias_grad, negatives, grad[:, 1:].sum(axis=0))
        return loss, grad_hidden
