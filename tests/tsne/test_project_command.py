"""``seqdl project``: word selection, output formats, determinism and one-line errors."""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import seqdl
from seqdl.cli import make_cli

FAST = ["--perplexity", "8", "--max-iter", "400"]


def run(*args: str):
    return CliRunner().invoke(make_cli(), list(args))


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [r[0] for r in rows[1:]], np.array([[float(r[1]), float(r[2])] for r in rows[1:]])


def test_csv_holds_the_top_words_and_their_projection(vectors_file, tmp_path, kv):
    out = tmp_path / "map.csv"
    result = run("project", "--vectors", str(vectors_file), "--limit", "30", *FAST, "--seed", "2", "-o", str(out))
    assert result.exit_code == 0, result.output
    header, words, xy = read_csv(out)
    assert header == ["word", "x", "y"]
    assert words == kv.index_to_key[:30]
    np.testing.assert_array_equal(xy, seqdl.project(kv, words, perplexity=8, max_iter=400, seed=2))
    assert f"wrote {out}" in result.stderr


def test_same_seed_writes_identical_files(vectors_file, tmp_path):
    outputs = [tmp_path / f"run{i}.csv" for i in range(2)]
    for out in outputs:
        assert run("project", "--vectors", str(vectors_file), *FAST, "--seed", "5", "-q", "-o", str(out)).exit_code == 0
    assert outputs[0].read_bytes() == outputs[1].read_bytes()


def test_json_records_method_options_and_points(vectors_file, tmp_path, kv):
    out = tmp_path / "map.json"
    result = run("project", "--vectors", str(vectors_file), "--words", "cat3, ant0,bee1,cat3", "--method", "pca",
                 "--metric", "euclidean", "-o", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["method"] == "pca" and doc["options"] == {"metric": "euclidean"}
    assert doc["vectors"] == str(vectors_file)
    assert [p["word"] for p in doc["points"]] == ["cat3", "ant0", "bee1"]  # in order, each once
    xy = [[p["x"], p["y"]] for p in doc["points"]]
    np.testing.assert_array_equal(xy, seqdl.project(kv, ["cat3", "ant0", "bee1"], method="pca", metric="euclidean"))


def test_words_file_and_default_vectors_in_the_current_folder(vectors_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "words.txt").write_text("bee2 bee3\nant1\n\ncat9\n", encoding="utf-8")
    result = run("project", "--words-file", "words.txt", "--method", "pca", "-o", "out.csv")
    assert result.exit_code == 0, result.output
    assert read_csv(tmp_path / "out.csv")[1] == ["bee2", "bee3", "ant1", "cat9"]


def test_top_beyond_the_vocabulary_projects_everything(vectors_file, tmp_path, kv):
    out = tmp_path / "all.csv"
    result = run("project", "--vectors", str(vectors_file), "--method", "pca", "--limit", "1000", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert read_csv(out)[1] == kv.index_to_key
    assert f"has only {len(kv)} words" in result.stderr


def test_extra_options_reach_the_projection(vectors_file, tmp_path):
    outputs = {}
    for init in ("pca", "random"):
        out = tmp_path / f"{init}.csv"
        result = run("project", "--vectors", str(vectors_file), *FAST, "-O", f"init={init}", "-q", "-o", str(out))
        assert result.exit_code == 0, result.output
        outputs[init] = read_csv(out)[2]
    assert not np.allclose(outputs["pca"], outputs["random"])


def test_missing_words_are_all_named(vectors_file, tmp_path, assert_one_line_error):
    out = tmp_path / "map.csv"
    result = run("project", "--vectors", str(vectors_file), "--words", "ant0,zebra,bee1,yak", "-o", str(out))
    assert_one_line_error(result, "words not in vocabulary: 'zebra', 'yak'")
    assert not out.exists()


def test_perplexity_too_large_is_one_line_and_keeps_the_old_output(vectors_file, tmp_path, assert_one_line_error):
    out = tmp_path / "map.csv"
    out.write_text("previous\n", encoding="utf-8")
    result = run("project", "--vectors", str(vectors_file), "--words", "ant0,ant1,bee0,bee1,cat0", "-o", str(out))
    assert_one_line_error(result, "--perplexity: t-SNE needs a perplexity above 0 and below the number of points (5), "
                                  "got 30; try 1", code=1)
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.csv", "vectors.vec"]  # no temp file left


@pytest.mark.parametrize("args, parts", [
    (["--words", "ant0,ant1"], ["t-SNE needs at least 3 points, got 2"]),
    (["--method", "pca", "--perplexity", "5"], ["projection 'pca' has no option 'perplexity' (it takes: metric)"]),
    (["--method", "umap"], ["unknown projection 'umap' (available:", "pca", "tsne"]),
    (["--metric", "jaccard"], ["--metric: unknown metric 'jaccard' for t-SNE (choose from cosine, euclidean)"]),
])
def test_bad_choices_are_one_line_errors(vectors_file, tmp_path, args, parts, assert_one_line_error):
    assert_one_line_error(run("project", "--vectors", str(vectors_file), *args, "-o", str(tmp_path / "m.csv")), *parts)


def test_output_folder_must_exist_before_any_work(vectors_file, tmp_path, assert_one_line_error):
    out = tmp_path / "no" / "map.csv"
    result = run("project", "--vectors", str(vectors_file), "-o", str(out))
    assert_one_line_error(result, f"{out}: cannot write: no such folder", code=1)


def test_missing_vectors_file_says_how_to_make_one(tmp_path, assert_one_line_error):
    result = run("project", "--vectors", str(tmp_path / "nope.vec"), "-o", str(tmp_path / "m.csv"))
    assert_one_line_error(result, "nope.vec: no such vectors file (write one with 'seqdl embed CORPUS')")


@pytest.mark.parametrize("args, part", [
    (["-o", "map.txt"], "must end in .csv, .json, .png, .svg, .pdf"),
    (["--limit", "5", "--words", "ant0", "-o", "m.csv"], "use only one of --limit, --words and --words-file"),
    (["--top", "5", "--limit", "5", "-o", "m.csv"], "--top is the old name of --limit"),
    (["-O", "nonsense", "-o", "m.csv"], "-O: expected KEY=VALUE, got 'nonsense'"),
    (["-O", "method=pca", "-o", "m.csv"], "'method' cannot be given here (use --method)"),
    (["-O", "perplexity=5", "-o", "m.csv"], "'perplexity' cannot be given here (use --perplexity)"),
    (["-O", "vectors=x", "-o", "m.csv"], "'vectors' cannot be given here (use --vectors)"),
    (["-O", "host=x", "-o", "m.csv"], "'host' cannot be given here (the command sets it itself)"),
    (["-O", "learning_rate=nan", "-o", "m.csv"], "'nan' is not a finite number"),
    (["--perplexity", "nan", "-o", "m.csv"], "--perplexity"),
    (["--perplexity", "inf", "-o", "m.csv"], "--perplexity"),
    (["--seed", "-1", "-o", "m.csv"], "--seed"),
    (["--workers", "0", "-o", "m.csv"], "--workers"),
    (["-o", "/dev/null"], "must end in .csv"),
    (["--words", " , ", "-o", "m.csv"], "no words given"),
])
def test_usage_mistakes(vectors_file, tmp_path, monkeypatch, args, part, assert_one_line_error):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(run("project", "--vectors", str(vectors_file), *args), part, code=2)
    assert not (tmp_path / "m.csv").exists()


def test_end_to_end_in_a_fresh_interpreter(vectors_file, tmp_path, run_seqdl):
    result = run_seqdl("project", *FAST, "--top", "20", "-o", "map.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads((tmp_path / "map.json").read_text(encoding="utf-8"))
    assert len(doc["points"]) == 20 and doc["method"] == "tsne"
    assert doc["options"] == {"perplexity": 8.0, "max_iter": 400}


def test_help_imports_neither_sklearn_nor_matplotlib():
    import subprocess

    code = ("import sys\nfrom seqdl.cli import main\n"
            "try:\n    main(['project', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('sklearn', 'matplotlib', 'numba') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--perplexity" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
