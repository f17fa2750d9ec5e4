"""Built-in plugin: greedy and stochastic sampling decoders ("greedy", "sample").

The decoders live in :mod:`seqdl_sampling.decoders` (Hugging Face
``generate()`` semantics through :class:`seqdl.LogitsRules`). This module
only registers them, and imports them when seqdl first asks for its
decoders, so loading the plugin for ``seqdl --help`` imports no numpy.
"""

from __future__ import annotations

import importlib

import seqdl

__all__ = ["Sampler", "filter_log_probs", "greedy", "register_decoders"]


@seqdl.hookimpl
def register_decoders(register):
    """Register "greedy" and "sample"."""
    from .decoders import Sampler, greedy

    register("greedy", greedy)
    register("sample", Sampler)


def __getattr__(name: str):
    if name in ("Sampler", "filter_log_probs", "greedy"):
        return getattr(importlib.import_module(".decoders", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
