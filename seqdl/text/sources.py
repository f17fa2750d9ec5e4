"""Where corpus bytes come from: local files and folders, fsspec URLs, standard input.

:func:`resolve` turns what a user names as the corpus into a list of
:class:`Source` s, each one file read from the start (decompressed if its
name says it is compressed). A folder stands for its corpus files
(:data:`CORPUS_SUFFIXES`) in sorted order; a URL (``s3://``, ``gs://``,
``hdfs://``, ``file://``...) is opened with fsspec, which is only imported
for URLs. Standard input (``-``) and pipes can be read only once, so
:func:`spool` copies them to a temporary file first.

A :class:`Source` is a small picklable value: the distributed trainer ships
it to workers, which open it themselves.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from ..errors import CorpusError
from .compression import EXTENSIONS, compression_from_magic, compression_from_name, decompressing

#: The files of a folder that make up a corpus.
CORPUS_SUFFIXES = (".txt", *EXTENSIONS)

#: The name standard input goes by in messages.
STDIN_NAME = "<stdin>"


def is_url(spec: str) -> bool:
    """Whether ``spec`` is a URL (``protocol://...``) rather than a local path."""
    head, sep, _ = spec.partition("://")
    return bool(sep) and head.replace("+", "").replace("-", "").isalnum() and len(head) > 1


@dataclass(frozen=True)
class Source:
    """One corpus file: ``location`` (a local path or URL) is opened, ``name`` is shown in messages.

    ``size`` is the number of bytes stored (None if unknown); a file that is
    not compressed and whose size is known can be split into byte ranges.
    """

    location: str
    name: str
    compression: str | None = None
    size: int | None = None

    @property
    def splittable(self) -> bool:
        """Whether byte ranges of the file can be read on their own (plain text of known size)."""
        return self.compression is None and self.size is not None

    def open(self) -> BinaryIO:
        """The file's (decompressed) bytes; :class:`CorpusError` naming it if it cannot be opened."""
        try:
            raw = _open_url(self.location) if is_url(self.location) else open(self.location, "rb")
        except CorpusError:
            raise
        except FileNotFoundError:
            raise CorpusError("no such corpus file", path=self.name) from None
        except OSError as exc:
            raise CorpusError(f"cannot read: {exc.strerror or exc}", path=self.name) from None
        try:
            return decompressing(raw, self.compression, self.name)
        except BaseException:
            raw.close()
            raise


def resolve(spec: str | os.PathLike) -> list[Source]:
    """The files ``spec`` names: a file, a folder of corpus files, or a URL (file, folder or glob).

    Standard input is not resolved here (see :func:`spool`). Raises
    :class:`CorpusError` for a missing path, a folder without corpus files,
    or a URL that cannot be listed.
    """
    text = os.fspath(spec)
    if is_url(text):
        return _resolve_url(text)
    path = Path(text)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CorpusError("no such corpus file or folder", path=text) from None
    except OSError as exc:
        raise CorpusError(f"cannot read: {exc.strerror}", path=text) from None
    if stat.S_ISDIR(mode):
        files = sorted(p for p in path.iterdir() if p.name.lower().endswith(CORPUS_SUFFIXES) and p.is_file())
        if not files:
            raise CorpusError(f"the folder holds no corpus files ({', '.join('*' + s for s in CORPUS_SUFFIXES)})",
                              path=text)
        return [_local(p) for p in files]
    if not stat.S_ISREG(mode):
        raise CorpusError("not a regular file", path=text)
    return [_local(path)]


def _local(path: Path) -> Source:
    return Source(str(path), str(path), compression_from_name(path.name), path.stat().st_size)


def spool(stream: IO[bytes], name: str = STDIN_NAME, folder: str | None = None) -> tuple[Source, str]:
    """Copy ``stream`` (standard input, a pipe) to a temporary file once, so it can be read many times.

    Returns the :class:`Source` reading the copy (its compression recognised
    by magic bytes) and the temporary file's path, which the caller removes.
    """
    fd, tmp = tempfile.mkstemp(prefix="seqdl-stdin-", suffix=".spool", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        with open(tmp, "rb") as fh:
            head = fh.read(8)
    except BaseException:
        os.unlink(tmp)
        raise
    return Source(tmp, name, compression_from_magic(head), os.path.getsize(tmp)), tmp


def _fsspec():
    try:
        import fsspec
    except ImportError:
        raise CorpusError("reading a URL needs fsspec: pip install fsspec (or pip install 'seqdl[distributed]')"
                          ) from None
    return fsspec


def _url_fs(url: str):
    fsspec = _fsspec()
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:  # an unknown protocol, or its package (s3fs, gcsfs...) missing
        raise CorpusError(f"cannot open the URL: {exc}", path=url) from None


def _resolve_url(url: str) -> list[Source]:
    fs, path = _url_fs(url)
    protocol = url.partition("://")[0]
    try:
        if any(c in path for c in "*?["):
            infos = [fs.info(p) for p in sorted(fs.glob(path))]
        else:
            info = fs.info(path)
            infos = [info] if info["type"] != "directory" else sorted(
                (i for i in fs.ls(path, detail=True)
                 if i["type"] != "directory" and i["name"].lower().endswith(CORPUS_SUFFIXES)),
                key=lambda i: i["name"])
    except FileNotFoundError:
        raise CorpusError("no such corpus file or folder", path=url) from None
    except OSError as exc:
        raise CorpusError(f"cannot list: {exc}", path=url) from None
    if not infos:
        raise CorpusError("no corpus files there", path=url)
    sources = []
    for info in infos:
        name = info["name"]
        location = name if is_url(name) else f"{protocol}://{name}"
        sources.append(Source(location, location, compression_from_name(name), info.get("size")))
    return sources


def _open_url(url: str) -> BinaryIO:
    fs, path = _url_fs(url)
    return fs.open(path, "rb")
