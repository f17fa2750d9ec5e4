"""The catalog of public corpora ``seqdl corpus get`` can download.

Each entry pins the exact bytes by size and sha256; corpora/README.md says
where every checksum comes from. ``SEQDL_CORPORA_CATALOG=path.json`` merges
entries from a JSON list over the built-in ones (same field names as
:class:`Corpus`), so a mirror, a private corpus or a test server can be used
without code changes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from seqdl.errors import InputError, SeqdlError

#: Environment variable naming a JSON catalog merged over the built-in one.
CATALOG_ENV = "SEQDL_CORPORA_CATALOG"


@dataclass(frozen=True)
class Corpus:
    """One downloadable corpus: where it is, what its bytes are, and how to use it."""

    name: str
    urls: tuple[str, ...]  # tried in order; every one must serve the same bytes
    sha256: str
    size: int  # bytes of the downloaded file
    licence: str
    description: str
    preprocessing: str
    files: tuple[str, ...] = ()  # paths inside a zip to report; empty: the download itself

    @property
    def filename(self) -> str:
        """The name the download is stored under (the last part of the first URL)."""
        return self.urls[0].rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]

    @property
    def is_zip(self) -> bool:
        """Whether the download is a zip archive to extract."""
        return self.filename.lower().endswith(".zip")

    def as_dict(self) -> dict:
        """The entry as a JSON-serialisable dict."""
        return asdict(self)


_WIKI_LICENCE = "CC BY-SA (text from Wikipedia; Creative Commons Attribution-ShareAlike)"
_WIKITEXT_NOTE = ("Articles separated by ' = Title = ' heading lines; the raw version keeps the original "
                  "case, punctuation and rare words. Split off the heading lines or keep them; lower-case "
                  "for word vectors.")

BUILTIN: tuple[Corpus, ...] = (
    Corpus(
        name="text8",
        urls=("http://mattmahoney.net/dc/text8.zip",),
        sha256="a6640522afe85d1963ad56c05b0ede0a0c000dddc9671758a6cc09b7a38e5232",
        size=31_344_016,
        licence=_WIKI_LICENCE + "; prepared by Matt Mahoney",
        description="First 10^8 characters of a 2006 English Wikipedia dump, cleaned: 17M words",
        preprocessing=("Already clean: lower-case a-z and single spaces, digits spelled out, one 100 MB line. "
                       "Train on it as is (seqdl embed reads long lines in chunks)."),
        files=("text8",),
    ),
    Corpus(
        name="tiny-shakespeare",
        urls=("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
              "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt"),
        sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        size=1_115_394,
        licence="Public domain (Shakespeare); compiled by Andrej Karpathy for char-rnn (MIT)",
        description="40,000 lines of Shakespeare's plays, 1.1 MB: the classic character-level LM corpus",
        preprocessing=("Raw text with speaker names ('First Citizen:') and punctuation. Use as is for "
                       "character models; lower-case and strip punctuation for word vectors."),
    ),
    Corpus(
        name="wikitext-2-raw",
        urls=("https://wikitext.smerity.com/wikitext-2-raw-v1.zip",
              "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-raw-v1.zip"),
        sha256="ef7edb566e3e2b2d31b29c1fdb0c89a4cc683597484c3dc2517919c615435a11",
        size=4_721_645,
        licence=_WIKI_LICENCE + "; Merity et al. 2016",
        description="WikiText-2 (raw): 2M words of Wikipedia Good and Featured articles, train/valid/test",
        preprocessing=_WIKITEXT_NOTE,
        files=("wikitext-2-raw/wiki.train.raw", "wikitext-2-raw/wiki.valid.raw", "wikitext-2-raw/wiki.test.raw"),
    ),
    Corpus(
        name="wikitext-2",
        urls=("https://wikitext.smerity.com/wikitext-2-v1.zip",
              "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip"),
        sha256="92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c",
        size=4_475_746,
        licence=_WIKI_LICENCE + "; Merity et al. 2016",
        description="WikiText-2 (tokenised): as wikitext-2-raw with rare words replaced by <unk>",
        preprocessing="Already tokenised (spaces around punctuation, ' @-@ ' for hyphens); 33k-word vocabulary.",
        files=("wikitext-2/wiki.train.tokens", "wikitext-2/wiki.valid.tokens", "wikitext-2/wiki.test.tokens"),
    ),
    Corpus(
        name="wikitext-103-raw",
        urls=("https://wikitext.smerity.com/wikitext-103-raw-v1.zip",
              "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-raw-v1.zip"),
        sha256="91c00ae287f0d699e18605c84afc9e45c192bc6b7797ff8837e5474655a33794",
        size=191_984_949,
        licence=_WIKI_LICENCE + "; Merity et al. 2016",
        description="WikiText-103 (raw): 103M words of Wikipedia Good and Featured articles, 190 MB zip",
        preprocessing=_WIKITEXT_NOTE,
        files=("wikitext-103-raw/wiki.train.raw", "wikitext-103-raw/wiki.valid.raw",
               "wikitext-103-raw/wiki.test.raw"),
    ),
)

_FIELDS = {f.name for f in fields(Corpus)}
_REQUIRED = {f.name for f in fields(Corpus) if f.name != "files"}


def _from_json(item: object, path: str, position: int) -> Corpus:
    if not isinstance(item, dict):
        raise InputError(f"entry {position + 1} is not a JSON object", path=path)

    def bad(problem: str) -> InputError:
        return InputError(f"entry {position + 1} ({item.get('name', '?')}): {problem}", path=path)

    missing = _REQUIRED - item.keys()
    unknown = item.keys() - _FIELDS
    if missing or unknown:
        raise bad(f"missing {sorted(missing)}" if missing else f"unknown fields {sorted(unknown)}")
    values = dict(item)
    for key in ("urls", "files"):
        value = values.get(key, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad(f"{key} must be a string or a list of strings")
        values[key] = tuple(value)
    for key in ("name", "sha256", "licence", "description", "preprocessing"):
        if not isinstance(values[key], str):
            raise bad(f"{key} must be a string")
    if type(values["size"]) is not int or values["size"] < 0:
        raise bad("size must be a whole number of bytes")
    if not values["urls"]:
        raise bad("no urls")
    sha = values["sha256"].lower()
    if len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
        raise bad("sha256 must be 64 hex digits")
    values["sha256"] = sha
    return Corpus(**values)


def load_catalog(path: str | os.PathLike | None = None) -> dict[str, Corpus]:
    """The catalog by name: the built-in entries, with those of ``path`` (or ``$SEQDL_CORPORA_CATALOG``) over them."""
    catalog = {entry.name: entry for entry in BUILTIN}
    path = path if path is not None else os.environ.get(CATALOG_ENV)
    if not path:
        return catalog
    try:
        items = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", path=str(path), offset=exc.start) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path=str(path), line=exc.lineno) from None
    if not isinstance(items, list):
        raise InputError("a corpus catalog must be a JSON list of entries", path=str(path))
    for position, item in enumerate(items):
        entry = _from_json(item, str(path), position)
        catalog[entry.name] = entry
    return catalog


def find(name: str, catalog: dict[str, Corpus] | None = None) -> Corpus:
    """The entry called ``name``, or a one-line error listing the known names."""
    catalog = load_catalog() if catalog is None else catalog
    if name not in catalog:
        raise SeqdlError(f"unknown corpus {name!r} (available: {', '.join(sorted(catalog))})")
    return catalog[name]
