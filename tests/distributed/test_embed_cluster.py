"""``seqdl embed --cluster``: training on a local Dask cluster from the command line, and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from seqdl.cli import make_cli


def _embed(*args: str):
    return CliRunner().invoke(make_cli(), ["embed", *args])


def test_embed_on_a_local_cluster_reads_several_corpus_files(tmp_path, demo_corpus):
    pytest.importorskip("distributed")
    import gzip

    demo_corpus(tmp_path / "demo.txt", 0.02)
    (tmp_path / "more.txt.gz").write_bytes(gzip.compress((tmp_path / "demo.txt").read_bytes()))
    out = tmp_path / "out.vec"
    result = _embed(str(tmp_path / "demo.txt"), str(tmp_path / "more.txt.gz"), "-o", str(out), "--cluster",
                    "local:2", "--sync-words", "5000", "--dim", "8", "--epochs", "1", "--json", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    header = out.read_text().splitlines()[0].split()
    assert int(header[0]) == summary["words"] > 100 and header[1] == "8"
    assert summary["words_per_second"] > 0


def test_an_unreachable_scheduler_is_one_line_and_writes_nothing(tmp_path, monkeypatch, assert_one_line_error):
    pytest.importorskip("distributed")
    from seqdl.distributed import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    (tmp_path / "c.txt").write_text("a b c\n" * 20)
    out = tmp_path / "out.vec"
    result = _embed(str(tmp_path / "c.txt"), "-o", str(out), "--cluster", "tcp://127.0.0.1:9")
    assert_one_line_error(result, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert not out.exists()


def test_a_shard_that_is_not_utf8_is_one_line_naming_file_and_offset(tmp_path, assert_one_line_error):
    pytest.importorskip("distributed")
    good = b"alpha beta gamma\n" * 500
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(good + b"\xc3( oops\n" + good)
    out = tmp_path / "out.vec"
    result = _embed(str(corpus), "-o", str(out), "--cluster", "local:1", "--min-count", "1")
    assert_one_line_error(result, str(corpus), f"byte {len(good)}", "invalid UTF-8")
    assert not out.exists()


def test_without_dask_cluster_says_what_to_install(tmp_path, monkeypatch, assert_one_line_error):
    monkeypatch.setitem(sys.modules, "distributed", None)
    (tmp_path / "c.txt").write_text("a b c\n" * 20)
    result = _embed(str(tmp_path / "c.txt"), "-o", str(tmp_path / "o.vec"), "--cluster", "local:2")
    assert_one_line_error(result, "pip install 'seqdl[distributed]'", code=1)
    assert not (tmp_path / "o.vec").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--sync-words", "100"], "--sync-words applies to training on a cluster"),
    (["--cluster", "local:x"], "local:N"),
])
def test_option_combinations_that_mean_nothing(tmp_path, args, fragment, assert_one_line_error):
    (tmp_path / "c.txt").write_text("a b c\n" * 20)
    result = _embed(str(tmp_path / "c.txt"), "-o", str(tmp_path / "o.vec"), *args)
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "o.vec").exists()


def test_embed_help_imports_neither_dask_nor_fsspec():
    probe = ("import sys\nfrom click.testing import CliRunner\nfrom seqdl.cli import make_cli\n"
             "result = CliRunner().invoke(make_cli(), ['embed', '--help'])\n"
             "assert result.exit_code == 0 and '--cluster' in result.output, result.output\n"
             "print(sorted(m for m in ('dask', 'distributed', 'fsspec', 'zstandard') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
