"""seqdl analogy / similar / evaluate through the command line, and a third-party analogy method."""

from __future__ import annotations

import json
import shutil

import pytest

from seqdl import hookimpl
from seqdl_analogy.evaluate import evaluate_analogies, read_questions
from seqdl_analogy.methods import cos_add
from seqdl_analogy.ranking import analogy




def test_analogy_json_is_ranked_words_and_scores(planted_files, run_analogy):
    kv = planted_files.kv
    result = run_analogy(["analogy", "word100", "word102", "word104", "--vectors", str(planted_files.vectors_path),
                   "--json", "--topn", "4"])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)
    want = analogy(kv, ["word100", "word104"], ["word102"], cos_add, topn=4)
    assert [a["word"] for a in answers] == [w for w, _ in want]
    assert [a["score"] for a in answers] == sorted((a["score"] for a in answers), reverse=True)
    text = run_analogy(["analogy", "word100", "word102", "word104", "--vectors", str(planted_files.vectors_path),
                 "--topn", "4"]).stdout.splitlines()
    assert [line.split()[0] for line in text] == [w for w, _ in want]


def test_default_vectors_file_is_vectors_vec_in_the_current_folder(planted_files, tmp_path, monkeypatch, run_analogy):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(planted_files.vectors_path, work / "vectors.vec")
    monkeypatch.chdir(work)
    result = run_analogy(["similar", "word3", "--json", "--topn", "3"])
    assert result.exit_code == 0, result.output
    want = planted_files.kv.most_similar("word3", topn=3)
    assert [(a["word"], pytest.approx(a["score"], abs=1e-6)) for a in json.loads(result.stdout)] == want


def test_method_option_uses_the_registered_method(planted_files, assert_one_line_error, run_analogy):
    args = ["analogy", "word100", "word102", "word104", "--vectors", str(planted_files.vectors_path), "--json"]
    add = json.loads(run_analogy(args).stdout)
    mul = json.loads(run_analogy([*args, "--method", "3cosmul"]).stdout)
    assert max(a["score"] for a in mul) > 1 > max(a["score"] for a in add)  # 3CosMul ratios exceed cosines
    assert_one_line_error(run_analogy([*args, "--method", "nope"]), "unknown analogy method 'nope'", "3cosadd", "3cosmul")


def test_a_plugin_can_add_an_analogy_method(planted_files, run_analogy):
    class Reverse:
        """A third-party method: the worst 3CosAdd answers first."""

        @hookimpl
        def register_analogy_methods(self, register):
            register("anti", lambda c, p, n: -cos_add(c, p, n))

    extra = Reverse()
    args = ["analogy", "word100", "word102", "word104", "--vectors", str(planted_files.vectors_path), "--json"]
    answers = json.loads(run_analogy([*args, "--method", "anti", "--topn", "1"], extra).stdout)
    ranking = analogy(planted_files.kv, ["word100", "word104"], ["word102"], cos_add, topn=len(planted_files.kv))
    assert answers[0]["word"] == ranking[-1][0]
    assert answers[0]["score"] == pytest.approx(-ranking[-1][1], abs=1e-6)


def test_unknown_words_one_line_naming_each(planted_files, assert_one_line_error, run_analogy):
    result = run_analogy(["analogy", "word1", "ghost", "phantom", "--vectors", str(planted_files.vectors_path)])
    assert_one_line_error(result, "'ghost'", "'phantom'")
    assert_one_line_error(run_analogy(["similar", "ghost", "--vectors", str(planted_files.vectors_path)]), "'ghost'")


def test_missing_or_malformed_vectors_file_names_file_and_line(tmp_path, assert_one_line_error, run_analogy):
    assert_one_line_error(run_analogy(["analogy", "a", "b", "c", "--vectors", str(tmp_path / "none.vec")]),
                    str(tmp_path / "none.vec"), "seqdl embed")
    bad = tmp_path / "bad.vec"
    bad.write_text("3 2\na 0.1 0.2\nb 0.3 oops\nc 0.5 0.6\n")
    assert_one_line_error(run_analogy(["similar", "a", "--vectors", str(bad)]), str(bad), "line 3")


def test_evaluate_analogies_text_and_json(planted_files, run_analogy):
    vectors = str(planted_files.vectors_path)
    questions = str(planted_files.questions_path)
    expected = evaluate_analogies(planted_files.kv, read_questions(planted_files.questions_path), cos_add,
                                  restrict_vocab=1000)
    result = run_analogy(["evaluate", "analogies", questions, "--vectors", vectors, "--restrict-vocab", "1000", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == json.loads(json.dumps(expected.as_dict()))
    assert report["skipped_oov"] > 0 and report["method"] == "3cosadd"
    text = run_analogy(["evaluate", "analogies", questions, "--vectors", vectors, "--restrict-vocab", "1000"]).stdout
    first = expected.sections[0]
    assert f"({first.correct}/{first.answered})" in text.splitlines()[0]
    assert f"skipped {report['skipped_oov']} of {report['questions']} questions" in text


def test_evaluate_similarity_text_and_json(planted_files, assert_one_line_error, run_analogy):
    args = ["evaluate", "similarity", str(planted_files.pairs_path), "--vectors", str(planted_files.vectors_path)]
    report = json.loads(run_analogy([*args, "--json"]).stdout)
    assert set(report) == {"pearson", "spearman", "pairs", "skipped", "oov_ratio"}
    assert report["skipped"] == 2
    text = run_analogy(args).stdout
    assert f"spearman  {report['spearman']:.4f}" in text and "2 skipped" in text
    bad = planted_files.pairs_path.with_name("bad.tsv")
    bad.write_text("a\tb\t1\nc\td\n")
    assert_one_line_error(run_analogy(["evaluate", "similarity", str(bad), "--vectors", str(planted_files.vectors_path)]),
                    str(bad), "line 2")


def test_installed_plugin_end_to_end(planted_files, run_seqdl):
    result = run_seqdl("analogy", "word100", "word102", "word104", "--vectors", str(planted_files.vectors_path),
                       "--json", "--topn", "3")
    assert result.returncode == 0, result.stderr
    want = analogy(planted_files.kv, ["word100", "word104"], ["word102"], cos_add, topn=3)
    assert [a["word"] for a in json.loads(result.stdout)] == [w for w, _ in want]
    missing = run_seqdl("evaluate", "analogies", "nofile.txt", cwd=planted_files.vectors_path.parent)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "nofile.txt" in missing.stderr
