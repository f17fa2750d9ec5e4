"""seqdl corpus get: download from a local HTTP server, verify, cache, refuse bad bytes."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import threading
import zipfile
from pathlib import Path

import pytest

from seqdl.errors import InputError
from seqdl_corpora.catalog import BUILTIN, Corpus, load_catalog
from seqdl_corpora.download import DownloadError, cache_dir, fetch

TEXT = "the quick brown fox\njumps over the lazy dog\n".encode() * 200


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


ZIPPED = _zip_bytes({"tiny/train.txt": TEXT, "tiny/test.txt": TEXT[:100]})


class _Server:
    """Files served from memory on 127.0.0.1, with a log of the paths requested."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.requests = files, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = _Server({"/corpus.txt": TEXT, "/tiny.zip": ZIPPED})
    yield srv
    srv.close()


def _entry(server: _Server, path: str = "/corpus.txt", data: bytes = TEXT, **changes) -> Corpus:
    fields = dict(name="local", urls=(server.url(path),), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                  licence="test", description="served by the test", preprocessing="none")
    fields.update(changes)
    return Corpus(**fields)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def test_plain_file_is_downloaded_verified_and_then_reused(server, tmp_path):
    entry = _entry(server)
    (path,) = fetch(entry, tmp_path)
    assert path == tmp_path / "local" / "corpus.txt"
    assert path.read_bytes() == TEXT
    assert server.requests == ["/corpus.txt"]
    assert fetch(entry, tmp_path) == [path]
    assert server.requests == ["/corpus.txt"], "a verified cached file must not be fetched again"


def test_zip_is_extracted_and_its_files_reported(server, tmp_path):
    entry = _entry(server, "/tiny.zip", ZIPPED, files=("tiny/train.txt", "tiny/test.txt"))
    train, test = fetch(entry, tmp_path)
    assert train.read_bytes() == TEXT and test.read_bytes() == TEXT[:100]
    train.unlink()  # a lost member is extracted again from the cached archive, not downloaded
    fetch(entry, tmp_path)
    assert train.read_bytes() == TEXT
    assert server.requests == ["/tiny.zip"]


def test_bad_checksum_is_refused_and_leaves_nothing(server, tmp_path):
    entry = _entry(server, sha256="0" * 64)
    with pytest.raises(DownloadError, match="sha256") as info:
        fetch(entry, tmp_path)
    assert "local" in str(info.value) and "\n" not in str(info.value)
    assert _leftovers(tmp_path) == []


def test_corrupt_cached_file_is_replaced(server, tmp_path):
    entry = _entry(server)
    target = tmp_path / "local" / "corpus.txt"
    target.parent.mkdir()
    target.write_bytes(b"truncated")
    fetch(entry, tmp_path)
    assert target.read_bytes() == TEXT
    assert server.requests == ["/corpus.txt"]


def test_next_mirror_is_tried_and_all_failures_are_named(server, tmp_path):
    entry = _entry(server, urls=(server.url("/gone.txt"), server.url("/corpus.txt")))
    (path,) = fetch(entry, tmp_path)
    assert path.read_bytes() == TEXT
    broken = _entry(server, name="broken", urls=(server.url("/gone.txt"), server.url("/also-gone.txt")))
    with pytest.raises(DownloadError) as info:
        fetch(broken, tmp_path)
    assert "/gone.txt" in str(info.value) and "/also-gone.txt" in str(info.value)
    assert not (tmp_path / "broken" / "gone.txt").exists()


def test_zip_member_escaping_the_folder_is_refused(tmp_path):
    evil = _zip_bytes({"../evil.txt": b"x"})
    srv = _Server({"/evil.zip": evil})
    try:
        with pytest.raises(DownloadError, match="unsafe"):
            fetch(_entry(srv, "/evil.zip", evil), tmp_path / "cache")
    finally:
        srv.close()
    assert not (tmp_path / "evil.txt").exists()


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQDL_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "corpora"
    monkeypatch.delenv("SEQDL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "seqdl" / "corpora"


def test_builtin_catalog_entries_are_complete():
    names = {entry.name for entry in BUILTIN}
    assert {"text8", "tiny-shakespeare", "wikitext-2-raw"} <= names
    for entry in BUILTIN:
        assert len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0
        assert entry.size > 0 and entry.licence and entry.preprocessing
        assert all(url.startswith(("http://", "https://")) for url in entry.urls)
        assert entry.is_zip == bool(entry.files)


def test_catalog_file_overrides_and_extends(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps([
        {"name": "text8", "urls": "http://mirror.example/text8.zip", "sha256": "A" * 64, "size": 1,
         "licence": "l", "description": "d", "preprocessing": "p", "files": ["text8"]},
        {"name": "mine", "urls": ["http://example/mine.txt"], "sha256": "b" * 64, "size": 2,
         "licence": "l", "description": "d", "preprocessing": "p"},
    ]))
    catalog = load_catalog(path)
    assert catalog["text8"].urls == ("http://mirror.example/text8.zip",)
    assert catalog["text8"].sha256 == "a" * 64
    assert catalog["mine"].filename == "mine.txt" and not catalog["mine"].is_zip
    assert catalog["wikitext-2-raw"] == next(e for e in BUILTIN if e.name == "wikitext-2-raw")


@pytest.mark.parametrize("content, message", [
    ("[{\"name\": \"x\",\n  oops}]", "line 2"),
    ("{}", "JSON list"),
    ("[{\"name\": \"x\"}]", "missing"),
    ("[{\"name\": \"x\", \"urls\": [\"u\"], \"sha256\": \"abc\", \"size\": 1, \"licence\": \"l\", "
     "\"description\": \"d\", \"preprocessing\": \"p\"}]", "64 hex"),
    ("[{\"name\": \"x\", \"urls\": [\"u\"], \"sha256\": \"" + "a" * 64 + "\", \"size\": \"big\", "
     "\"licence\": \"l\", \"description\": \"d\", \"preprocessing\": \"p\"}]", "size must be"),
    ("[{\"name\": 3, \"urls\": [\"u\"], \"sha256\": \"" + "a" * 64 + "\", \"size\": 1, "
     "\"licence\": \"l\", \"description\": \"d\", \"preprocessing\": \"p\"}]", "name must be a string"),
    ("[{\"name\": \"x\", \"urls\": [1], \"sha256\": \"" + "a" * 64 + "\", \"size\": 1, "
     "\"licence\": \"l\", \"description\": \"d\", \"preprocessing\": \"p\"}]", "urls must be"),
])
def test_bad_catalog_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "catalog.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        load_catalog(path)
    assert str(path) in str(info.value)


def _catalog_env(server: _Server, tmp_path: Path, sha: str | None = None) -> dict[str, str]:
    entry = _entry(server, name="local-text", sha256=sha or hashlib.sha256(TEXT).hexdigest())
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps([entry.as_dict()]))
    return {"SEQDL_CORPORA_CATALOG": str(path), "SEQDL_CACHE": str(tmp_path / "cache")}


def test_cli_get_prints_paths_and_progress_unless_quiet(server, tmp_path, run_corpus):
    env = _catalog_env(server, tmp_path)
    result = run_corpus(["corpus", "get", "local-text"], env={**env, "SEQDL_PROGRESS": "1"})
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path == tmp_path / "cache" / "corpora" / "local-text" / "corpus.txt"
    assert path.read_bytes() == TEXT
    assert "100%" in result.stderr
    quiet = run_corpus(["corpus", "get", "local-text", "--quiet", "--dir", str(tmp_path / "d")],
                       env={**env, "SEQDL_PROGRESS": "1"})
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert Path(quiet.stdout.strip()).read_bytes() == TEXT


def test_cli_get_bad_checksum_is_one_line_and_nonzero(server, tmp_path, run_corpus):
    env = _catalog_env(server, tmp_path, sha="1" * 64)
    result = run_corpus(["corpus", "get", "local-text", "-q"], env=env)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: could not get corpus 'local-text'")
    assert len(result.stderr.strip().splitlines()) == 1
    assert _leftovers(tmp_path / "cache" / "corpora") == []


def test_cli_list_and_unknown_name(server, tmp_path, run_corpus):
    env = _catalog_env(server, tmp_path)
    listed = run_corpus(["corpus", "list", "--json"], env=env)
    names = [item["name"] for item in json.loads(listed.stdout)]
    assert "local-text" in names and "text8" in names
    text = run_corpus(["corpus", "list"], env=env).stdout
    assert "tiny-shakespeare" in text and "licence:" in text
    unknown = run_corpus(["corpus", "get", "nope"], env=env)
    assert unknown.exit_code == 1 and "unknown corpus 'nope'" in unknown.stderr and "text8" in unknown.stderr
