"""Optimisers with torch.optim's update rules and defaults.

Each is built on a model (anything with ``.layers``) or a list of layers and
updates every layer's ``params`` in place from its ``grads`` on ``step()``;
``zero_grad()`` clears the gradients. ``lr`` may be changed between steps
(that is what the schedules do). Updates run as one fused Numba pass per
parameter array.

``state_dict()`` / ``load_state_dict()`` use torch.optim's layout (``state``
keyed by parameter index in model order, ``param_groups`` with the
hyperparameters), with numpy arrays shaped like the parameters, so a state
round-trips through a checkpoint and to and from torch.
"""

from __future__ import annotations

import numpy as np

from .kernels.optim import adagrad_step, adam_step, rmsprop_step, sgd_step


def _layers_of(model_or_layers) -> list:
    layers = getattr(model_or_layers, "layers", model_or_layers)
    if hasattr(layers, "params"):
        layers = [layers]
    return list(layers)


class Optimizer:
    """Base class: keeps the (layer, parameter name) pairs and per-parameter state."""

    def __init__(self, model_or_layers, lr: float):
        if lr < 0:
            raise ValueError(f"learning rate must be >= 0, got {lr}")
        self.layers = _layers_of(model_or_layers)
        self.lr = float(lr)
        self.steps = 0
        self._state: dict[tuple[int, str], dict[str, np.ndarray]] = {}

    def parameters(self):
        """Yield (key, flat param view, flat grad view) for every trainable array."""
        for index, layer in enumerate(self.layers):
            for name, param in layer.params.items():
                if not param.flags.c_contiguous:
                    raise ValueError(f"{layer!r} parameter {name!r} is not C-contiguous; assign into it "
                                     f"(params[{name!r}][...] = value) instead of replacing it")
                yield (index, name), param.reshape(-1), layer.grads[name].reshape(-1)

    def state(self, key, param: np.ndarray, *names: str, fill: float = 0.0) -> list[np.ndarray]:
        """The named state arrays of one parameter, created (filled with ``fill``) on first use."""
        slots = self._state.setdefault(key, {})
        for name in names:
            if name not in slots or slots[name].shape != param.shape:
                slots[name] = np.full_like(param, fill)
        return [slots[name] for name in names]

    #: Hyperparameters (attribute names, torch's keys) kept in ``param_groups``.
    hyperparameters: tuple[str, ...] = ()
    #: Names of the per-parameter state arrays, as torch names them.
    slots: tuple[str, ...] = ()

    def _keys_and_shapes(self) -> list[tuple[tuple[int, str], tuple[int, ...]]]:
        return [((index, name), param.shape) for index, layer in enumerate(self.layers)
                for name, param in layer.params.items()]

    def state_dict(self) -> dict:
        """The optimiser's state as torch.optim lays it out (arrays are copies)."""
        state = {}
        for index, (key, shape) in enumerate(self._keys_and_shapes()):
            slots = self._state.get(key)
            if slots is None:
                continue
            entry = {name: slots[name].reshape(shape).copy() for name in self.slots if name in slots}
            if self.counts_steps:
                entry["step"] = float(self.steps)
            state[index] = entry
        group = {"lr": self.lr, **{name: getattr(self, name) for name in self.hyperparameters},
                 "params": list(range(len(self._keys_and_shapes())))}
        return {"state": state, "param_groups": [group], "steps": self.steps}

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue from a :meth:`state_dict` (ours, or torch's with tensors converted by ``.numpy()``)."""
        keys = self._keys_and_shapes()
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(keys):
            raise ValueError(f"the optimiser state is for {sum(len(g['params']) for g in groups)} parameters "
                             f"in {len(groups)} group(s); this model has {len(keys)} in one")
        fresh: dict[tuple[int, str], dict[str, np.ndarray]] = {}
        steps = int(state_dict.get("steps", 0))
        for index, entry in state_dict["state"].items():
            key, shape = keys[int(index)]
            dtype = self.layers[key[0]].params[key[1]].dtype
            slots = {}
            for name, value in entry.items():
                if name == "step":
                    steps = int(float(value))
                    continue
                if value is None:
                    continue
                array = np.asarray(value)
                if array.shape != shape:
                    raise ValueError(f"optimiser state {name!r} of parameter {index} has shape {array.shape}, "
                                     f"expected {shape}")
                slots[name] = np.ascontiguousarray(array, dtype=dtype).reshape(-1).copy()
            fresh[key] = slots
        group = groups[0]
        self.lr = float(group["lr"])
        for name in self.hyperparameters:
            if name in group:
                value = group[name]
                setattr(self, name, tuple(float(v) for v in value) if isinstance(value, (list, tuple))
                        else type(getattr(self, name))(value))
        self._state, self.steps = fresh, steps

    #: Whether torch keeps a ``step`` count per parameter for this optimiser.
    counts_steps = True

    def zero_grad(self) -> None:
        """Set every gradient to zero."""
        for layer in self.layers:
            layer.zero_grad()

    def step(self) -> None:
        """Apply one update to every parameter from its current gradient."""
        self.steps += 1
        for key, param, grad in self.parameters():
            self.update(key, param, grad)

    def update(self, key, param: np.ndarray, grad: np.ndarray) -> None:
        """Update one flat parameter in place."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD)."""

    hyperparameters = ("momentum", "dampening", "weight_decay", "nesterov")
    slots = ("momentum_buffer",)
    counts_steps = False

    def __init__(self, model_or_layers, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(model_or_layers, lr)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening = float(momentum), float(dampening)
        self.weight_decay, self.nesterov = float(weight_decay), bool(nesterov)

    def update(self, key, param, grad):
        first = key not in self._state
        (buf,) = self.state(key, param, "momentum_buffer")
        sgd_step(param, grad, buf, self.lr, self.momentum, self.dampening, self.weight_decay, self.nesterov, first)


class AdaGrad(Optimizer):
    """AdaGrad with lr decay, L2 weight decay and eps outside the root (torch.optim.Adagrad)."""

    hyperparameters = ("lr_decay", "weight_decay", "initial_accumulator_value", "eps")
    slots = ("sum",)

    def __init__(self, model_or_layers, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(model_or_layers, lr)
        self.lr_decay, self.weight_decay = float(lr_decay), float(weight_decay)
        self.initial_accumulator_value, self.eps = float(initial_accumulator_value), float(eps)

    def update(self, key, param, grad):
        (acc,) = self.state(key, param, "sum", fill=self.initial_accumulator_value)
        clr = self.lr / (1.0 + (self.steps - 1) * self.lr_decay)
        adagrad_step(param, grad, acc, clr, self.weight_decay, self.eps)


class RMSprop(Optimizer):
    """RMSprop with eps outside the root, optional centring and momentum (torch.optim.RMSprop)."""

    hyperparameters = ("alpha", "eps", "weight_decay", "momentum", "centered")
    slots = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, model_or_layers, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(model_or_layers, lr)
        self.alpha, self.eps, self.weight_decay = float(alpha), float(eps), float(weight_decay)
        self.momentum, self.centered = float(momentum), bool(centered)

    def update(self, key, param, grad):
        sq, gavg, buf = self.state(key, param, "square_avg", "grad_avg", "momentum_buffer")
        rmsprop_step(param, grad, sq, gavg, buf, self.lr, self.alpha, self.eps, self.weight_decay,
                     self.momentum, self.centered)


class Adam(Optimizer):
    """Adam with bias correction, eps after the root, L2 weight decay and AMSGrad (torch.optim.Adam)."""

    decoupled = False
    hyperparameters = ("betas", "eps", "weight_decay", "amsgrad")
    slots = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, model_or_layers, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(model_or_layers, lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps, self.weight_decay, self.amsgrad = float(eps), float(weight_decay), bool(amsgrad)

    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1.0 - beta1 ** self.steps)
        sqrt_bc2 = (1.0 - beta2 ** self.steps) ** 0.5
        l2 = 0.0 if self.decoupled else self.weight_decay
        shrink = 1.0 - self.lr * self.weight_decay if self.decoupled else 1.0
        for key, param, grad in self.parameters():
            m, v, vmax = self.state(key, param, "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
            adam_step(param, grad, m, v, vmax, step_size, beta1, beta2, self.eps, sqrt_bc2, l2, shrink,
                      self.amsgrad)


class AdamW(Adam):
    """Adam with decoupled weight decay, default 0.01 (torch.optim.AdamW)."""

    decoupled = True

    def __init__(self, model_or_layers, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(model_or_layers, lr, betas, eps, weight_decay, amsgrad)


#: torch's spelling.
Adagrad = AdaGrad

_BY_NAME = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get(optimizer, model_or_layers) -> Optimizer:
    """An Optimizer from itself, or from a name (``"adam"``...) built with defaults on the model."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    try:
        return _BY_NAME[str(optimizer).lower()](model_or_layers)
    except KeyError:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(_BY_NAME)}") from None
