"""Neural-network layers, losses, initialisers and optimisers with PyTorch's conventions.

Shapes as PyTorch: (N, F) for dense layers, (N, C, L) for 1-D and
(N, C, H, W) for 2-D convolution and pooling, (N, T, F) batch-first for
the recurrent layers. Every layer has
``forward(x, training=False)``, ``backward(grad_out)``, and ``params`` /
``grads`` dicts keyed by PyTorch's parameter names. float32 is the training
default; :func:`gradcheck` runs in float64. Heavy loops run in Numba.
"""

from __future__ import annotations

from . import init, losses, optim, schedules
from .activations import ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .clip import clip_grad_norm, clip_grad_value
from .concat import Concat
from .conv import Conv1D, Conv2D
from .gradcheck import gradcheck
from .layers import Dense, Dropout, Embedding, Flatten
from .normalization import BatchNorm1D, BatchNorm2D
from .pooling import AvgPool1D, AvgPool2D, MaxPool1D, MaxPool2D
from .recurrent import GRU, LSTM, RNN
from .sequential import EarlyStopping, Sequential

__all__ = [
    "AvgPool1D", "AvgPool2D", "BatchNorm1D", "BatchNorm2D", "Concat", "Conv1D", "Conv2D", "Dense", "Dropout",
    "EarlyStopping", "Embedding", "Flatten", "GRU", "LSTM", "Layer", "MaxPool1D", "MaxPool2D", "RNN", "ReLU", "Sequential",
    "Sigmoid", "Softmax", "Tanh", "clip_grad_norm", "clip_grad_value", "gradcheck", "init", "losses", "optim",
    "schedules",
]
