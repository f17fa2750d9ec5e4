"""Synthetic vectors with planted analogies, and question/pair files built from them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from seqdl import KeyedVectors

RELATIONS = ("capital", "gender", "plural")


@dataclass
class Planted:
    """A vocabulary sorted like a frequency list, pairs related by a section offset, and files about them."""

    kv: KeyedVectors
    vectors_path: Path
    questions_path: Path
    pairs_path: Path


def planted(tmp_path: Path, words: int = 1500, dim: int = 32, pairs_per_relation: int = 12,
            noise: float = 1.5, seed: int = 0) -> Planted:
    """Vectors where ``b_i = a_i + offset(section) + noise``: some analogies right, some wrong.

    The vocabulary holds case variants ('Word3' after 'word3') and the file has
    questions in another case, with words outside the vocabulary, and with
    words beyond the first 1000 rows, so case folding, restrict_vocab and OOV
    counting are all exercised.
    """
    rng = np.random.default_rng(seed)
    keys = [f"word{i}" for i in range(words)]
    vectors = rng.standard_normal((words, dim)).astype(np.float32)
    for n in range(0, 60, 3):  # case variants, right after the word, so the lower-case form is "more frequent"
        keys[n + 1] = keys[n].capitalize()
    lines = []
    row = 100
    for relation in RELATIONS:
        offset = rng.standard_normal(dim).astype(np.float32) * 1.5
        members = []
        for _ in range(pairs_per_relation):
            a, b = row, row + 1
            row += 2
            vectors[b] = vectors[a] + offset + noise * rng.standard_normal(dim)
            members.append((keys[a], keys[b]))
        lines.append(f": {relation}")
        for (a, b), (c, d) in ((p, q) for p in members for q in members if p != q):
            lines.append(f"{a.upper()} {b} {c} {d.capitalize()}")
    far_pairs = [(keys[1200 + 2 * i], keys[1201 + 2 * i]) for i in range(4)]  # beyond restrict_vocab=1000
    for n, (a, b) in enumerate(far_pairs):
        vectors[1201 + 2 * n] = vectors[1200 + 2 * n] + offset
    lines.append(": far-and-unknown")
    lines += [f"{a} {b} {c} {d}" for (a, b), (c, d) in zip(far_pairs, far_pairs[1:])]
    lines += ["word0 word1 nosuchword word3", "word5 word6 word7 missing"]
    # 'Word6' (row 7) is the best answer to word0:word3::word6:?, but it is a case variant of a
    # question word, so gensim skips it for the runner-up word9.
    vectors[7] = vectors[3] - vectors[0] + vectors[6]
    vectors[9] = vectors[7] + 0.05 * rng.standard_normal(dim)
    lines.append(": tricky-case")
    lines += ["word0 word3 word6 word9", "word3 word0 word9 word6"]
    kv = KeyedVectors(keys, vectors)
    vectors_path = tmp_path / "vectors.vec"
    kv.save_word2vec_format(vectors_path)
    questions_path = tmp_path / "questions.txt"
    questions_path.write_text("\n".join(lines) + "\n")
    pair_lines = ["# word1\tword2\tscore"]
    for _ in range(120):
        i, j = rng.integers(0, 1400, size=2)
        gold = float(np.dot(vectors[i], vectors[j]) / (np.linalg.norm(vectors[i]) * np.linalg.norm(vectors[j])))
        pair_lines.append(f"{keys[i].upper()}\t{keys[j]}\t{5 + 4 * gold + rng.normal(0, 0.5):.2f}")
    pair_lines += ["unknownword\tword1\t3.5", "word2\tneverseen\t1.0"]
    pairs_path = tmp_path / "pairs.tsv"
    pairs_path.write_text("\n".join(pair_lines) + "\n")
    return Planted(KeyedVectors.load_word2vec_format(vectors_path), vectors_path, questions_path, pairs_path)


@pytest.fixture
def planted_files(tmp_path) -> Planted:
    """The default :func:`planted` set in the test's temporary folder."""
    return planted(tmp_path)


@pytest.fixture
def run_analogy(cli_with_plugins):
    """``run_analogy(args, *extra_plugins)``: invoke a CLI with the analogy plugin (and the extras) in-process."""
    from click.testing import CliRunner

    import seqdl_analogy

    def run(args, *extra_plugins):
        extras = {f"extra{number}": plugin for number, plugin in enumerate(extra_plugins)}
        return CliRunner().invoke(cli_with_plugins(analogy=seqdl_analogy, **extras), args)

    return run
