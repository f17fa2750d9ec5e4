"""Same vectors file, same answers: our analogy, similar and evaluations against gensim 4."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl_analogy.evaluate import evaluate_analogies, evaluate_pairs, read_pairs, read_questions
from seqdl_analogy.methods import cos_add, cos_mul
from seqdl_analogy.ranking import analogy

gensim_models = pytest.importorskip("gensim.models")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # gensim's own init_sims call


def _gensim(planted_files):
    return gensim_models.KeyedVectors.load_word2vec_format(str(planted_files.vectors_path))


def _queries(kv, count=40, seed=1):
    rng = np.random.default_rng(seed)
    return [tuple(kv.index_to_key[i] for i in rng.choice(len(kv), size=3, replace=False)) for _ in range(count)]


@pytest.mark.parametrize("restrict_vocab", [None, 700])
def test_3cosadd_equals_most_similar(planted_files, restrict_vocab):
    ours, theirs = planted_files.kv, _gensim(planted_files)
    for a, b, c in _queries(ours):
        got = analogy(ours, [a, c], [b], cos_add, topn=10, restrict_vocab=restrict_vocab)
        want = theirs.most_similar(positive=[a, c], negative=[b], topn=10, restrict_vocab=restrict_vocab)
        assert [w for w, _ in got] == [w for w, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=0, atol=1e-5)


def test_3cosmul_equals_most_similar_cosmul(planted_files):
    ours, theirs = planted_files.kv, _gensim(planted_files)
    for a, b, c in _queries(ours, seed=2):
        got = analogy(ours, [a, c], [b], cos_mul, topn=10)
        want = theirs.most_similar_cosmul(positive=[a, c], negative=[b], topn=10)
        assert [w for w, _ in got] == [w for w, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=0, atol=1e-5)
    got = analogy(ours, ["word5", "word8"], [], cos_mul, topn=5)  # no negative word: empty product is 1
    want = theirs.most_similar_cosmul(positive=["word5", "word8"], topn=5)
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=0, atol=1e-5)


@pytest.mark.parametrize("restrict_vocab", [300_000, 1000])
def test_evaluate_analogies_equals_gensim_per_section(planted_files, restrict_vocab):
    theirs = _gensim(planted_files)
    total, sections = theirs.evaluate_word_analogies(str(planted_files.questions_path), restrict_vocab=restrict_vocab)
    score = evaluate_analogies(planted_files.kv, read_questions(planted_files.questions_path), cos_add,
                               restrict_vocab=restrict_vocab)
    want = [(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections[:-1]]
    got = [(s.section, s.correct, s.answered) for s in score.sections]
    assert got == want
    assert score.total.accuracy == pytest.approx(total)
    assert 0.2 < total < 0.95, "the planted set should have both right and wrong answers"
    tricky = next(s for s in score.sections if s.section == "tricky-case")
    assert tricky.correct == 2, "the case variant of a question word must be skipped, as gensim does"
    gensim_oov = sum(1 for line in planted_files.questions_path.read_text().splitlines()
                     if not line.startswith(":")) - sum(a for _, _, a in want)
    assert score.total.skipped == gensim_oov > 0


def test_3cosmul_evaluation_follows_gensim_cosmul_answers(planted_files):
    """gensim has no 3CosMul evaluation: rebuild its rule on top of most_similar_cosmul and compare."""
    theirs = _gensim(planted_files)
    sections = read_questions(planted_files.questions_path)
    vocab = {}
    for key in theirs.index_to_key:
        vocab.setdefault(key.upper(), key)
    expected = []
    for section in sections:
        correct = 0
        for question in section.questions:
            upper = [w.upper() for w in question]
            if not all(w in vocab for w in upper):
                continue
            a, b, c, d = (vocab[w] for w in upper)
            sims = theirs.most_similar_cosmul(positive=[b, c], negative=[a], topn=5)
            predicted = next((w.upper() for w, _ in sims if w.upper() not in upper[:3]), sims[-1][0].upper())
            correct += predicted == upper[3]
        expected.append(correct)
    score = evaluate_analogies(planted_files.kv, sections, cos_mul, "3cosmul")
    assert [s.correct for s in score.sections] == expected


@pytest.mark.parametrize("restrict_vocab", [300_000, 900])
def test_evaluate_pairs_equals_gensim(planted_files, restrict_vocab):
    theirs = _gensim(planted_files)
    pearson, spearman, oov = theirs.evaluate_word_pairs(str(planted_files.pairs_path), restrict_vocab=restrict_vocab)
    score = evaluate_pairs(planted_files.kv, read_pairs(planted_files.pairs_path), restrict_vocab=restrict_vocab)
    assert score.pearson == pytest.approx(pearson[0], abs=1e-6)
    assert score.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert 100 * score.oov_ratio == pytest.approx(oov)
    assert score.skipped >= 2
