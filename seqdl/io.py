"""Atomic writes and pickle-free model files.

Outputs are written to a temporary file in the target folder and renamed over
the target with :func:`os.replace`, so an interrupted run never leaves a
half-written file. Models are stored as ``.npz`` arrays plus a JSON header and
are always loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Iterator, Mapping

import numpy as np

from .errors import InputError, ModelFileError

#: Name of the JSON member stored inside every seqdl ``.npz`` model file.
META_KEY = "__meta__"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it to ``path``.

    If the block raises, the temporary file is removed and ``path`` is left as
    it was (absent, or holding its previous content).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path.name}: no such folder", path=str(path.parent))
    binary = "b" in mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file open() would give
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping | None = None) -> None:
    """Write ``arrays`` and a JSON-serialisable ``meta`` dict to ``path`` atomically."""
    if META_KEY in arrays:
        raise ValueError(f"array name {META_KEY!r} is reserved")
    header = np.frombuffer(json.dumps(dict(meta or {})).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **{META_KEY: header}, **{k: np.asarray(v) for k, v in arrays.items()})


def load_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save_npz`: ``(arrays, meta)``.

    Raises :class:`ModelFileError` naming the file if it is missing, is not a
    seqdl npz file, or would need pickle to load.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError("no such model file", path=str(path))
    if not zipfile.is_zipfile(path):  # np.load would read a .npy array or try to unpickle a text file
        raise ModelFileError("not a seqdl model file (not an npz archive)", path=str(path))
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFileError(f"not a seqdl model file ({exc})", path=str(path)) from None
    except ValueError as exc:  # object arrays refuse to load without pickle
        raise ModelFileError(f"refusing to load: {exc}", path=str(path)) from None
    if META_KEY not in arrays:
        raise ModelFileError("not a seqdl model file (no metadata)", path=str(path))
    try:
        meta = json.loads(arrays.pop(META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"corrupt metadata ({exc})", path=str(path)) from None
    if not isinstance(meta, dict):
        raise ModelFileError("corrupt metadata (not a JSON object)", path=str(path))
    return arrays, meta
