"""Exceptions for mistakes a user can fix.

Every error that reaches the command line as a :class:`SeqdlError` is shown as
one line on stderr with exit status 1, never as a traceback. Anything else is
a bug in seqdl or a plugin and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["CorpusError", "InputError", "ModelFileError", "ParameterError", "PluginConflictError", "PluginError",
           "ResourceError", "SeqdlError", "ShapeError", "TrainingError", "VocabularyError"]


class SeqdlError(Exception):
    """Base class of every error seqdl reports to a user as one line."""


class InputError(SeqdlError):
    """A file or value given by the user cannot be used (missing, empty, binary, bad UTF-8...)."""

    def __init__(self, message: str, path: str | None = None, offset: int | None = None, line: int | None = None):
        self.path = path
        self.offset = offset
        self.line = line
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if offset is not None:
            where.append(f"byte {offset}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class CorpusError(InputError):
    """A corpus cannot be read or yields nothing to train on."""


class ModelFileError(InputError):
    """A model or vectors file is missing, corrupt or of the wrong kind."""


class VocabularyError(SeqdlError, KeyError):
    """A word is not in the vocabulary."""

    def __init__(self, words):
        self.words = [words] if isinstance(words, str) else list(words)
        quoted = ", ".join(repr(w) for w in self.words)
        noun = "word" if len(self.words) == 1 else "words"
        super().__init__(f"{noun} not in vocabulary: {quoted}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class ShapeError(SeqdlError, ValueError):
    """An array has the wrong shape for the layer or function it was given to."""


class TrainingError(SeqdlError):
    """Training diverged or cannot go on (for example a NaN loss)."""


class PluginError(SeqdlError):
    """A plugin failed to load, raised in a hook, or conflicts with another."""


class PluginConflictError(PluginError):
    """Two plugins registered the same name."""

    def __init__(self, kind: str, name: str, first: str, second: str):
        self.kind, self.name, self.first, self.second = kind, name, first, second
        super().__init__(f"{kind} {name!r} is registered by both plugin {first!r} and plugin {second!r}")


class ParameterError(SeqdlError, ValueError):
    """A parameter's value cannot be used; ``param`` is its Python name (``min_count``).

    Library code raises it naming its own parameters; the command line shows
    the option that sets the parameter instead (``--min-count``).
    """

    def __init__(self, param: str, message: str):
        self.param = param
        self.message = message
        super().__init__(f"{param}: {message}")

    def with_name(self, name: str) -> str:
        """The message with ``name`` (for example a command-line flag) in place of the parameter."""
        return f"{name}: {self.message}"


class ResourceError(SeqdlError, MemoryError):
    """The work would need more memory (or another resource) than the machine has."""
