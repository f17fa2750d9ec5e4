"""Every layer, model and loss passes a float64 centred-difference gradient check."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl import nn

rng = np.random.default_rng(1)

LAYER_CASES = [
    ("dense", lambda: nn.Dense(5, 4), (3, 5)),
    ("dense-3d-nobias", lambda: nn.Dense(4, 3, bias=False), (2, 3, 4)),
    ("conv2d-pad1", lambda: nn.Conv2D(2, 3, 3, padding=1), (2, 2, 5, 4)),
    ("conv2d-stride-rect", lambda: nn.Conv2D(2, 3, (2, 3), stride=(2, 1), padding=(1, 0)), (2, 2, 5, 6)),
    ("conv2d-same-even", lambda: nn.Conv2D(2, 2, 4, padding="same"), (1, 2, 5, 5)),
    ("conv2d-1x1", lambda: nn.Conv2D(3, 2, 1), (2, 3, 3, 3)),
    ("conv2d-valid-nobias", lambda: nn.Conv2D(1, 2, 3, padding="valid", bias=False), (2, 1, 4, 5)),
    ("conv1d-same", lambda: nn.Conv1D(2, 3, 3, padding="same"), (2, 2, 6)),
    ("conv1d-stride", lambda: nn.Conv1D(3, 2, 2, stride=2, padding=1), (2, 3, 7)),
    ("maxpool2d", lambda: nn.MaxPool2D(2), (2, 2, 4, 5)),
    ("maxpool2d-overlap", lambda: nn.MaxPool2D(3, stride=2), (1, 2, 7, 7)),
    ("maxpool1d", lambda: nn.MaxPool1D(2), (2, 3, 6)),
    ("avgpool2d", lambda: nn.AvgPool2D(2, stride=1), (2, 2, 4, 4)),
    ("avgpool1d", lambda: nn.AvgPool1D(3, stride=2), (2, 2, 7)),
    ("flatten", lambda: nn.Flatten(), (2, 3, 2, 2)),
    ("dropout", lambda: nn.Dropout(0.4, rng=3), (4, 6)),
    ("batchnorm1d", lambda: nn.BatchNorm1D(3), (5, 3)),
    ("batchnorm1d-3d", lambda: nn.BatchNorm1D(3), (4, 3, 5)),
    ("batchnorm2d", lambda: nn.BatchNorm2D(2), (3, 2, 3, 3)),
    ("relu", lambda: nn.ReLU(), (3, 7)),
    ("tanh", lambda: nn.Tanh(), (3, 7)),
    ("sigmoid", lambda: nn.Sigmoid(), (3, 7)),
    ("softmax", lambda: nn.Softmax(), (3, 7)),
    ("softmax-dim1", lambda: nn.Softmax(dim=1), (2, 4, 3)),
]


def _with_random_affine(layer):
    """BatchNorm starts at weight 1, bias 0; check it away from that point too."""
    for name, value in layer.params.items():
        value[...] = rng.normal(size=value.shape)
    return layer


@pytest.mark.parametrize("name,make,shape", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_gradients_match_finite_differences(name, make, shape):
    layer = _with_random_affine(make())
    x = rng.normal(size=shape)
    assert nn.gradcheck(layer, x, training=True) < 1e-6


@pytest.mark.parametrize("make,shape", [(lambda: nn.BatchNorm2D(2), (3, 2, 3, 3)),
                                         (lambda: nn.Dropout(0.5), (3, 4))])
def test_inference_mode_gradients(make, shape):
    layer = _with_random_affine(make())
    layer.buffers.get("running_var", np.ones(1))[...] = rng.uniform(0.5, 2.0)
    assert nn.gradcheck(layer, rng.normal(size=shape), training=False) < 1e-6


def test_embedding_parameter_gradient_with_repeated_ids():
    ids = np.array([[0, 2, 2], [4, 0, 1]])
    assert nn.gradcheck(nn.Embedding(5, 3), ids) < 1e-6


def test_whole_model_gradient():
    model = nn.Sequential([nn.Conv2D(1, 2, 3, padding="same"), nn.Tanh(), nn.MaxPool2D(2), nn.Flatten(),
                           nn.Dense(8, 3), nn.Sigmoid()])
    assert nn.gradcheck(model, rng.normal(size=(2, 1, 4, 4))) < 1e-6


@pytest.mark.parametrize("loss,targets", [
    (nn.losses.cross_entropy, rng.integers(0, 5, 4)),
    (nn.losses.mse, rng.normal(size=(4, 5))),
    (nn.losses.bce_with_logits, rng.integers(0, 2, (4, 5)).astype(float)),
], ids=["cross_entropy", "mse", "bce_with_logits"])
def test_loss_gradients_match_finite_differences(loss, targets):
    assert nn.gradcheck(loss, rng.normal(size=(4, 5)) * 3, targets) < 1e-6


def test_gradcheck_detects_a_wrong_backward():
    class Broken(nn.Dense):
        def backward(self, grad_out):
            return 1.1 * super().backward(grad_out)

    assert nn.gradcheck(Broken(3, 2), rng.normal(size=(2, 3))) > 1e-3


def test_gradcheck_leaves_the_callers_layer_alone():
    layer = nn.Dense(3, 2)
    before = layer.params["weight"].copy()
    nn.gradcheck(layer, rng.normal(size=(2, 3)))
    assert layer.dtype == np.float32
    np.testing.assert_array_equal(layer.params["weight"], before)
