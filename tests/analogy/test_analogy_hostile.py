"""Hostile inputs to analogy, similar and evaluate: strict JSON, no 'nan' printed, huge sizes, bad paths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqdl import hookimpl




def _refuse_constant(name):
    raise AssertionError(f"not strict JSON: {name}")


def strict_json(text):
    """Parse ``text`` as strict JSON: NaN and Infinity are not JSON."""
    return json.loads(text, parse_constant=_refuse_constant)


class NaNMethod:
    """A third-party analogy method that scores every other candidate NaN."""

    @hookimpl
    def register_analogy_methods(self, register):
        def half_nan(candidates, positive, negative):
            scores = (positive.sum(axis=1) - negative.sum(axis=1)) @ candidates.T
            scores[:, ::2] = np.nan
            return scores

        register("halfnan", half_nan)


def test_every_json_output_is_strict(planted_files, run_analogy):
    vectors = ["--vectors", str(planted_files.vectors_path)]
    for args in (["analogy", "word100", "word102", "word104", "--json"], ["similar", "word3", "--json"],
                 ["evaluate", "analogies", str(planted_files.questions_path), "--json", "-q"],
                 ["evaluate", "similarity", str(planted_files.pairs_path), "--json"]):
        result = run_analogy([*args, *vectors])
        assert result.exit_code == 0, (args, result.output)
        assert strict_json(result.stdout), args


def test_nan_scores_are_never_printed(planted_files, run_analogy):
    extra = NaNMethod()
    args = ["analogy", "word100", "word102", "word104", "--vectors", str(planted_files.vectors_path),
            "--method", "halfnan", "--topn", "20"]
    text = run_analogy(args, extra)
    assert text.exit_code == 0, text.output
    assert "nan" not in text.stdout.lower() and len(text.stdout.splitlines()) == 20
    answers = strict_json(run_analogy([*args, "--json"], extra).stdout)
    assert len(answers) == 20 and all(isinstance(a["score"], float) for a in answers)


def test_undefined_correlation_is_null_in_json_and_said_in_words(planted_files, tmp_path, run_analogy):
    constant = tmp_path / "constant.tsv"
    constant.write_text("word100\tword102\t5\nword103\tword104\t5\nword105\tword106\t5\n")
    args = ["evaluate", "similarity", str(constant), "--vectors", str(planted_files.vectors_path)]
    report = strict_json(run_analogy([*args, "--json"]).stdout)
    assert report["spearman"] is None and report["pearson"] is None and report["pairs"] == 3
    text = run_analogy(args)
    assert text.exit_code == 0 and "nan" not in text.stdout.lower()
    assert "spearman  undefined" in text.stdout


@pytest.mark.parametrize("command", [["similar", "word3"], ["analogy", "word100", "word102", "word104"]])
def test_huge_sizes_are_clamped_to_the_vocabulary(planted_files, command, run_analogy):
    huge = str(10**12)
    result = run_analogy([*command, "--vectors", str(planted_files.vectors_path), "--topn", huge,
                   "--restrict-vocab", huge, "--json"])
    assert result.exit_code == 0, result.output
    assert len(strict_json(result.stdout)) == len(planted_files.kv) - (len(command) - 1)


def test_huge_restrict_vocab_in_evaluations(planted_files, run_analogy):
    for command in (["analogies", str(planted_files.questions_path), "-q"], ["similarity", str(planted_files.pairs_path)]):
        result = run_analogy(["evaluate", *command, "--vectors", str(planted_files.vectors_path), "--restrict-vocab",
                       str(10**12), "--json"])
        assert result.exit_code == 0, result.output
        assert strict_json(result.stdout)


@pytest.mark.parametrize("args, fragment", [
    (["similar", "word3", "--topn", "0"], "--topn"),
    (["similar", "word3", "--restrict-vocab", "0"], "--restrict-vocab"),
    (["similar", "word3", "--topn", "nan"], "--topn"),
    (["evaluate", "analogies", "QUESTIONS", "--restrict-vocab", "-1"], "--restrict-vocab"),
])
def test_bad_numbers_are_usage_errors(planted_files, assert_one_line_error, args, fragment, run_analogy):
    args = [str(planted_files.questions_path) if a == "QUESTIONS" else a for a in args]
    result = run_analogy([*args, "--vectors", str(planted_files.vectors_path)])
    assert_one_line_error(result, fragment, code=2)


@pytest.mark.parametrize("make_path, fragment", [
    (lambda tmp: tmp / "nowhere" / "q.txt", "No such file"),
    (lambda tmp: tmp, "directory"),
])
def test_missing_or_folder_inputs_are_one_line(planted_files, tmp_path, assert_one_line_error, make_path, fragment, run_analogy):
    for command in (["evaluate", "analogies"], ["evaluate", "similarity"]):
        path = make_path(tmp_path)
        result = run_analogy([*command, str(path), "--vectors", str(planted_files.vectors_path)])
        assert_one_line_error(result, str(path))


def test_utf16_questions_file_is_one_line(planted_files, tmp_path, assert_one_line_error, run_analogy):
    questions = tmp_path / "q16.txt"
    questions.write_text(": s\na b c d\n", encoding="utf-16")
    result = run_analogy(["evaluate", "analogies", str(questions), "--vectors", str(planted_files.vectors_path)])
    assert_one_line_error(result, str(questions), "not UTF-8", "looks like UTF-16", "iconv -f UTF-16 -t UTF-8",
                          code=1)


def test_library_errors_name_the_parameter(planted_files):
    from seqdl.errors import ParameterError
    from seqdl_analogy.evaluate import evaluate_analogies, read_questions
    from seqdl_analogy.methods import cos_add
    from seqdl_analogy.ranking import similar

    with pytest.raises(ParameterError) as info:
        similar(planted_files.kv, "word3", topn=0)
    assert info.value.param == "topn"
    with pytest.raises(ParameterError) as info:
        evaluate_analogies(planted_files.kv, read_questions(planted_files.questions_path), cos_add,
                           restrict_vocab=0)
    assert info.value.param == "restrict_vocab"


@pytest.mark.parametrize("score", ["nan", "inf", "-Infinity"])
def test_non_finite_gold_score_is_refused_at_its_line(planted_files, tmp_path, assert_one_line_error, run_analogy,
                                                      score):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(f"word100\tword102\t5\nword103\tword104\t{score}\n")
    result = run_analogy(["evaluate", "similarity", str(pairs), "--vectors", str(planted_files.vectors_path)])
    assert_one_line_error(result, str(pairs), "line 2", "not a finite number", code=1)
