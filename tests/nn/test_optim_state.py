"""Optimiser state_dict()/load_state_dict() round-trip to and from torch.optim mid-trajectory."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl import nn

torch = pytest.importorskip("torch")

from tests.nn.test_optim import CONFIGS, step_both  # noqa: E402  (the trajectory test's settings and update)


def _setup(ours_cls, torch_cls, kwargs):
    layers = [nn.Dense(4, 3, rng=1).astype(np.float64), nn.Conv1D(2, 2, 3, rng=2).astype(np.float64)]
    theirs = [torch.nn.Parameter(torch.from_numpy(layer.params[n].copy())) for layer in layers for n in layer.params]
    return layers, ours_cls(layers, **kwargs), theirs, torch_cls(theirs, **kwargs, foreach=False)


def _to_numpy(state_dict):
    state = {i: {k: (v.numpy().copy() if v.dim() else float(v)) if torch.is_tensor(v) else v
                 for k, v in entry.items()} for i, entry in state_dict["state"].items()}
    return {"state": state, "param_groups": state_dict["param_groups"]}


def _to_torch(state_dict):
    state = {i: {k: torch.tensor(v) if k == "step" else torch.from_numpy(np.asarray(v).copy())
                 for k, v in entry.items()} for i, entry in state_dict["state"].items()}
    return {"state": state, "param_groups": state_dict["param_groups"]}


def _assert_same(layers, theirs):
    mine = [layer.params[n] for layer in layers for n in layer.params]
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("direction", ["torch-to-ours", "ours-to-torch"])
@pytest.mark.parametrize("name,ours_cls,torch_cls,kwargs", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_a_fresh_optimiser_continues_from_the_others_state(name, ours_cls, torch_cls, kwargs, direction):
    rng = np.random.default_rng(5)
    layers, ours, theirs, reference = _setup(ours_cls, torch_cls, kwargs)
    for _ in range(3):
        step_both(layers, ours, theirs, reference, rng)
    # A new optimiser, built with another learning rate and default hyperparameters, takes all from the state.
    if direction == "torch-to-ours":
        ours = ours_cls(layers, lr=123.0)
        ours.load_state_dict(_to_numpy(reference.state_dict()))
    else:
        reference = torch_cls(theirs, lr=123.0, foreach=False)
        reference.load_state_dict(_to_torch(ours.state_dict()))
    for _ in range(3):
        step_both(layers, ours, theirs, reference, rng)
    _assert_same(layers, theirs)


def test_state_dict_is_a_copy_and_rejects_another_model():
    layers = [nn.Dense(3, 2, rng=0)]
    opt = nn.optim.Adam(layers, lr=0.1)
    layers[0].grads["weight"][...] = 1.0
    opt.step()
    saved = opt.state_dict()
    saved["state"][0]["exp_avg"][...] = 99.0
    assert not (opt.state_dict()["state"][0]["exp_avg"] == 99.0).any()
    other = nn.optim.Adam([nn.Dense(3, 2, rng=0), nn.Dense(2, 2, rng=1)])
    with pytest.raises(ValueError, match="parameters"):
        other.load_state_dict(saved)
