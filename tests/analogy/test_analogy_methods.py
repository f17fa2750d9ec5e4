"""Ranking, batching and file parsing of the analogy plugin, without reference libraries."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl import KeyedVectors
from seqdl.errors import InputError, SeqdlError, VocabularyError
from seqdl_analogy.evaluate import evaluate_analogies, evaluate_pairs, read_pairs, read_questions
from seqdl_analogy.methods import cos_add, cos_mul
from seqdl_analogy.ranking import analogy, top_n, word_indices


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def test_top_n_matches_a_full_sort_and_never_returns_excluded():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((7, 50))
    exclude = rng.integers(0, 50, size=(7, 3))
    exclude[0, 0] = -1  # ignored
    rows, values = top_n(scores.copy(), exclude, 6)
    for r in range(7):
        allowed = [c for c in np.argsort(-scores[r], kind="stable") if c not in exclude[r]]
        assert list(rows[r]) == allowed[:6]
        np.testing.assert_array_equal(values[r], scores[r, allowed[:6]])
    rows, values = top_n(scores[:1].copy(), np.array([[0, 1]]), 100)  # more than there are
    assert rows.shape == (1, 50) and np.isneginf(values[0, -2:]).all()


@pytest.mark.parametrize("method", [cos_add, cos_mul])
def test_a_batch_scores_like_one_query_at_a_time(method):
    rng = np.random.default_rng(1)
    candidates = _unit(rng.standard_normal((200, 16)))
    positive = candidates[rng.integers(0, 200, size=(9, 2))]
    negative = candidates[rng.integers(0, 200, size=(9, 1))]
    batch = method(candidates, positive, negative)
    assert batch.shape == (9, 200)
    for q in range(9):
        np.testing.assert_allclose(batch[q], method(candidates, positive[q:q + 1], negative[q:q + 1])[0],
                                   rtol=1e-5, atol=1e-6)


def test_3cosadd_and_3cosmul_follow_their_formulas():
    rng = np.random.default_rng(2)
    candidates = _unit(rng.standard_normal((30, 5)))
    b, c, a = candidates[3], candidates[7], candidates[11]
    target = b + c - a
    np.testing.assert_allclose(cos_add(candidates, np.stack([b, c])[None], a[None, None])[0],
                               candidates @ (target / np.linalg.norm(target)), rtol=1e-5, atol=1e-6)
    shifted = lambda v: (1 + candidates @ v) / 2  # noqa: E731
    np.testing.assert_allclose(cos_mul(candidates, np.stack([b, c])[None], a[None, None])[0],
                               shifted(b) * shifted(c) / (shifted(a) + 1e-6), rtol=1e-5)


def _toy() -> KeyedVectors:
    # man/woman and king/queen differ by the same offset; 'King' is a rarer case variant.
    keys = ["man", "woman", "king", "queen", "apple", "King"]
    vectors = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [1, -1, -1], [0.1, 0, 1]], dtype=np.float32)
    return KeyedVectors(keys, vectors)


def test_analogy_excludes_query_words_and_finds_case_variants():
    kv = _toy()
    answers = analogy(kv, ["king", "woman"], ["man"], cos_add, topn=3)
    assert answers[0][0] == "queen"
    assert not {"king", "woman", "man"} & {w for w, _ in answers}
    assert analogy(kv, ["KING", "Woman"], ["MAN"], cos_add, topn=1)[0][0] == "queen"
    assert word_indices(kv, ["King", "KING"]) == [5, 2], "an exact match wins over case folding"


def test_unknown_words_are_all_named():
    with pytest.raises(VocabularyError) as info:
        analogy(_toy(), ["king", "nope"], ["zilch"], cos_add)
    assert info.value.words == ["nope", "zilch"]
    with pytest.raises(SeqdlError):
        analogy(_toy(), [], ["man"], cos_add)


def test_evaluation_counts_oov_and_reports_progress(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(": royal\nman woman king queen\nMAN WOMAN KING QUEEN\n\n: broken\nman woman pear apple\n")
    updates = []

    class Recorder:
        def update(self, done, total=None, **fields):
            updates.append((done, total))

        def write(self, line):
            raise AssertionError("evaluation has no messages")

        def close(self):
            raise AssertionError("the caller closes its progress")

    score = evaluate_analogies(_toy(), read_questions(path), cos_add, progress=Recorder())
    assert [(s.section, s.correct, s.answered, s.skipped) for s in score.sections] == [
        ("royal", 2, 2, 0), ("broken", 0, 0, 1)]
    assert updates[0] == (1, 3) and updates[-1] == (3, 3)
    assert [done for done, _ in updates] == sorted(done for done, _ in updates)
    summary = score.as_dict()
    assert summary["questions"] == 3 and summary["skipped_oov"] == 1
    assert summary["total"]["accuracy"] == 1.0 and summary["oov_ratio"] == pytest.approx(1 / 3)


def test_restrict_vocab_limits_question_words_and_answers(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(": royal\nman woman king queen\n")
    score = evaluate_analogies(_toy(), read_questions(path), cos_add, restrict_vocab=3)
    assert (score.total.answered, score.total.skipped) == (0, 1)
    assert analogy(_toy(), ["king", "woman"], ["man"], cos_add, restrict_vocab=4)[0][0] == "queen"
    assert [w for w, _ in analogy(_toy(), ["king", "woman"], ["man"], cos_add, restrict_vocab=3)] == []


@pytest.mark.parametrize("content, message", [
    (": s\nman woman king\n", "line 2: expected 4 words, found 3"),
    ("man woman king queen\n", "line 1: question before the first"),
    (": only a header\n", "no analogy questions"),
])
def test_bad_questions_file_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "q.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_questions(path)
    assert str(path) in str(info.value)


def test_pairs_in_wordsim_and_simlex_layouts(tmp_path):
    wordsim = tmp_path / "ws.tsv"
    wordsim.write_text("# comment\nman\twoman\t8.3\nking\tqueen\t9\n\nman\tapple\t1.0\n")
    assert read_pairs(wordsim) == [("man", "woman", 8.3), ("king", "queen", 9.0), ("man", "apple", 1.0)]
    simlex = tmp_path / "simlex.txt"
    simlex.write_text("word1\tword2\tPOS\tSimLex999\tconc(w1)\nold\tnew\tA\t1.58\t2.72\nsmart\tintelligent\tA\t9.2\t1.75\n")
    assert read_pairs(simlex) == [("old", "new", 1.58), ("smart", "intelligent", 9.2)]
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("man woman 8\nman oops\n")
    with pytest.raises(InputError, match="line 2"):
        read_pairs(spaced)


def test_pair_correlations_and_all_unknown(tmp_path):
    path = tmp_path / "ws.tsv"
    path.write_text("man\twoman\t8\nking\tqueen\t7\nman\tapple\t1\nking\tapple\t0.5\nfoo\tbar\t3\n")
    score = evaluate_pairs(_toy(), read_pairs(path))
    assert (score.pairs, score.skipped, score.oov_ratio) == (4, 1, 0.2)
    assert -1 <= score.spearman <= 1 and -1 <= score.pearson <= 1
    path.write_text("foo\tbar\t3\n")
    with pytest.raises(SeqdlError, match="no pair"):
        evaluate_pairs(_toy(), read_pairs(path))
    path.write_text("man\twoman\t8\nfoo\tbar\t3\n")
    with pytest.raises(SeqdlError, match="only one pair"):
        evaluate_pairs(_toy(), read_pairs(path))
