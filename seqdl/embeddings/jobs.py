"""Cut a stream of sentences into training jobs of at most ``job_words`` word ids.

Sentences are kept whole within a job; only a sentence longer than a job is
split, into consecutive pieces, so no word is ever dropped (gensim silently
truncates sentences after 10,000 words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

#: Words per job: small enough for a fine learning-rate schedule, large enough
#: that calling the kernel costs nothing.
JOB_WORDS = 10_000


@dataclass
class Job:
    """Word ids (-1 outside the vocabulary) and sentence end offsets, and where the job sits in the run."""

    number: int
    epoch: int
    ids: np.ndarray
    sentence_ends: np.ndarray
    words_before: int

    @property
    def words(self) -> int:
        """Corpus words in the job, unknown ones included (they count towards progress)."""
        return len(self.ids)


def make_jobs(sentences: Iterable[Sequence[str]], index: Mapping[str, int], epoch: int,
              first_number: int, words_before: int, job_words: int = JOB_WORDS) -> Iterator[Job]:
    """Encode ``sentences`` with ``index`` (which returns -1 for unknown words) and group them into jobs."""
    lookup = index.__getitem__
    ids: list[int] = []
    ends: list[int] = []
    number = first_number

    def flush() -> Job:
        nonlocal number, words_before
        job = Job(number, epoch, np.array(ids, dtype=np.int32), np.array(ends, dtype=np.int64), words_before)
        number += 1
        words_before += len(ids)
        ids.clear()
        ends.clear()
        return job

    for sentence in sentences:
        if ids and len(ids) + len(sentence) > job_words:
            yield flush()
        for start in range(0, len(sentence), job_words):
            if len(ids) == job_words:
                yield flush()
            ids.extend(map(lookup, sentence if len(sentence) <= job_words else sentence[start:start + job_words]))
            ends.append(len(ids))
    if ids:
        yield flush()
