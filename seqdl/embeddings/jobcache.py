"""Keep the first epoch's encoded jobs in temporary files, so later epochs skip tokenizing.

Tokenizing and looking words up in Python costs about as much per word as
training with two threads, so re-encoding the corpus every epoch would make
the Python thread that feeds the workers the bottleneck. The first epoch
writes each job's word ids (int32) and sentence ends (int64) to two files in
a temporary folder; later epochs read them back one job at a time. Memory
stays bounded (one job at a time), the disk holds 4 bytes per corpus word
plus 8 per sentence, and the folder is removed when training ends.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .jobs import Job


class JobCache:
    """Append-then-replay store of :class:`Job` s; use as a context manager to remove its files."""

    def __init__(self, folder: str | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="seqdl-word2vec-", dir=folder)
        root = Path(self._tmp.name)
        self._ids_path, self._ends_path = root / "ids.int32", root / "ends.int64"
        self._ids = open(self._ids_path, "wb")
        self._ends = open(self._ends_path, "wb")
        self._sizes: list[tuple[int, int]] = []  # (ids, sentence ends) of each job

    def __enter__(self) -> "JobCache":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Delete the files."""
        for fh in (self._ids, self._ends):
            fh.close()
        self._tmp.cleanup()

    def add(self, job: Job) -> None:
        """Store ``job``'s ids and sentence ends."""
        self._ids.write(job.ids.astype(np.int32, copy=False).tobytes())
        self._ends.write(job.sentence_ends.astype(np.int64, copy=False).tobytes())
        self._sizes.append((len(job.ids), len(job.sentence_ends)))

    def recording(self, jobs: Iterable[Job]) -> Iterator[Job]:
        """``jobs``, each stored as it passes."""
        for job in jobs:
            self.add(job)
            yield job

    def replay(self, epoch: int, first_number: int, words_before: int) -> Iterator[Job]:
        """The stored jobs again, numbered from ``first_number`` for ``epoch``."""
        self._ids.flush()
        self._ends.flush()
        with open(self._ids_path, "rb") as ids, open(self._ends_path, "rb") as ends:
            for offset, (n_ids, n_ends) in enumerate(self._sizes):
                job = Job(first_number + offset, epoch, np.fromfile(ids, dtype=np.int32, count=n_ids),
                          np.fromfile(ends, dtype=np.int64, count=n_ends), words_before)
                words_before += n_ids
                yield job
