"""Learning-rate schedules: ``schedule(epoch) -> lr`` with epoch counted from 0.

``schedule.apply(optimizer, epoch)`` sets the optimiser's ``lr``;
:meth:`seqdl.nn.Sequential.fit` does that at the start of every epoch.
"""

from __future__ import annotations


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
