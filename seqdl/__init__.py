"""seqdl: plugin-based text and sequence modelling, accelerated with Numba.

``import seqdl`` is cheap: the heavy parts (numba, scikit-learn) load on first
use of the names that need them.
"""

from __future__ import annotations

import importlib

from .errors import SeqdlError
from .hookspecs import hookimpl

__version__ = "0.1.0"

# Public names loaded on first access: name -> (module, attribute); attribute
# None means the module itself (for subpackages such as ``seqdl.nn``).
_LAZY = {
    "nn": (".nn", None),
    "StepModel": (".decoding", "StepModel"),
    "Decoder": (".decoding", "Decoder"),
    "Constraints": (".decoding", "Constraints"),
    "LogitsRules": (".logits", "LogitsRules"),
    "Generation": (".generation", "Generation"),
    "generate": (".generation", "generate"),
    "KeyedVectors": (".embeddings.keyedvectors", "KeyedVectors"),
    "Word2Vec": (".embeddings.word2vec", "Word2Vec"),
    "Word2VecParams": (".embeddings.params", "Word2VecParams"),
    "FastText": (".embeddings.fasttext", "FastText"),
    "FastTextParams": (".embeddings.params", "FastTextParams"),
    "FastTextKeyedVectors": (".embeddings.subwordvectors", "FastTextKeyedVectors"),
    "load_vectors": (".embeddings.loading", "load_vectors"),
    "project": (".projection", "project"),
    "lm": (".lm", None),
    "LanguageModel": (".lm.model", "LanguageModel"),
}

__all__ = ["SeqdlError", "hookimpl", "__version__", *_LAZY]


def __getattr__(name: str):
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'seqdl' has no attribute {name!r}") from None
    value = importlib.import_module(module, __name__)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
