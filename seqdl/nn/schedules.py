"""Learning-rate schedules: ``schedule(epoch) -> lr`` with epoch (or update step) counted from 0.

``schedule.apply(optimizer, epoch)`` sets the optimiser's ``lr``;
:meth:`seqdl.nn.Sequential.fit` does that at the start of every epoch.
"""

from __future__ import annotations

import math


class Schedule:
    """Base class: a learning rate per epoch starting from ``lr0``."""

    def __init__(self, lr0: float):
        self.lr0 = float(lr0)

    def __call__(self, epoch: int) -> float:
        raise NotImplementedError

    def apply(self, optimizer, epoch: int) -> float:
        """Set ``optimizer.lr`` for ``epoch`` and return it."""
        optimizer.lr = self(epoch)
        return optimizer.lr


class InverseTimeDecay(Schedule):
    """lr0 / (1 + decay * epoch)."""

    def __init__(self, lr0: float, decay: float):
        super().__init__(lr0)
        self.decay = float(decay)

    def __call__(self, epoch):
        return self.lr0 / (1.0 + self.decay * epoch)


class ExponentialDecay(Schedule):
    """lr0 * gamma ** epoch (torch.optim.lr_scheduler.ExponentialLR)."""

    def __init__(self, lr0: float, gamma: float):
        super().__init__(lr0)
        self.gamma = float(gamma)

    def __call__(self, epoch):
        return self.lr0 * self.gamma ** epoch


class StepDecay(Schedule):
    """lr0 * gamma ** (epoch // step_size) (torch.optim.lr_scheduler.StepLR)."""

    def __init__(self, lr0: float, step_size: int, gamma: float = 0.1):
        super().__init__(lr0)
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def __call__(self, epoch):
        return self.lr0 * self.gamma ** (epoch // self.step_size)


class Constant(Schedule):
    """lr0 at every step."""

    def __call__(self, epoch):
        return self.lr0


class Warmup(Schedule):
    """A linear warmup over ``warmup`` steps to ``inner``'s rate, then ``inner`` counted from the warmup's end.

    The warmup is nanoGPT's: ``lr0 * (it + 1) / (warmup + 1)`` for ``it < warmup``.
    """

    def __init__(self, inner: Schedule, warmup: int):
        super().__init__(inner.lr0)
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        self.inner, self.warmup = inner, int(warmup)

    def __call__(self, epoch):
        if epoch < self.warmup:
            return self.lr0 * (epoch + 1) / (self.warmup + 1)
        return self.inner(epoch - self.warmup)


class CosineDecay(Schedule):
    """Half a cosine from lr0 down to ``min_lr`` over ``decay_steps``, then ``min_lr`` (nanoGPT's decay)."""

    def __init__(self, lr0: float, decay_steps: int, min_lr: float = 0.0):
        super().__init__(lr0)
        if decay_steps < 1:
            raise ValueError(f"decay_steps must be >= 1, got {decay_steps}")
        self.decay_steps, self.min_lr = int(decay_steps), float(min_lr)

    def __call__(self, epoch):
        if epoch >= self.decay_steps:
            return self.min_lr
        coeff = 0.5 * (1.0 + math.cos(math.pi * epoch / self.decay_steps))
        return self.min_lr + coeff * (self.lr0 - self.min_lr)


def warmup_cosine(lr0: float, total: int, warmup: int = 0, min_lr: float = 0.0) -> Schedule:
    """nanoGPT's ``get_lr``: linear warmup, then cosine decay to ``min_lr`` at step ``total``."""
    if not 0 <= warmup < total:
        raise ValueError(f"warmup must be in [0, {total}) steps, got {warmup}")
    return Warmup(CosineDecay(lr0, total - warmup, min_lr), warmup)
