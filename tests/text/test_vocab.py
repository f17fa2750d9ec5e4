"""Vocabulary building and subsampling thresholds."""

from __future__ import annotations

import numpy as np

from seqdl.text.vocab import Vocabulary


def test_build_sorts_by_count_keeps_ties_in_order_and_prunes():
    sentences = [["b", "a", "c", "a"], ["c", "d", "a", "e"], ["b"]]
    vocab = Vocabulary.build(sentences, min_count=2)
    assert vocab.words == ["a", "b", "c"]          # a:3; b and c tie at 2, b seen first
    assert vocab.counts.tolist() == [3, 2, 2]
    assert vocab.total_words == 9                  # unknown words count towards progress
    assert vocab.index["c"] == 2 and vocab.index["zzz"] == -1
    assert Vocabulary.build(sentences, min_count=1, max_vocab=2).words == ["a", "b"]
    assert len(Vocabulary.build(sentences, min_count=4)) == 0


def test_keep_thresholds_follow_word2vec_formula():
    vocab = Vocabulary(["the", "cat", "rare"], [10_000, 100, 1], 10_101)
    thresholds = vocab.keep_thresholds(1e-3)
    t = 1e-3 * 10_101
    expected = [min(1.0, (np.sqrt(c / t) + 1) * t / c) for c in (10_000, 100, 1)]
    np.testing.assert_allclose(thresholds / 2.0**32, expected, rtol=1e-6)
    assert thresholds.dtype == np.uint32 and thresholds[2] == 2**32 - 1
    assert (vocab.keep_thresholds(0) == 2**32 - 1).all()


def _zipf_tokens(seed: int, n: int, distinct: int) -> list[str]:
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.3, size=n), distinct)
    return [f"w{r}" for r in ranks]


def test_counter_without_a_cap_is_exact_and_shards_merge_to_the_whole_count():
    from collections import Counter

    from seqdl.text.vocab import WordCounter

    tokens = _zipf_tokens(0, 20_000, 5_000)
    whole = WordCounter()
    whole.update(tokens)
    assert whole.counts == Counter(tokens) and whole.total == len(tokens) and not whole.pruned
    merged = WordCounter()
    for start in range(0, len(tokens), 3_001):
        part = WordCounter()
        part.update(tokens[start:start + 3_001])
        merged.merge(part)
    assert list(merged.counts.items()) == list(whole.counts.items())  # same counts, same first-appearance order
    assert merged.total == whole.total


def test_a_capped_counter_stays_within_its_budget_and_keeps_the_frequent_words():
    from collections import Counter

    from seqdl.text.vocab import WordCounter

    tokens = _zipf_tokens(1, 50_000, 40_000)
    exact = Counter(tokens)
    capped = WordCounter(max_entries=500)
    peak = 0
    for start in range(0, len(tokens), 100):
        capped.update(tokens[start:start + 100])
        peak = max(peak, len(capped))
    assert peak <= 500 and capped.pruned and capped.floor > 1
    assert capped.total == len(tokens)                      # the token count stays exact
    for word, count in exact.most_common(50):               # frequent words survive, counts a little low
        assert count - capped.floor * 50 <= capped.counts[word] <= count
    vocab = Vocabulary.build([tokens[i:i + 100] for i in range(0, len(tokens), 100)], min_count=1,
                             max_vocab_memory=500)
    assert len(vocab) <= 500 and vocab.words[:5] == [w for w, _ in exact.most_common(5)]


def test_token_vocabulary_ranks_as_the_embedding_vocabulary_does():
    from seqdl.text.vocab import TokenVocabulary

    vocab = TokenVocabulary.from_tokens(list("bbaacd"), "char")
    assert vocab.tokens == ["b", "a", "c", "d"]  # by count, ties in order of first appearance
    capped = TokenVocabulary.from_tokens("x <unk> <unk> <unk> y y z".split(), "word", max_words=2)
    assert capped.tokens == ["<unk>", "y"]  # a corpus's own <unk> is not added twice
    assert TokenVocabulary.from_tokens(list("aab"), "char", max_words=1).tokens == ["a", "b"]  # chars: no cap


def test_language_model_and_embedding_count_the_same_words(tmp_path):
    """One counting path: the LM's word tokens are embed's (lowercase off) plus newlines."""
    from seqdl.lm.pipeline import count_tokens
    from seqdl.text.tokenize import file_sentences
    from seqdl.text.vocab import TokenVocabulary

    rng = np.random.default_rng(3)
    words = ["The", "the", "cat", "Café", "naïve", "x", "42", "<unk>"]
    gaps = [" ", "  ", "\t", "\n", "\n\n", " \r\n", "\u00a0", "\u2003", "\x0c"]
    text = "".join(f"{words[i]}{gaps[j]}" for i, j in zip(rng.integers(0, len(words), 3000),
                                                         rng.integers(0, len(gaps), 3000)))
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")

    lm_counts = count_tokens(path, "word")
    embed = Vocabulary.build(file_sentences(path, lowercase=False), min_count=1)
    assert lm_counts.counts.pop("\n") == text.count("\n")
    assert dict(lm_counts.counts) == dict(zip(embed.words, embed.counts.tolist()))
    lm_vocab = TokenVocabulary.from_counts(lm_counts, "word")
    assert lm_vocab.tokens == embed.words  # same ranking, same tie order


def test_unknown_is_added_only_for_words_the_cap_dropped():
    from seqdl.text.vocab import UNKNOWN, TokenVocabulary

    assert TokenVocabulary.from_counts({"a": 2, "b": 0}, "char").tokens == ["a"]  # a zero count is no word
    assert TokenVocabulary.from_counts({"a": 2, "b": 1, "c": 1}, "word", max_words=3).tokens == ["a", "b", "c"]
    assert TokenVocabulary.from_counts({"a": 2, "b": 1, "c": 1}, "word", max_words=2).tokens == ["a", "b", UNKNOWN]
