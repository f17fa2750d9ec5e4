"""``seqdl.generate``: text (or ids) from any :class:`~seqdl.decoding.StepModel` with any registered decoder.

The decoder is chosen by name from the plugin registry and built from the
options given (only those: the decoder's defaults apply to the rest); its
output is checked, so a plugin decoder that returns ids outside the
vocabulary is one error naming it rather than an IndexError further on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from .errors import ParameterError, SeqdlError

__all__ = ["BUILTIN_DECODERS", "Generation", "StopStrings", "generate", "make_decoder", "prompt_ids",
           "sequence_log_prob"]

#: Built-in decoders and the plugin that registers each, named when one is disabled.
BUILTIN_DECODERS = {"sample": "sampling", "greedy": "sampling", "beam": "beam"}


@dataclass(frozen=True)
class Generation:
    """One generated sequence.

    ``token_ids`` are the new ids (after the prompt; EOS kept if it ended
    there); ``text`` their text continuing the prompt when the model has a
    vocabulary, else None; ``log_prob`` the model's total log-probability of
    them; ``score`` what the decoder ranked by (beam: the length-penalised
    sum, as Hugging Face's ``sequences_scores``; sampling: the
    log-probability under the distribution actually sampled from).
    """

    text: str | None
    token_ids: tuple[int, ...]
    log_prob: float
    score: float


class StopStrings:
    """A stopping rule: true once the text of the generated ids contains one of ``strings`` (HF ``stop_strings``).

    Only the text of the last few ids is decoded each time: the longest
    string fits in that many tokens, since every token has some text.
    """

    def __init__(self, strings: Sequence[str], decode: Callable[[Sequence[int]], str]):
        self.strings = [s for s in strings if s]
        if len(self.strings) != len(strings):
            raise ParameterError("stop_strings", "an empty stop string would stop at once")
        self.decode = decode
        self.window = max((len(s) for s in self.strings), default=0) + 1

    def __call__(self, token_ids: Sequence[int]) -> bool:
        if not self.strings:
            return False
        text = self.decode(list(token_ids[-self.window:]))
        return any(s in text for s in self.strings)


def sequence_log_prob(model, prompt: Sequence[int], token_ids: Sequence[int]) -> float:
    """The model's total log-probability of ``token_ids`` following ``prompt`` (one step per token)."""
    if not token_ids:
        return 0.0
    log_probs, state = model.start(list(prompt))
    total = 0.0
    for i, token in enumerate(token_ids):
        total += float(log_probs[token])
        if i + 1 < len(token_ids):
            log_probs, state = model.step(state, token)
    return total


def make_decoder(name: str, options: dict[str, Any], host=None):
    """The decoder registered as ``name``, built with ``options``; one-line errors for a bad name or option."""
    from . import plugins

    entries = plugins.registry("decoders", host)
    if name not in entries and name in BUILTIN_DECODERS:
        plugin = BUILTIN_DECODERS[name]
        raise SeqdlError(f"decoder {name!r} is not available: it comes with the built-in plugin {plugin!r}, which is "
                         "not loaded (check SEQDL_DISABLE_PLUGINS and SEQDL_LOAD_PLUGINS; 'seqdl plugins' lists them)")
    factory = plugins.lookup("decoders", name, host)
    plugins.check_options(f"decoder {name!r}", factory, options)
    try:
        return factory(**options)
    except ParameterError:
        raise
    except (TypeError, ValueError) as exc:  # a bad value, or an option a **kwargs factory refuses
        raise SeqdlError(f"decoder {name!r}: {exc}") from None


def _one_blas_thread():
    """Single-threaded BLAS while decoding: its products have a handful of rows, and on a few rows
    the threads' synchronisation costs more than they save (5-10x slower on a busy 2-core machine)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _takes(function: Callable, name: str) -> bool:
    """Whether ``function`` accepts the keyword argument ``name``."""
    import inspect

    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _checked_ids(name: str, ids: Any, vocab_size: int) -> tuple[int, ...]:
    """``ids`` as a tuple of ints in [0, vocab_size); else an error naming the decoder."""
    import numpy as np

    try:
        array = np.asarray(list(ids))
    except TypeError:
        raise SeqdlError(f"decoder {name!r} returned {type(ids).__name__}, not a sequence of token ids") from None
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise SeqdlError(f"decoder {name!r} returned non-integer token ids ({array.dtype})")
    bad = array[(array < 0) | (array >= vocab_size)] if array.size else array
    if bad.size:
        raise SeqdlError(f"decoder {name!r} returned token id {int(bad[0])}, outside the model's vocabulary "
                         f"[0, {vocab_size})")
    return tuple(int(t) for t in array)


def prompt_ids(model, prompt: str | Sequence[int] | None, warn: Callable[[str], None] | None = None) -> list[int]:
    """The ids of ``prompt``: text through the model's vocabulary, ids checked, None the start of a line.

    A word the model never saw reads as ``<unk>`` with a warning, given to
    ``warn(message)`` if set (a command prints it), else :func:`warnings.warn`.
    """
    vocab = getattr(model, "vocab", None)
    if prompt is None:
        index = getattr(vocab, "index", {})
        return [index.get("\n", 0)] if vocab is not None else [0]
    if isinstance(prompt, str):
        if vocab is None:
            raise ParameterError("prompt", "this model has no vocabulary: give the prompt as token ids")
        ids = vocab.encode_prompt(prompt) if warn is None else vocab.encode_prompt(prompt, warn=warn)
        if not ids:
            raise ParameterError("prompt", "is empty")
        return ids
    return list(_checked_ids("prompt", prompt, model.vocab_size)) if len(prompt) else []


def generate(model, prompt: str | Sequence[int] | None = None, *, decoder: str = "sample", max_new_tokens: int = 200,
             stop_strings: Sequence[str] = (), on_token: Callable[[int, int], None] | None = None, host=None,
             warn: Callable[[str], None] | None = None, **options: Any) -> list[Generation]:
    """Continue ``prompt`` with ``model`` using the decoder registered as ``decoder``.

    ``prompt`` is text (for a model with a ``vocab``), token ids, or None for
    the start of a line. ``options`` go to the decoder's factory (for the
    built-in ones: ``temperature``, ``top_k``, ``top_p``, ``min_p``,
    ``typical_p``, ``repetition_penalty``, ``no_repeat_ngram_size``,
    ``eos_token_id``, ``min_new_tokens``, ``num_return_sequences``, ``seed``;
    ``beam_width`` and ``length_penalty`` for "beam"). ``stop_strings`` end a
    sequence once its text contains one. ``on_token(i, token)`` is called as
    sequence ``i`` grows (decoders that can stream). ``warn(message)``
    receives the warning of a prompt word outside the vocabulary (default:
    :func:`warnings.warn`). Returns the generated
    sequences, best first for beam search.
    """
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ParameterError("max_new_tokens", f"must be an integer >= 0, got {max_new_tokens!r}")
    minimum = options.get("min_new_tokens")
    if isinstance(minimum, int) and minimum > max_new_tokens:
        raise ParameterError("min_new_tokens", f"{minimum} is more than max_new_tokens ({max_new_tokens})")
    vocab = getattr(model, "vocab", None)
    start = prompt_ids(model, prompt, warn)
    if stop_strings:
        if vocab is None:
            raise ParameterError("stop_strings", "this model has no vocabulary to decode text with")
        options = {**options, "stop": StopStrings(list(stop_strings), vocab.decode)}
    chosen = make_decoder(decoder, options, host)
    rich = getattr(chosen, "generate", None)
    with _one_blas_thread():
        if rich is not None:
            streaming = {"on_token": on_token} if on_token is not None and _takes(rich, "on_token") else {}
            results = [(g.token_ids, g.log_prob, g.score) for g in rich(model, start, max_new_tokens, **streaming)]
        else:
            results = [(chosen.decode(model, start, max_new_tokens), None, None)]
    out = []
    for ids, log_prob, score in results:
        ids = _checked_ids(decoder, ids, model.vocab_size)
        if log_prob is None:
            log_prob = sequence_log_prob(model, start, ids)
            score = log_prob if score is None else score
        out.append(Generation(None, ids, float(log_prob), float(score)))
    if vocab is not None:
        prompt_text = vocab.decode(start)
        # Decoded together, so a word-level continuation gets its joining space.
        out = [replace(g, text=vocab.decode(start + list(g.token_ids))[len(prompt_text):]) for g in out]
    return out
