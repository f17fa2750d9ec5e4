"""FastText: word2vec whose input vectors are the mean of a word's row and its character n-grams' rows.

Bojanowski et al. 2017, with fastText's ``<``/``>`` word boundaries and
n-gram hashing (:mod:`seqdl.embeddings.subwords`), so its n-gram rows mean
what Facebook's and gensim's do. Training runs the same kernels as
:class:`~seqdl.embeddings.word2vec.Word2Vec`, given each word's list of rows.
"""

from __future__ import annotations

import numpy as np

from ..text.vocab import Vocabulary
from .params import FastTextParams
from .subwords import subword_table
from .subwordvectors import FastTextKeyedVectors
from .word2vec import Word2Vec

__all__ = ["FastText"]


class FastText(Word2Vec):
    """Subword embeddings (skip-gram or CBOW, negative sampling or the softmaxes).

    Takes the fields of :class:`FastTextParams` (word2vec's plus ``minn``,
    ``maxn`` and ``bucket``). After training, ``wv`` is a
    :class:`FastTextKeyedVectors`, which gives vectors to words outside the
    vocabulary.
    """

    params_class = FastTextParams
    FORMAT = "seqdl.FastText"

    def _input_rows(self, vocab_size: int) -> int:
        return vocab_size + self.params.bucket

    def _subword_table(self, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
        return subword_table(vocab.words, self.params.minn, self.params.maxn, self.params.bucket)

    def _keyed_vectors(self, vocab: Vocabulary, syn0: np.ndarray) -> FastTextKeyedVectors:
        n = len(vocab)
        return FastTextKeyedVectors(vocab.words, syn0[:n], syn0[n:], self.params.minn, self.params.maxn,
                                    vocab.counts)
