"""The layer interface every seqdl.nn layer implements.

A layer maps a batch to a batch: ``forward(x, training=False)`` returns the
output and remembers what ``backward`` needs; ``backward(grad_out)`` adds the
parameter gradients into ``grads`` (accumulating, as PyTorch does, until
``zero_grad``) and returns the gradient of the input. ``params`` and ``grads``
are dicts of live arrays keyed by PyTorch's names (``weight``, ``bias``...);
non-trainable state such as BatchNorm's running statistics lives in
``buffers``. Layers with randomness keep it in ``self.rng`` (a numpy
Generator) so :func:`seqdl.nn.gradcheck` can replay it.

Subclasses register themselves by class name, which is how
:meth:`seqdl.nn.Sequential.load` rebuilds a saved model (:func:`layer_spec`,
:func:`build_layer`); a subclass reports its constructor arguments from
:meth:`Layer.config`. Layers made of layers (``Sequential``, ``Concat``)
derive from :class:`Container`, whose ``params``/``grads``/``buffers`` are
the children's live arrays under ``"<index>.<name>"``, so optimisers,
clipping, gradcheck and model files reach nested layers.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError

#: Training dtype unless a layer is built with another.
DEFAULT_DTYPE = np.float32


def make_rng(rng) -> np.random.Generator:
    """A numpy Generator from ``None`` (fresh entropy), a seed, or a Generator."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class Layer:
    """Base class of all layers (see the module docstring for the contract)."""

    #: Every Layer subclass by class name, for loading saved models.
    registry: dict[str, type[Layer]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            Layer.registry[cls.__name__] = cls

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}

    # -- the contract -------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Output of the layer for batch ``x``; ``training`` enables dropout, batch statistics..."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Accumulate parameter gradients and return the gradient of the last input."""
        raise NotImplementedError

    def config(self) -> dict:
        """Constructor keyword arguments (JSON-serialisable) that rebuild this layer."""
        return {}

    # -- shared helpers -----------------------------------------------------
    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training=training)

    def add_param(self, name: str, value: np.ndarray) -> None:
        """Register a trainable array and a zero gradient of the same shape."""
        value = np.ascontiguousarray(value)
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def zero_grad(self) -> None:
        """Set every parameter gradient to zero in place."""
        for grad in self.grads.values():
            grad.fill(0)

    @property
    def dtype(self):
        """The floating dtype of the parameters (the training default when there are none)."""
        for value in self.params.values():
            return value.dtype
        return getattr(self, "_dtype", np.dtype(DEFAULT_DTYPE))

    def astype(self, dtype) -> Layer:
        """Convert parameters, gradients and buffers to ``dtype`` in place; returns self."""
        dtype = np.dtype(dtype)
        self._dtype = dtype
        for store in (self.params, self.grads, self.buffers):
            for name, value in store.items():
                if np.issubdtype(value.dtype, np.floating):
                    store[name] = np.ascontiguousarray(value, dtype=dtype)
        return self

    def cast_input(self, x) -> np.ndarray:
        """``x`` as a C-contiguous array of the layer's dtype (no copy when it already is)."""
        return np.ascontiguousarray(x, dtype=self.dtype)

    def expect(self, x: np.ndarray, ndim: int | tuple[int, ...], layout: str, **sizes: int) -> None:
        """Raise ShapeError unless ``x`` has ``ndim`` axes and the named sizes.

        ``layout`` names the axes for the message, e.g. ``"(N, C, H, W)"``;
        ``sizes`` maps an axis position (``a1`` for axis 1) to its required size.
        """
        ndims = (ndim,) if isinstance(ndim, int) else ndim
        ok = x.ndim in ndims and all(x.shape[int(k[1:])] == v for k, v in sizes.items() if int(k[1:]) < x.ndim)
        if not ok:
            want = ", ".join(f"axis {k[1:]} = {v}" for k, v in sizes.items())
            raise ShapeError(f"{self!r} expected input of shape {layout}"
                             f"{' with ' + want if want else ''}, got {tuple(x.shape)}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def layer_spec(layer: Layer) -> dict:
    """``{"class": ..., "config": ...}``: what :func:`build_layer` needs to rebuild ``layer`` (JSON-serialisable)."""
    return {"class": type(layer).__name__, "config": layer.config()}


def build_layer(spec: dict) -> Layer:
    """A new layer from :func:`layer_spec`'s description (containers rebuild their children)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise TypeError(f"a layer description is {{'class': ..., 'config': {{...}}}}, got {spec!r}")
    layer_cls = Layer.registry.get(spec.get("class"))
    if layer_cls is None:
        raise KeyError(f"unknown layer class {spec.get('class')!r}")
    if issubclass(layer_cls, Container):
        return layer_cls.from_config(spec["config"])
    return layer_cls(**spec["config"])


class Container(Layer):
    """A layer made of child layers; its parameters, gradients and buffers are the children's.

    Subclasses keep the children in :meth:`children` order, which names the
    arrays (``"0.weight"``, ``"1.0.bias"`` for a nested container...).
    """

    def __init__(self):  # params/grads/buffers are views of the children's, not dicts of their own
        pass

    def _layers(self, layers) -> list[Layer]:
        """``layers`` as a list, refusing anything that is not a seqdl.nn layer."""
        layers = list(layers)
        for layer in layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"{type(self).__name__} takes seqdl.nn layers, got {type(layer).__name__}")
        return layers

    def children(self) -> list[Layer]:
        """The child layers, in the order that names their arrays."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> Container:
        """Rebuild from :meth:`config`, whose child descriptions are :func:`layer_spec` dicts."""
        raise NotImplementedError

    def _merged(self, store: str) -> dict[str, np.ndarray]:
        return {f"{i}.{name}": value for i, child in enumerate(self.children())
                for name, value in getattr(child, store).items()}

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Every child's parameters (live arrays: update them in place)."""
        return self._merged("params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Every child's gradients, keyed as :attr:`params`."""
        return self._merged("grads")

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Every child's buffers (BatchNorm's running statistics...)."""
        return self._merged("buffers")

    def zero_grad(self) -> None:
        for child in self.children():
            child.zero_grad()

    @property
    def dtype(self):
        for child in self.children():
            if child.params:
                return child.dtype
        return getattr(self, "_dtype", np.dtype(DEFAULT_DTYPE))

    def astype(self, dtype) -> Container:
        for child in self.children():
            child.astype(dtype)
        self._dtype = np.dtype(dtype)
        return self
