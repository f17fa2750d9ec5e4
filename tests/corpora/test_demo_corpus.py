"""The generated demo corpus: deterministic, every planted word trainable, and the quickstart answers queen."""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter


from seqdl_corpora import demo

SMALL = demo.DemoSize().scaled(0.1)


def _text(seed: int, size: demo.DemoSize = SMALL) -> str:
    out = io.StringIO()
    demo.write_corpus(out, seed=seed, size=size)
    return out.getvalue()


def test_same_seed_same_corpus_other_seed_other_corpus():
    first = _text(0)
    assert hashlib.sha256(first.encode()).digest() == hashlib.sha256(_text(0).encode()).digest()
    assert _text(1) != first
    assert len(first.splitlines()) == SMALL.total()


def test_every_related_word_is_frequent_enough_to_get_a_vector():
    counts = Counter(_text(0).split())
    related = {word for section in demo.questions().values() for line in section for word in line.split()}
    rare = {word: counts[word] for word in related if counts[word] < 5}
    assert not rare, f"below embed's default --min-count 5: {rare}"


def test_gendered_words_take_their_own_pronouns():
    for line in _text(3).splitlines():
        words = line.split()
        if any(w in ("queen", "woman", "princess") for w in words) and not any(
                w in ("king", "man", "prince") for w in words):
            assert "he" not in words and "his" not in words, line


def test_questions_cover_each_relation_in_both_directions():
    sections = demo.questions()
    assert set(sections) == {"capital-country", "gender", "plural-nouns", "past-tense"}
    assert "king queen man woman" in sections["gender"]
    assert "man woman king queen" in sections["gender"]
    assert "paris france rome italy" in sections["capital-country"]
    out = io.StringIO()
    count = demo.write_questions(out)
    lines = out.getvalue().splitlines()
    assert count == sum(len(v) for v in sections.values()) == len(lines) - len(sections)
    assert all(len(line.split()) == 4 for line in lines if not line.startswith(": "))


def test_cli_demo_writes_corpus_and_questions(tmp_path, run_corpus):
    out, questions = tmp_path / "demo.txt", tmp_path / "q.txt"
    result = run_corpus(["corpus", "demo", "-o", str(out), "--scale", "0.1", "--seed", "2",
                         "--questions", str(questions)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == _text(2)
    assert questions.read_text().startswith(": capital-country\n")
    assert "sentences" in result.stderr
    quiet = run_corpus(["corpus", "demo", "-o", str(out), "--scale", "0.01", "-q"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_quickstart_demo_embed_analogy_answers_queen(tmp_path, run_seqdl):
    """The README quickstart end to end, on a tenth of the corpus to stay quick."""
    steps = [["corpus", "demo", "-o", "demo.txt", "--scale", "0.1", "-q"],
             ["embed", "demo.txt", "--quiet", "--workers", "2"],
             ["analogy", "king", "man", "woman", "--json"]]
    for step in steps:
        result = run_seqdl(*step, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert answers[0]["word"] == "queen", answers[:3]
