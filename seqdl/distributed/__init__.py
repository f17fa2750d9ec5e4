"""Training across machines on Dask distributed (an optional extra: ``pip install 'seqdl[distributed]'``).

- :func:`~seqdl.distributed.cluster.connect` gives a Dask client for
  ``tcp://HOST:8786`` (a running scheduler) or ``local:N`` (N worker
  processes started here).
- :func:`~seqdl.distributed.word2vec.train_word2vec` trains a
  :class:`~seqdl.Word2Vec` by model averaging across the workers; it is what
  ``Word2Vec.train(corpus, client=...)`` and ``seqdl embed --cluster`` run.

Importing this package does not import Dask (nor numpy); see docs/distributed.md.
"""

from __future__ import annotations

from .cluster import ClusterError, connect, parse_cluster, require_dask

__all__ = ["ClusterError", "connect", "parse_cluster", "require_dask", "train_word2vec"]


def train_word2vec(*args, **kwargs):
    """See :func:`seqdl.distributed.word2vec.train_word2vec`."""
    from .word2vec import train_word2vec as train

    return train(*args, **kwargs)
