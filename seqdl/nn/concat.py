"""Concat: branches run side by side on the same input, outputs joined along one axis.

With it the inception module is a few lines: 1x1, 1x1 -> 3x3, 1x1 -> 5x5
and pool -> 1x1 branches, each a :class:`~seqdl.nn.Sequential`, concatenated
along the channel axis (``axis=1``, as ``torch.cat(..., 1)`` in GoogLeNet).
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .base import Container, Layer, build_layer, layer_spec


class Concat(Container):
    """Run every branch on the input and concatenate their outputs along ``axis``; the input gradient is their sum."""

    def __init__(self, branches=(), axis: int = 1):
        super().__init__()
        self.branches: list[Layer] = self._layers(branches)
        self.axis = int(axis)
        if not self.branches:
            raise ValueError("Concat needs at least one branch")

    def children(self) -> list[Layer]:
        return self.branches

    @classmethod
    def from_config(cls, config: dict) -> Concat:
        return cls([build_layer(spec) for spec in config["branches"]], axis=config.get("axis", 1))

    def config(self) -> dict:
        return {"branches": [layer_spec(branch) for branch in self.branches], "axis": self.axis}

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(branch).replace("\n", "\n  ") for branch in self.branches)
        return f"Concat([\n  {inner}\n], axis={self.axis})"

    def forward(self, x, training=False):
        outs = [branch.forward(x, training=training) for branch in self.branches]
        shapes = [np.shape(out) for out in outs]
        axis = self.axis % len(shapes[0]) if shapes[0] else self.axis
        rest = {shape[:axis] + shape[axis + 1:] for shape in shapes}
        if len(rest) != 1 or any(len(shape) != len(shapes[0]) for shape in shapes):
            raise ShapeError(f"Concat(axis={self.axis}) branches gave outputs of shapes {shapes}, which differ "
                             f"outside axis {self.axis}")
        self._sizes = [shape[axis] for shape in shapes]
        self._axis = axis
        return np.concatenate(outs, axis=axis)

    def backward(self, grad_out):
        pieces = np.split(np.asarray(grad_out), np.cumsum(self._sizes)[:-1], axis=self._axis)
        total = None
        for branch, piece in zip(self.branches, pieces):
            dx = branch.backward(np.ascontiguousarray(piece))
            if dx is not None:
                total = dx if total is None else total + dx
        return total
