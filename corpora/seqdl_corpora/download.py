"""Download a catalog corpus into the cache: verified, extracted, idempotent.

The download goes to a temporary file beside its target and is renamed into
place only once its sha256 matches the catalog, so a bad checksum or an
interrupted transfer leaves nothing behind. A cached file is re-hashed and
reused, never fetched again. Only the standard library is used (urllib).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from seqdl.errors import SeqdlError
from seqdl.io import atomic_write
from seqdl.progress import NullProgress, ProgressReporter

from .catalog import Corpus

_CHUNK = 1 << 20
_USER_AGENT = "seqdl-corpora (+https://github.com/seqdl)"

class DownloadError(SeqdlError):
    """A corpus could not be fetched, or its bytes are not the ones the catalog pins."""


def cache_dir() -> Path:
    """Where corpora are kept: ``$SEQDL_CACHE/corpora``, else ``$XDG_CACHE_HOME/seqdl/corpora``, else ``~/.cache/seqdl/corpora``."""
    root = os.environ.get("SEQDL_CACHE")
    if root:
        return Path(root).expanduser() / "corpora"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "seqdl" / "corpora"


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_hashing(source: IO[bytes], sink: IO[bytes], progress: ProgressReporter, total: int) -> str:
    digest = hashlib.sha256()
    done = 0
    progress.update(done, total)
    for block in iter(lambda: source.read(_CHUNK), b""):
        digest.update(block)
        sink.write(block)
        done += len(block)
        progress.update(done, total)
    return digest.hexdigest()


def _fetch_one(url: str, target: Path, entry: Corpus, progress: ProgressReporter) -> None:
    """Download ``url`` to ``target`` through a temporary file; rename only if the sha256 matches."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with atomic_write(target, "wb") as sink, urllib.request.urlopen(request, timeout=60) as response:
        got = _copy_hashing(response, sink, progress, entry.size)
        if got != entry.sha256:  # raising inside atomic_write deletes the temporary file
            raise DownloadError(f"sha256 {got} is not the expected {entry.sha256}, refused and deleted")


def _download(entry: Corpus, target: Path, progress: ProgressReporter) -> None:
    """Try each URL of ``entry`` in turn; raise one error naming every failure if none works."""
    failures = []
    for url in entry.urls:
        try:
            _fetch_one(url, target, entry, progress)
            return
        except (DownloadError, urllib.error.URLError, OSError, ValueError) as exc:  # try the next mirror
            reason = getattr(exc, "reason", None) or exc
            failures.append(f"{url}: {reason}")
    raise DownloadError(f"could not get corpus {entry.name!r}: " + "; ".join(failures))


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path, or None for a folder; refuses absolute paths and '..'."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise DownloadError(f"refusing zip member with unsafe path {name!r}")
    return None if name.endswith("/") else path


def _extract(archive: Path, folder: Path) -> None:
    """Extract every file of ``archive`` into ``folder``, each through a temporary file; skip complete ones."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                member = _safe_member(info.filename)
                if member is None:
                    continue
                target = folder.joinpath(*member.parts)
                if target.is_file() and target.stat().st_size == info.file_size:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with atomic_write(target, "wb") as sink, zf.open(info) as source:
                    shutil.copyfileobj(source, sink, _CHUNK)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{archive}: not a valid zip archive ({exc})") from None


def fetch(entry: Corpus, directory: str | os.PathLike | None = None,
          progress: ProgressReporter | None = None) -> list[Path]:
    """Make ``entry`` ready under ``directory/NAME`` and return the paths of its text files.

    ``directory`` defaults to :func:`cache_dir`. A cached download whose sha256
    matches is reused; one that does not match is replaced. ``progress`` (a
    :class:`seqdl.progress.ProgressReporter`) is updated with the bytes
    received, out of the catalog's size (from 0 again for each mirror tried).
    """
    progress = progress if progress is not None else NullProgress()
    folder = Path(directory if directory is not None else cache_dir()) / entry.name
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.filename
    if not (target.is_file() and sha256_of(target) == entry.sha256):
        try:
            _download(entry, target, progress)
        except DownloadError:
            if created:
                folder.rmdir()  # only our temporary files were in it, and they are gone
            raise
    if not entry.is_zip:
        return [target]
    _extract(target, folder)
    paths = [folder.joinpath(*PurePosixPath(name).parts) for name in entry.files]
    missing = [str(p.relative_to(folder)) for p in paths if not p.is_file()]
    if missing:
        raise DownloadError(f"{entry.name}: archive has no {', '.join(missing)}")
    return paths
