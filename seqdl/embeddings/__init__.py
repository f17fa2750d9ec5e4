"""Word embeddings: word2vec and fastText models, their numba kernels, word vectors and vector file formats.

Import the modules you need (``params``, ``keyedvectors``, ``subwordvectors``,
``formats``, ``facebook`` and ``loading`` need only numpy; ``word2vec``,
``fasttext``, ``kernels`` and ``runner`` load numba), or use the public names
``seqdl.Word2Vec``, ``seqdl.FastText``, ``seqdl.Word2VecParams``,
``seqdl.FastTextParams``, ``seqdl.KeyedVectors``, ``seqdl.FastTextKeyedVectors``
and ``seqdl.load_vectors``.
"""
