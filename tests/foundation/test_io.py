"""Atomic writes and pickle-free model files."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl.errors import InputError, ModelFileError
from seqdl.io import atomic_write, load_npz, save_npz


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half of the new")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind

    with atomic_write(target) as fh:
        fh.write("new")
    assert target.read_text() == "new"


def test_atomic_write_of_new_file_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(tmp_path / "never.bin", "wb") as fh:
            fh.write(b"\x00" * 10)
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_npz_round_trip(tmp_path):
    path = tmp_path / "model.npz"
    arrays = {"weight": np.arange(6, dtype=np.float32).reshape(2, 3), "ids": np.array([3, 1], dtype=np.int64)}
    save_npz(path, arrays, {"kind": "test", "layers": [1, 2], "name": "café"})
    loaded, meta = load_npz(path)
    assert meta == {"kind": "test", "layers": [1, 2], "name": "café"}
    assert set(loaded) == {"weight", "ids"}
    np.testing.assert_array_equal(loaded["weight"], arrays["weight"])
    assert loaded["weight"].dtype == np.float32


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_npz(tmp_path / "absent.npz")


def test_corrupt_model_file_names_the_file(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ModelFileError, match="broken.npz"):
        load_npz(path)


def test_truncated_model_file(tmp_path):
    path = tmp_path / "model.npz"
    save_npz(path, {"w": np.ones((50, 50))}, {})
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ModelFileError):
        load_npz(path)


def test_npz_without_seqdl_metadata_is_refused(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, w=np.ones(3))
    with pytest.raises(ModelFileError, match="no metadata"):
        load_npz(path)


@pytest.mark.parametrize("name, content", [("notes.txt", b"plain text, not a model\n"), ("array.npy", None)])
def test_files_that_are_not_npz_archives_are_refused(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        np.save(path, np.arange(3))
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=f"{name}: not a seqdl model file"):
        load_npz(path)


def test_pickled_object_arrays_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    header = np.frombuffer(b"{}", dtype=np.uint8)
    np.savez(path, __meta__=header, payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="refusing to load"):
        load_npz(path)


def test_atomic_write_gives_the_usual_permissions(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "shared.txt") as fh:
            fh.write("readable by others, as open() would make it")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.txt").stat().st_mode & 0o777 == 0o644


def test_atomic_write_into_a_missing_folder_names_the_folder(tmp_path):
    from seqdl.errors import InputError

    with pytest.raises(InputError, match="nowhere/out.txt: cannot write: no such folder"):
        with atomic_write(tmp_path / "nowhere" / "out.txt") as fh:
            fh.write("never")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_names_the_output_for_a_failed_write_only(tmp_path):
    import errno
    import urllib.error

    out = tmp_path / "out.txt"
    with pytest.raises(InputError, match="out.txt: cannot write: No space left on device"):
        with atomic_write(out) as fh:
            fh.write("x")
            raise OSError(errno.ENOSPC, "No space left on device")
    # Errors of the caller's own work inside the block are not write errors: they pass through as they are.
    with pytest.raises(urllib.error.URLError):
        with atomic_write(out) as fh:
            raise urllib.error.URLError("mirror down")
    with pytest.raises(FileNotFoundError):
        with atomic_write(out) as fh:
            open(tmp_path / "missing-input.txt")
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_check_output_refuses_an_empty_name():
    from seqdl.io import check_output

    with pytest.raises(InputError, match="empty file name"):
        check_output("")


def test_read_text_hints_at_utf16_and_drops_a_utf8_bom(tmp_path):
    from seqdl.io import encoding_hint, read_text

    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffking queen\n".encode("utf-8"))
    assert read_text(bom) == "king queen\n"
    for encoding, name in (("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-32", "UTF-32")):
        path = tmp_path / f"{encoding}.txt"
        path.write_text("king queen man woman\n", encoding=encoding)
        with pytest.raises(InputError, match=f"not UTF-8 text .*looks like {name}: re-encode it as UTF-8"):
            read_text(path, "questions file")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("café\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        read_text(latin)
    assert "byte 3" in str(info.value) and "looks like" not in str(info.value)
    assert encoding_hint(b"plain ascii") == ""
    with pytest.raises(InputError, match="no such questions file"):
        read_text(tmp_path / "missing.txt", "questions file")
