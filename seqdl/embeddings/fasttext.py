"""FastText: word2vec whose input vectors are the mean of a word's row and its character n-grams' rows.

Bojanowski et al. 2017, with fastText's ``<``/``>`` word boundaries and
n-gram hashing (:mod:`seqdl.embeddings.subwords`), so its n-gram rows mean
what Facebook's and gensim's do. Training runs the same kernels as
:class:`~seqdl.embeddings.word2vec.Word2Vec`, given each word's list of rows.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import ModelFileError, ParameterError
from ..text.vocab import Vocabulary
from .facebook import read_facebook_model
from .params import FastTextParams
from .subwords import subword_table
from .subwordvectors import FastTextKeyedVectors
from .word2vec import Word2Vec

__all__ = ["FastText"]

#: fastText's model and loss enums (args.h) as seqdl's names.
_FB_ARCH = {1: "cbow", 2: "skipgram"}
_FB_LOSS = {2: "negative", 3: "softmax"}


class FastText(Word2Vec):
    """Subword embeddings (skip-gram or CBOW, negative sampling or the softmaxes).

    Takes the fields of :class:`FastTextParams` (word2vec's plus ``minn``,
    ``maxn`` and ``bucket``). After training, ``wv`` is a
    :class:`FastTextKeyedVectors`, which gives vectors to words outside the
    vocabulary.
    """

    params_class = FastTextParams
    FORMAT = "seqdl.FastText"

    def __init__(self, params: FastTextParams | None = None, **settings):
        super().__init__(params, **settings)
        self._table: tuple[np.ndarray, np.ndarray] | None = None  # the word -> rows table of _table_for
        self._table_for: Vocabulary | None = None

    def _input_rows(self, vocab_size: int) -> int:
        return vocab_size + self.params.bucket

    def _subword_table(self, vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
        if self._table_for is not vocab:  # computed once per vocabulary
            self._table = subword_table(vocab.words, self.params.minn, self.params.maxn, self.params.bucket)
            self._table_for = vocab
        return self._table

    @classmethod
    def load_facebook(cls, path: str | os.PathLike) -> "FastText":
        """A trainable model from a Facebook fastText ``.bin`` (unsupervised, negative sampling or softmax).

        Its settings come from the file (``ws`` -> ``window``, ``neg`` ->
        ``negative``, ``t`` -> ``sample``...), its weights are the input and
        output matrices, so :meth:`update` continues where fastText stopped.
        """
        fb = read_facebook_model(path)
        a = fb.args
        if a["model"] not in _FB_ARCH or a["loss"] not in _FB_LOSS:
            raise ModelFileError(f"cannot continue a fastText model with model={a['model']}, loss={a['loss']} "
                                 "(seqdl trains skip-gram or CBOW with negative sampling or softmax)", path=str(path))
        try:
            params = FastTextParams(model=_FB_ARCH[a["model"]], loss=_FB_LOSS[a["loss"]], dim=a["dim"],
                                    window=a["ws"], negative=max(a["neg"], 1), min_count=max(a["min_count"], 1),
                                    sample=a["t"], epochs=max(a["epoch"], 1), minn=a["minn"], maxn=a["maxn"],
                                    bucket=a["bucket"])
        except ParameterError as exc:
            raise ModelFileError(f"unusable settings in the fastText header ({exc})", path=str(path)) from None
        model = cls(params)
        vocab = Vocabulary(fb.words, np.asarray(fb.counts, dtype=np.int64), fb.ntokens)
        model.vocab, model.syn0, model.syn1 = vocab, fb.input, fb.output
        model.wv = model._keyed_vectors(vocab, fb.input)
        return model

    def _keyed_vectors(self, vocab: Vocabulary, syn0: np.ndarray) -> FastTextKeyedVectors:
        n = len(vocab)
        return FastTextKeyedVectors(vocab.words, syn0[:n], syn0[n:], self.params.minn, self.params.maxn,
                                    vocab.counts, table=self._subword_table(vocab))
