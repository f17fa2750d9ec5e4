"""Optimiser trajectories follow torch.optim step for step; schedules give the documented rates."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from seqdl import nn

torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", nn.optim.SGD, torch.optim.SGD, {"lr": 0.1}),
    ("SGD-momentum", nn.optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    ("SGD-dampening", nn.optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("SGD-nesterov-wd", nn.optim.SGD, torch.optim.SGD,
     {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("AdaGrad", nn.optim.AdaGrad, torch.optim.Adagrad, {"lr": 0.1}),
    ("AdaGrad-all", nn.optim.AdaGrad, torch.optim.Adagrad,
     {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.2}),
    ("RMSprop", nn.optim.RMSprop, torch.optim.RMSprop, {"lr": 0.01}),
    ("RMSprop-centered-momentum", nn.optim.RMSprop, torch.optim.RMSprop,
     {"lr": 0.01, "alpha": 0.9, "momentum": 0.8, "centered": True, "weight_decay": 0.01}),
    ("Adam", nn.optim.Adam, torch.optim.Adam, {"lr": 0.01}),
    ("Adam-wd-amsgrad", nn.optim.Adam, torch.optim.Adam,
     {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05, "amsgrad": True}),
    ("AdamW", nn.optim.AdamW, torch.optim.AdamW, {"lr": 0.01}),
    ("AdamW-amsgrad", nn.optim.AdamW, torch.optim.AdamW, {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
]


def step_both(layers, ours, theirs, reference, rng):
    """One update of our optimiser and torch's from the same random gradients."""
    ours.zero_grad()
    reference.zero_grad()
    for (layer, pname), param in zip(((lay, n) for lay in layers for n in lay.params), theirs):
        g = rng.normal(size=param.shape)
        layer.grads[pname] += g
        param.grad = torch.from_numpy(g.copy())
    ours.step()
    reference.step()


@pytest.mark.parametrize("name,ours_cls,torch_cls,kwargs", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_trajectory_matches_torch_step_for_step(name, ours_cls, torch_cls, kwargs):
    rng = np.random.default_rng(3)
    layers = [nn.Dense(4, 3, rng=1).astype(np.float64), nn.Conv1D(2, 2, 3, rng=2).astype(np.float64)]
    theirs = [torch.nn.Parameter(torch.from_numpy(layer.params[n].copy())) for layer in layers for n in layer.params]
    ours = ours_cls(layers, **kwargs)
    reference = torch_cls(theirs, **kwargs, foreach=False)
    for _ in range(6):
        step_both(layers, ours, theirs, reference, rng)
        mine = [layer.params[n] for layer in layers for n in layer.params]
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,ours_cls,torch_cls,kwargs", [c for c in CONFIGS if c[0].startswith("Adam")],
                         ids=[c[0] for c in CONFIGS if c[0].startswith("Adam")])
def test_adam_on_float32_parameters_matches_torch_in_float32(name, ours_cls, torch_cls, kwargs):
    """Adam computes in the parameters' dtype, as torch does: float32 trajectories agree to float32 rounding."""
    rng = np.random.default_rng(4)
    layers = [nn.Dense(40, 30, rng=1)]
    assert layers[0].params["weight"].dtype == np.float32
    theirs = [torch.nn.Parameter(torch.from_numpy(layers[0].params[n].copy())) for n in layers[0].params]
    ours = ours_cls(layers, **kwargs)
    reference = torch_cls(theirs, **kwargs, foreach=False)
    for _ in range(20):
        ours.zero_grad()
        reference.zero_grad()
        for pname, param in zip(layers[0].params, theirs):
            g = rng.normal(size=param.shape).astype(np.float32)
            layers[0].grads[pname] += g
            param.grad = torch.from_numpy(g.copy())
        ours.step()
        reference.step()
    for pname, param in zip(layers[0].params, theirs):
        np.testing.assert_allclose(layers[0].params[pname], param.detach().numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("ours_cls,torch_cls", [(c[1], c[2]) for c in CONFIGS if "-" not in c[0]])
def test_defaults_are_torchs(ours_cls, torch_cls):
    theirs = torch_cls([torch.nn.Parameter(torch.zeros(1))]).defaults
    for name, param in inspect.signature(ours_cls).parameters.items():
        if name in theirs and param.default is not inspect.Parameter.empty:
            assert tuple(np.atleast_1d(param.default)) == tuple(np.atleast_1d(theirs[name])), name


def test_optimizer_built_on_a_model_updates_its_layers_in_place():
    model = nn.Sequential([nn.Dense(2, 2, rng=0), nn.ReLU(), nn.Dense(2, 1, rng=1)])
    weight = model.layers[0].params["weight"]
    before = weight.copy()
    opt = nn.optim.SGD(model, lr=0.5)
    model.layers[0].grads["weight"][...] = 1.0
    opt.step()
    np.testing.assert_allclose(weight, before - 0.5)
    opt.zero_grad()
    assert not model.layers[0].grads["weight"].any()


def test_schedules():
    inv = nn.schedules.InverseTimeDecay(0.1, decay=0.5)
    assert [inv(e) for e in range(3)] == pytest.approx([0.1, 0.1 / 1.5, 0.05])
    exp = nn.schedules.ExponentialDecay(0.2, gamma=0.5)
    assert [exp(e) for e in range(3)] == pytest.approx([0.2, 0.1, 0.05])
    step = nn.schedules.StepDecay(1.0, step_size=2, gamma=0.1)
    assert [step(e) for e in range(5)] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    opt = nn.optim.Adam([nn.Dense(1, 1)], lr=1.0)
    assert inv.apply(opt, 2) == pytest.approx(0.05) and opt.lr == pytest.approx(0.05)


def test_exponential_and_step_schedules_match_torch():
    for ours, make in [(nn.schedules.ExponentialDecay(0.3, 0.7),
                        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.7)),
                       (nn.schedules.StepDecay(0.3, 3, 0.5),
                        lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5))]:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3)
        sched = make(opt)
        for epoch in range(8):
            assert ours(epoch) == pytest.approx(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
