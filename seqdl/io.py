"""Output files that are checked before the work, written atomically, and pickle-free model files.

- :func:`check_output` runs before any long work, for every file a command
  will write: it refuses an output that is one of the inputs (or another
  output), a missing or unwritable folder, a folder or a FIFO given as the
  file, and names the user's path.
- :func:`atomic_write` writes a temporary file beside the target and renames
  it over the target with :func:`os.replace`, so an interrupted run never
  leaves a half-written file. A symlink is written through (its target is
  replaced, the link kept); a character device such as ``/dev/null`` is
  written directly, never replaced.
- Models are ``.npz`` arrays plus a JSON header, always loaded with
  ``allow_pickle=False`` (:func:`save_npz`, :func:`load_npz`).
- :func:`to_json` is the one JSON writer of ``--json`` output: strict JSON,
  with NaN and infinity written as ``null``.

numpy (and tempfile, zipfile) are imported inside the functions that need
them, so commands may import this module while building the command line.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping

from .errors import InputError, ModelFileError

__all__ = ["META_KEY", "atomic_write", "check_input", "check_output", "encoding_hint", "load_npz", "read_text",
           "save_npz", "to_json"]

#: Name of the JSON member stored inside every seqdl ``.npz`` model file.
META_KEY = "__meta__"

PathLike = str | os.PathLike


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def check_input(path: PathLike, what: str = "file") -> Path:
    """``path`` as a Path if it is an existing file; else an :class:`InputError` saying ``no such {what}``."""
    path = Path(path)
    if str(path) == "-":
        return path
    if path.is_dir():
        raise InputError(f"is a folder, not a {what}", path=str(path))
    if not path.exists():
        raise InputError(f"no such {what}", path=str(path))
    return path


#: Byte-order marks of encodings people save text in by mistake, and what to call them.
_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
         (b"\xfe\xff", "UTF-16"))


def encoding_hint(head: bytes) -> str:
    """A hint for text that is not UTF-8, from its first bytes: how to re-encode UTF-16/32, else ''.

    Windows editors and PowerShell's ``>`` save UTF-16 with a byte-order mark;
    without one, NUL bytes between ASCII letters give it away.
    """
    encoding = next((name for bom, name in _BOMS if head.startswith(bom)), None)
    if encoding is None and len(head) >= 4 and head[1::2].count(0) > len(head) // 4:
        encoding = "UTF-16"
    if encoding is None:
        return ""
    return f"; it looks like {encoding}: re-encode it as UTF-8 (iconv -f {encoding} -t UTF-8 FILE > NEW)"


def read_text(path: PathLike, what: str = "file") -> str:
    """The whole of a small UTF-8 text file (questions, word lists); errors name ``path`` in one line.

    A missing file or a folder is ``no such {what}``; text that is not UTF-8
    (or holds a NUL byte) says where, with a re-encoding hint for UTF-16
    (:func:`encoding_hint`). A UTF-8 byte-order mark is dropped.
    """
    path = check_input(path, what)
    data = path.read_bytes()
    nul = data.find(b"\0")
    if nul >= 0:  # valid UTF-8, but no text file holds NUL: UTF-16 without a byte-order mark, or binary data
        raise InputError(f"not UTF-8 text (binary data: a NUL byte){encoding_hint(data[:64])}", path=str(path),
                         offset=nul)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason}){encoding_hint(data[:64])}", path=str(path),
                         offset=exc.start) from None


def check_output(path: PathLike, *, inputs: Iterable[PathLike] = (), others: Iterable[PathLike] = ()) -> Path:
    """Check, before any long work, that ``path`` can be written without losing anything.

    Refuses (with an :class:`InputError` naming ``path``) an output that is
    the same file as one of ``inputs`` or ``others`` (other outputs of the
    same run), after following links; a folder; a FIFO, socket or block
    device; a missing folder; a folder where no file can be created. A
    character device (``/dev/null``) is accepted: it is written directly.
    Returns ``path`` as a :class:`~pathlib.Path`.
    """
    if not os.fspath(path):  # Path("") would quietly become "."
        raise InputError("no output file named (an empty file name was given)")
    path = Path(path)
    for other in inputs:
        if str(other) != "-" and _same_file(path, Path(other)):
            raise InputError(f"is also an input ({other}); choose another output file", path=str(path))
    for other in others:
        if _same_file(path, Path(other)):
            raise InputError(f"is named as two outputs ({other}); give each its own file", path=str(path))
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", path=str(path)) from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise InputError("is a folder, not a file", path=str(path))
        if stat.S_ISCHR(mode):
            if not os.access(target, os.W_OK):
                raise InputError("cannot write: permission denied", path=str(path))
            return path
        if not stat.S_ISREG(mode):
            raise InputError("is not a regular file (a FIFO, socket or block device); refusing to write it",
                             path=str(path))
    folder = target.parent
    if not folder.is_dir():
        raise InputError("cannot write: no such folder", path=str(path))
    try:
        import tempfile  # here, not at module level: commands import this module to build the command line

        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".check", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write into the folder {str(path.parent)!r}: {exc.strerror}", path=str(path)) from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it to ``path``.

    If the block raises (Ctrl-C and SIGTERM included), the temporary file is
    removed and ``path`` is left as it was (absent, or holding its previous
    content). A symlink is followed, so its target is updated; a character
    device is opened and written directly; a FIFO, socket or folder is
    refused. Errors name ``path``, never the temporary file.
    """
    path = Path(path)
    binary = "b" in mode
    text_args = {} if binary else {"encoding": encoding, "newline": ""}
    target = Path(os.path.realpath(path))
    try:
        st_mode = os.stat(target).st_mode
    except OSError:
        st_mode = None
    if st_mode is not None and stat.S_ISCHR(st_mode):
        with _naming(path):
            fh = open(target, mode, **text_args)
        with fh, _naming(path, caller=True):
            yield fh
        return
    if st_mode is not None and not stat.S_ISREG(st_mode):
        raise InputError("is not a regular file; refusing to replace it", path=str(path))
    if not target.parent.is_dir():
        raise InputError("cannot write: no such folder", path=str(path))
    import tempfile

    with _naming(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, st_mode & 0o7777 if st_mode is not None else 0o666 & ~_umask())
        with _naming(path, caller=True), os.fdopen(fd, mode, **text_args) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with _naming(path):
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


#: errno values of a failed write to a file already open (disk full, quota, file too large, I/O error).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}


@contextlib.contextmanager
def _naming(path: Path, caller: bool = False) -> Iterator[None]:
    """Turn an OSError from writing ``path`` into an :class:`InputError` naming the user's ``path``.

    With ``caller`` (the block runs the caller's code, which writes the open
    file), only a failed write counts: any other OSError the caller's code
    raises (a download that failed, an input that cannot be read) passes
    through unchanged, for the caller to handle.
    """
    try:
        yield
    except OSError as exc:
        if isinstance(exc, InputError):
            raise
        if caller and not (exc.filename is None and exc.errno in _WRITE_ERRNOS):
            raise
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot write: {reason}", path=str(path)) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(path: PathLike, arrays: Mapping[str, Any], meta: Mapping | None = None) -> None:
    """Write ``arrays`` and a JSON-serialisable ``meta`` dict to ``path`` atomically."""
    import numpy as np

    if META_KEY in arrays:
        raise ValueError(f"array name {META_KEY!r} is reserved")
    header = np.frombuffer(json.dumps(dict(meta or {})).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **{META_KEY: header}, **{k: np.asarray(v) for k, v in arrays.items()})


def load_npz(path: PathLike) -> tuple[dict[str, Any], dict]:
    """Read a file written by :func:`save_npz`: ``(arrays, meta)``.

    Raises :class:`ModelFileError` naming the file if it is missing, is not a
    seqdl npz file, or would need pickle to load.
    """
    import zipfile

    import numpy as np

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


def check_finite_arrays(arrays: Mapping[str, Any], path: PathLike) -> None:
    """Refuse a model whose arrays hold NaN or infinity, naming the first such array and row."""
    import numpy as np

    for name, array in arrays.items():
        array = np.asarray(array)
        if not np.issubdtype(array.dtype, np.floating):
            continue
        bad = ~np.isfinite(array)
        if bad.any():
            where = np.argwhere(bad)[0]
            at = f" at index {tuple(int(i) for i in where)}" if array.ndim else ""
            raise ModelFileError(f"array {name!r} holds NaN or infinity{at}", path=str(path))


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python objects and non-finite floats as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if tolist is not None and type(value).__module__ == "numpy":
        return _plain(tolist())
    return value


def to_json(obj: Any, **kwargs: Any) -> str:
    """``obj`` as strict JSON: NaN and infinity become ``null``, numpy values plain Python, paths strings."""
    return json.dumps(_plain(obj), allow_nan=False, **kwargs)
