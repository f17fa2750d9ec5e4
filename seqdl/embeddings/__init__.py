"""Word embeddings: the word2vec model, its numba kernels, KeyedVectors and vector file formats.

Import the modules you need (``seqdl.embeddings.keyedvectors`` needs only
numpy; ``seqdl.embeddings.word2vec`` loads numba), or use ``seqdl.Word2Vec``
and ``seqdl.KeyedVectors``.
"""
