"""Writing projected words as a ``word,x,y`` CSV table or a JSON document."""

from __future__ import annotations

import csv
import json
import os
from typing import Any, Mapping, Sequence

import numpy as np

from seqdl.io import atomic_write


def write_csv(path: str | os.PathLike, words: Sequence[str], xy: np.ndarray) -> None:
    """A ``word,x,y`` table with a header row; coordinates round-trip exactly."""
    with atomic_write(path, "w") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["word", "x", "y"])
        for word, (x, y) in zip(words, xy.tolist()):
            writer.writerow([word, repr(x), repr(y)])


def write_json(path: str | os.PathLike, words: Sequence[str], xy: np.ndarray, about: Mapping[str, Any]) -> None:
    """``about`` (method, options, source) plus ``points``: a list of ``{"word", "x", "y"}``."""
    points = [{"word": word, "x": x, "y": y} for word, (x, y) in zip(words, xy.tolist())]
    with atomic_write(path, "w") as fh:
        json.dump({**about, "points": points}, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
