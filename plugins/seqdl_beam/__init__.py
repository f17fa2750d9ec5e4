"""Built-in plugin: beam-search decoding ("beam").

The search lives in :mod:`seqdl_beam.search` (Hugging Face
``generate(num_beams=...)`` semantics). This module only registers it, and
imports it when seqdl first asks for its decoders, so loading the plugin for
``seqdl --help`` imports no numpy.
"""

from __future__ import annotations

import importlib

import seqdl

__all__ = ["BeamSearch", "Hypothesis", "register_decoders"]


@seqdl.hookimpl
def register_decoders(register):
    """Register "beam"."""
    from .search import BeamSearch

    register("beam", BeamSearch)


def __getattr__(name: str):
    if name in ("BeamSearch", "Hypothesis"):
        return getattr(importlib.import_module(".search", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
