"""Evaluation on standard sets: analogies (questions-words) and word-pair similarity.

Both follow gensim's ``evaluate_word_analogies`` / ``evaluate_word_pairs``:
words are matched case-insensitively against the ``restrict_vocab`` most
frequent words (the first rows of the vectors file), and questions or pairs
with a word outside them are skipped and counted. Unlike gensim, a malformed
line is an error naming the file and line, not a silent skip.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable
import numpy as np

from seqdl.errors import InputError, SeqdlError
from seqdl.io import read_text
from seqdl.progress import NullProgress, ProgressReporter

from .ranking import AnalogyMethod, batch_size, case_insensitive_vocab, check_restrict_vocab, top_n

#: gensim's evaluate_word_analogies looks at this many answers for one outside the question.
ANSWERS_CONSIDERED = 5


@dataclass
class Section:
    """A named group of analogy questions ``(a, b, c, expected)``: a is to b as c is to expected."""

    name: str
    questions: list[tuple[str, str, str, str]] = field(default_factory=list)


def _read_lines(path: str | os.PathLike, what: str):
    return enumerate(read_text(path, what).splitlines(), start=1)


def read_questions(path: str | os.PathLike) -> list[Section]:
    """Parse a questions-words file: ``: section`` lines, then four words a line."""
    sections: list[Section] = []
    for number, line in _read_lines(path, "questions file"):
        if line.startswith(": "):
            sections.append(Section(line[2:].strip()))
            continue
        words = line.split()
        if not words:
            continue
        if len(words) != 4:
            raise InputError(f"expected 4 words, found {len(words)}", path=str(path), line=number)
        if not sections:
            raise InputError("question before the first ': section' line", path=str(path), line=number)
        sections[-1].questions.append(tuple(words))
    if not any(s.questions for s in sections):
        raise InputError("no analogy questions found", path=str(path))
    return sections


@dataclass
class SectionScore:
    """How one section went: questions answered correctly, answered, and skipped as out of vocabulary."""

    section: str
    correct: int = 0
    answered: int = 0
    skipped: int = 0

    @property
    def accuracy(self) -> float:
        """correct / answered, 0.0 when nothing was answered (as gensim)."""
        return self.correct / self.answered if self.answered else 0.0

    def as_dict(self) -> dict:
        """The score as a JSON-serialisable dict, accuracy included."""
        return {**asdict(self), "accuracy": self.accuracy}


@dataclass
class AnalogyScore:
    """The result of :func:`evaluate_analogies`: per-section scores and their total."""

    sections: list[SectionScore]
    method: str
    restrict_vocab: int

    @property
    def total(self) -> SectionScore:
        """All sections together."""
        return SectionScore("total", sum(s.correct for s in self.sections),
                            sum(s.answered for s in self.sections), sum(s.skipped for s in self.sections))

    def as_dict(self) -> dict:
        """The scores as a JSON-serialisable dict."""
        total = self.total
        questions = total.answered + total.skipped
        return {"method": self.method, "restrict_vocab": self.restrict_vocab,
                "sections": [s.as_dict() for s in self.sections], "total": total.as_dict(),
                "questions": questions, "skipped_oov": total.skipped,
                "oov_ratio": total.skipped / questions if questions else 0.0}


def evaluate_analogies(kv, sections: list[Section], method: AnalogyMethod, method_name: str = "3cosadd",
                       restrict_vocab: int = 300_000, progress: ProgressReporter | None = None) -> AnalogyScore:
    """Answer every question with ``method`` over the ``restrict_vocab`` most frequent words.

    As gensim: the three question words are never answers; of the best
    :data:`ANSWERS_CONSIDERED` answers, the first that is no case variant of a
    question word counts. ``progress`` (a :class:`seqdl.progress.ProgressReporter`)
    is updated with the number of questions finished, out of all questions.
    ``restrict_vocab`` must be at least 1.
    """
    check_restrict_vocab(restrict_vocab)
    progress = progress if progress is not None else NullProgress()
    total = sum(len(s.questions) for s in sections)
    skipped = 0
    limit = min(int(restrict_vocab), len(kv))
    vocab = case_insensitive_vocab(kv.index_to_key[:limit])
    # canonical[i]: the row standing for word i's upper-cased form (its most frequent variant).
    canonical = np.array([vocab[key.upper()] for key in kv.index_to_key[:limit]], dtype=np.int64)
    scores = [SectionScore(s.name) for s in sections]
    rows, owners = [], []
    for number, section in enumerate(sections):
        for question in section.questions:
            found = [vocab.get(word.upper()) for word in question]
            if None in found:
                scores[number].skipped += 1
                skipped += 1
                continue
            rows.append(found)
            owners.append(number)
    progress.update(skipped, total)
    if rows:
        def answered(count: int) -> None:
            progress.update(skipped + count, total)

        correct = _answer(kv.get_normed_vectors()[:limit], canonical, np.array(rows, dtype=np.int64), method,
                          answered)
        for number, right in zip(owners, correct):
            scores[number].answered += 1
            scores[number].correct += int(right)
    return AnalogyScore(scores, method_name, int(restrict_vocab))


def _answer(candidates: np.ndarray, canonical: np.ndarray, rows: np.ndarray, method: AnalogyMethod,
            answered: Callable[[int], None]) -> np.ndarray:
    """For each question row (a, b, c, expected), whether ``method`` answers expected: one product per batch.

    ``answered`` is called with the number of rows done after each batch.
    """
    correct = np.zeros(len(rows), dtype=bool)
    step = batch_size(len(candidates))
    for start in range(0, len(rows), step):
        chunk = rows[start:start + step]
        a, b, c, expected = chunk.T
        scores = method(candidates, candidates[np.stack([b, c], axis=1)], candidates[a[:, None]])
        best, best_scores = top_n(np.asarray(scores), chunk[:, :3], ANSWERS_CONSIDERED)
        valid = np.isfinite(best_scores)
        forms = canonical[best]
        fresh = valid & (forms != a[:, None]) & (forms != b[:, None]) & (forms != c[:, None])
        # gensim keeps the last answer looked at when all of them are question words.
        last_valid = np.where(valid.any(axis=1), valid.sum(axis=1) - 1, 0)
        pick = np.where(fresh.any(axis=1), fresh.argmax(axis=1), last_valid)
        chosen = forms[np.arange(len(chunk)), pick]
        correct[start:start + len(chunk)] = valid.any(axis=1) & (chosen == expected)
        answered(start + len(chunk))
    return correct


@dataclass
class PairsScore:
    """The result of :func:`evaluate_pairs`: correlations with human judgements and out-of-vocabulary pairs."""

    pearson: float
    spearman: float
    pairs: int
    skipped: int

    @property
    def oov_ratio(self) -> float:
        """Share of pairs skipped for an unknown word (gensim reports it times 100)."""
        total = self.pairs + self.skipped
        return self.skipped / total if total else 0.0

    def as_dict(self) -> dict:
        """The score as a JSON-serialisable dict."""
        return {**asdict(self), "oov_ratio": self.oov_ratio}


def read_pairs(path: str | os.PathLike) -> list[tuple[str, str, float]]:
    """Parse a word-pair file: ``word1 word2 score`` (wordsim353) or ``word1 word2 POS score ...`` (SimLex-999).

    Fields are separated by tabs if the line has one, else by spaces; the score
    is the first number after the two words. ``#`` lines are comments, and a
    first line without a number is a header.
    """
    pairs: list[tuple[str, str, float]] = []
    header_allowed = True
    for number, line in _read_lines(path, "word-pairs file"):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")] if "\t" in line else line.split()
        score = _first_number(fields[2:])
        if score is None:
            if header_allowed:
                header_allowed = False
                continue
            raise InputError("expected 'word1 word2 score'", path=str(path), line=number)
        if not math.isfinite(score):
            raise InputError(f"the score {score} is not a finite number", path=str(path), line=number)
        header_allowed = False
        pairs.append((fields[0], fields[1], score))
    if not pairs:
        raise InputError("no word pairs found", path=str(path))
    return pairs


def _first_number(fields: list[str]) -> float | None:
    for text in fields:
        try:
            return float(text)
        except ValueError:
            continue
    return None


def evaluate_pairs(kv, pairs: list[tuple[str, str, float]], restrict_vocab: int = 300_000) -> PairsScore:
    """Pearson and Spearman correlation of cosine similarity with the pairs' scores, like gensim.

    A correlation is NaN when either side is constant (every pair scored the same).
    """
    from scipy import stats

    check_restrict_vocab(restrict_vocab)
    limit = min(int(restrict_vocab), len(kv))
    vocab = case_insensitive_vocab(kv.index_to_key[:limit])
    found = [(vocab.get(a.upper()), vocab.get(b.upper()), gold) for a, b, gold in pairs]
    known = [(i, j, gold) for i, j, gold in found if i is not None and j is not None]
    if len(known) < 2:
        have = "only one pair has" if known else "no pair has"
        raise SeqdlError(f"{have} both words in the vocabulary; a correlation needs at least two")
    first, second, gold = (np.array(column) for column in zip(*known))
    normed = kv.get_normed_vectors()
    model = np.einsum("ij,ij->i", normed[first], normed[second])
    with warnings.catch_warnings():  # constant scores: the correlation is NaN, which the report shows
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        pearson, spearman = stats.pearsonr(gold, model)[0], stats.spearmanr(gold, model)[0]
    return PairsScore(pearson=float(pearson), spearman=float(spearman), pairs=len(known),
                      skipped=len(pairs) - len(known))
