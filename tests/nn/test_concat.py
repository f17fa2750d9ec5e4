"""Concat branches, nested containers (parameters, optimisers, files) and padded pooling."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl import nn
from seqdl.errors import ShapeError


def _inception(c_in, rng, dtype=np.float32):
    """GoogLeNet's module: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max pool -> 1x1, joined on channels."""
    def conv(a, b, k):
        return nn.Conv2D(a, b, k, padding="same", rng=rng, dtype=dtype)
    return nn.Concat([
        conv(c_in, 2, 1),
        nn.Sequential([conv(c_in, 2, 1), nn.ReLU(), conv(2, 3, 3)]),
        nn.Sequential([conv(c_in, 1, 1), nn.ReLU(), conv(1, 2, 5)]),
        nn.Sequential([nn.MaxPool2D(3, stride=1, padding=1), conv(c_in, 2, 1)]),
    ], axis=1)


def test_inception_block_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    block = _inception(2, rng, np.float64)
    x = rng.standard_normal((2, 2, 6, 6))
    out = block.forward(x)
    assert out.shape == (2, 2 + 3 + 2 + 2, 6, 6)
    assert nn.gradcheck(block, x) < 1e-6


def test_dropout_inside_nested_branches_is_replayed_by_gradcheck():
    rng = np.random.default_rng(4)
    block = nn.Concat([nn.Sequential([nn.Dense(3, 4, rng=rng), nn.Dropout(0.5, rng=1)]),
                       nn.Sequential([nn.Dropout(0.3, rng=2), nn.Dense(3, 2, rng=rng)])])
    assert nn.gradcheck(block, rng.standard_normal((5, 3)), training=True) < 1e-6


def test_concat_matches_torch_cat_of_branches():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    block = _inception(3, rng, np.float64)
    tconv = [torch.nn.Conv2d(3, 2, 1), torch.nn.Conv2d(3, 2, 1), torch.nn.Conv2d(2, 3, 3, padding=1),
             torch.nn.Conv2d(3, 1, 1), torch.nn.Conv2d(1, 2, 5, padding=2), torch.nn.Conv2d(3, 2, 1)]
    for module, name in zip(tconv, ["0", "1.0", "1.2", "2.0", "2.2", "3.1"]):
        module.double()
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(block.params[f"{name}.weight"]))
            module.bias.copy_(torch.from_numpy(block.params[f"{name}.bias"]))
    x = rng.standard_normal((2, 3, 7, 7))
    xt = torch.from_numpy(x).requires_grad_()
    relu, pool = torch.nn.functional.relu, torch.nn.MaxPool2d(3, 1, 1)
    theirs = torch.cat([tconv[0](xt), tconv[2](relu(tconv[1](xt))), tconv[4](relu(tconv[3](xt))),
                        tconv[5](pool(xt))], 1)
    grad = rng.standard_normal(theirs.shape)
    theirs.backward(torch.from_numpy(grad))
    np.testing.assert_allclose(block.forward(x), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(block.backward(grad), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(block.grads["3.1.weight"], tconv[5].weight.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_padded_pooling_matches_torch(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    ours = (nn.MaxPool2D if kind == "max" else nn.AvgPool2D)(3, stride=2, padding=1)
    theirs = (torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d)(3, stride=2, padding=1)
    x = rng.standard_normal((2, 3, 7, 6))
    xt = torch.from_numpy(x).requires_grad_()
    yt = theirs(xt)
    grad = rng.standard_normal(yt.shape)
    yt.backward(torch.from_numpy(grad))
    np.testing.assert_allclose(ours.forward(x), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.backward(grad), xt.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="padding"):
        nn.MaxPool2D(2, padding=2)


def test_branches_that_disagree_are_a_shape_error():
    block = nn.Concat([nn.Conv2D(1, 2, 3, padding="same"), nn.Conv2D(1, 2, 3)])
    with pytest.raises(ShapeError, match="differ outside axis 1"):
        block.forward(np.zeros((1, 1, 5, 5), np.float32))


def test_nested_models_train_save_and_load(tmp_path):
    rng = np.random.default_rng(3)
    model = nn.Sequential([_inception(1, rng), nn.ReLU(), nn.Sequential([nn.Flatten(), nn.BatchNorm1D(9 * 16)]),
                           nn.Dense(9 * 16, 3, rng=rng)])
    x = rng.standard_normal((30, 1, 4, 4)).astype(np.float32)
    y = (x.sum(axis=(1, 2, 3)) > 0).astype(int) + (x[:, 0, 0, 0] > 1)
    before = {k: v.copy() for k, v in model.params.items()}
    assert "0.1.2.weight" in before and "2.1.weight" in before
    model.fit(x, y, epochs=2, batch_size=10, verbose=False, seed=0)
    assert all(not np.array_equal(before[k], v) for k, v in model.params.items())  # the optimiser reached all
    path = tmp_path / "nested.npz"
    model.save(path)
    loaded = nn.Sequential.load(path)
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for name, value in model.buffers.items():
        np.testing.assert_array_equal(loaded.buffers[name], value)
