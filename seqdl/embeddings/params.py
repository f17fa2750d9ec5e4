"""The hyperparameters of word2vec and fastText: the one place they are defined.

:class:`Word2VecParams` and :class:`FastTextParams` are what
:class:`~seqdl.embeddings.word2vec.Word2Vec` takes as keywords, what the
``seqdl embed`` options are generated from (each field's ``metadata`` holds
its help text, bounds and flag) and what a model file's header stores. This
module imports nothing heavy, so the command line can read it at startup.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from ..errors import ParameterError

__all__ = ["Word2VecParams", "FastTextParams", "ARCHITECTURES", "LOSSES", "setting_specs"]

ARCHITECTURES = ("skipgram", "cbow")
LOSSES = ("negative", "sampled-softmax", "softmax")


def _setting(default: Any, help: str, *, kind: str, minimum: float | None = None, maximum: float | None = None,
             min_open: bool = False, choices: tuple[str, ...] = (), flag: str | None = None) -> Any:
    """A dataclass field whose metadata says how to check it and how the command line offers it.

    ``kind`` is ``int``, ``float``, ``choice``, ``bool``, ``seed`` or
    ``workers``; ``flag`` overrides the option name derived from the field.
    """
    meta = {"help": help, "kind": kind, "min": minimum, "max": maximum, "min_open": min_open,
            "choices": choices, "flag": flag}
    return field(default=default, metadata=meta)


@dataclass
class Word2VecParams:
    """word2vec's hyperparameters with word2vec.c's and gensim's names and defaults."""

    model: str = _setting("skipgram", "Architecture.", kind="choice", choices=ARCHITECTURES, flag="--arch")
    loss: str = _setting("negative", "Output layer; full softmax is a reference for small vocabularies.",
                         kind="choice", choices=LOSSES)
    dim: int = _setting(100, "Vector dimension.", kind="int", minimum=1)
    window: int = _setting(5, "Largest distance to a context word.", kind="int", minimum=1)
    negative: int = _setting(5, "Noise words per prediction, or the candidate-set size of the sampled softmax.",
                             kind="int", minimum=1)
    min_count: int = _setting(5, "Ignore words seen fewer times.", kind="int", minimum=1)
    max_vocab: int | None = _setting(None, "Keep only the N most frequent words.", kind="int", minimum=1)
    max_vocab_memory: int | None = _setting(
        None, "Count the vocabulary holding at most N distinct words, pruning the rarest as gensim's "
        "max_vocab_size does (counts become approximate).", kind="int", minimum=1)
    sample: float = _setting(1e-3, "Subsampling threshold for frequent words (0: off).", kind="float", minimum=0)
    alpha: float | None = _setting(None, "Starting learning rate  [default: 0.025 skip-gram, 0.05 CBOW]",
                                   kind="float", minimum=0, min_open=True)
    min_alpha: float = _setting(1e-4, "Final learning rate (linear decay over all epochs).", kind="float",
                                minimum=0)
    epochs: int = _setting(5, "Passes over the corpus.", kind="int", minimum=1)
    workers: int | None = _setting(None, "Training threads  [default: all cores]", kind="workers")
    seed: int = _setting(1, "Random seed; with --workers 1 the vectors are identical run to run.", kind="seed")
    lowercase: bool = _setting(True, "Lowercase the text.", kind="bool")
    ns_exponent: float = _setting(0.75, "Exponent of the noise distribution (count ** exponent; gensim's "
                                  "range: 1 by frequency, 0 uniform, negative favours rare words).",
                                  kind="float", minimum=-1.0, maximum=1.0)

    def __post_init__(self) -> None:
        self.check()

    @property
    def start_alpha(self) -> float:
        """The starting learning rate: as given, else 0.025 for skip-gram and 0.05 for CBOW."""
        if self.alpha is not None:
            return self.alpha
        return 0.05 if self.model == "cbow" else 0.025

    def check(self) -> None:
        """Raise :class:`ParameterError` naming the first field training cannot use."""
        for spec in fields(self):
            _check_value(spec.name, getattr(self, spec.name), spec.metadata)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-serialisable dict (what model files store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Word2VecParams":
        """The params stored by :meth:`to_dict`; unknown keys are refused, missing ones take their default."""
        names = {spec.name for spec in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ParameterError(unknown[0], f"unknown {cls.__name__} setting")
        return cls(**values)


@dataclass
class FastTextParams(Word2VecParams):
    """word2vec's hyperparameters plus fastText's character n-grams (``minn`` to ``maxn`` characters)."""

    minn: int = _setting(3, "Shortest character n-gram (with --subwords).", kind="int", minimum=1)
    maxn: int = _setting(6, "Longest character n-gram (with --subwords).", kind="int", minimum=1)
    bucket: int = _setting(2_000_000, "Hash buckets for the n-grams (with --subwords).", kind="int", minimum=1,
                           maximum=2**30)  # row numbers stay int32, as in fastText

    def check(self) -> None:
        """As :meth:`Word2VecParams.check`, and ``minn`` must not exceed ``maxn``."""
        super().check()
        if self.minn > self.maxn:
            raise ParameterError("minn", f"must not exceed maxn ({self.maxn}), got {self.minn}")


def setting_specs(cls: type = FastTextParams) -> list[tuple[str, Any, dict]]:
    """``(name, default, metadata)`` of each field of ``cls``, in order: what the CLI builds its options from."""
    return [(spec.name, None if spec.default is MISSING else spec.default, dict(spec.metadata))
            for spec in fields(cls)]


def _check_value(name: str, value: Any, meta: dict) -> None:
    kind = meta.get("kind")
    if value is None:
        if name in ("max_vocab", "max_vocab_memory", "alpha", "workers"):
            return
        raise ParameterError(name, "must be given")
    if kind == "choice":
        if value not in meta["choices"]:
            raise ParameterError(name, f"must be one of {', '.join(meta['choices'])}, not {value!r}")
        return
    if kind == "bool":
        if not isinstance(value, bool):
            raise ParameterError(name, f"must be True or False, not {value!r}")
        return
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParameterError(name, f"must be a finite number, not {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(name, f"must be an integer, not {value!r}")
    low, high = meta.get("min"), meta.get("max")
    if kind == "seed":
        low, high = 0, 2**32 - 1
    if kind == "workers":
        low, high = 1, 1024
    if low is not None and (value <= low if meta.get("min_open") else value < low):
        raise ParameterError(name, f"must be {'greater than' if meta.get('min_open') else 'at least'} {low}, "
                                   f"got {value}")
    if high is not None and value > high:
        raise ParameterError(name, f"must be at most {high}, got {value}")
