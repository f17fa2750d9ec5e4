"""Sequential: training, evaluation, model files, shape errors and dropout behaviour."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from seqdl import nn
from seqdl.errors import ModelFileError, ShapeError, TrainingError


def blobs(n=240, seed=0):
    """Three well separated Gaussian clusters in 4-D."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=float)
    return (centres[y] + rng.normal(scale=0.5, size=(n, 4))).astype(np.float32), y


def mlp(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential([nn.Dense(4, 16, rng=rng), nn.ReLU(), nn.Dropout(0.1, rng=rng), nn.Dense(16, 3, rng=rng)])


def test_fit_learns_a_separable_problem_and_logs_each_epoch(capsys):
    X, y = blobs()
    X_val, y_val = blobs(90, seed=1)
    model = mlp()
    history = model.fit(X, y, epochs=8, batch_size=16, optimizer=nn.optim.Adam(model, lr=0.01),
                        validation_data=(X_val, y_val), seed=0)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 8 and lines[-1].startswith("epoch 8/8") and "accuracy" in lines[-1] and "val_loss" in lines[-1]
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.95
    assert model.evaluate(X_val, y_val)["accuracy"] > 0.95
    assert model.predict(X_val).shape == (90, 3)


def test_conv_net_trains_in_float32():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 128)
    X = rng.normal(scale=0.3, size=(128, 1, 6, 6)).astype(np.float32)
    X[y == 1, 0, :, 2:4] += 2.0  # class 1 has a vertical bar
    model = nn.Sequential([nn.Conv2D(1, 4, 3, padding="same", rng=rng), nn.ReLU(), nn.MaxPool2D(2),
                           nn.BatchNorm2D(4), nn.Flatten(), nn.Dense(36, 2, rng=rng)])
    model.fit(X, y, epochs=6, batch_size=16, verbose=False, seed=0, optimizer="adam")
    assert model.dtype == np.float32 and model.predict(X).dtype == np.float32
    assert model.evaluate(X, y)["accuracy"] > 0.95


def test_regression_with_mse_and_a_schedule():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]])).astype(np.float32) + 0.3
    model = nn.Sequential([nn.Dense(3, 1, rng=0)])
    opt = nn.optim.SGD(model, lr=0.1)
    history = model.fit(X, y, epochs=20, batch_size=20, optimizer=opt, loss="mse", verbose=False,
                        schedule=nn.schedules.InverseTimeDecay(0.1, decay=0.1))
    assert "accuracy" not in history and history["loss"][-1] < 1e-3
    assert opt.lr == pytest.approx(0.1 / (1 + 0.1 * 19))
    np.testing.assert_allclose(model.layers[0].params["bias"], [0.3], atol=0.02)


def test_early_stopping_stops_and_restores_the_best_epoch(capsys):
    X, y = blobs(60)
    X_val, y_val = blobs(60, seed=5)
    y_val = (y_val + 1) % 3  # validation labels the model cannot learn: val_loss rises
    model = mlp()
    history = model.fit(X, y, epochs=50, batch_size=10, optimizer=nn.optim.Adam(model, lr=0.01),
                        validation_data=(X_val, y_val), early_stopping=nn.EarlyStopping(patience=2), seed=0)
    epochs_run = len(history["loss"])
    assert epochs_run < 50
    best = int(np.argmin(history["val_loss"]))
    assert epochs_run == best + 3
    assert "early stopping" in capsys.readouterr().err
    assert model.evaluate(X_val, y_val)["loss"] == pytest.approx(history["val_loss"][best], rel=1e-5)


def test_nan_loss_is_a_training_error():
    X, y = blobs(32)
    model = mlp()
    with pytest.raises(TrainingError, match="loss became"):
        model.fit(X * np.float32(np.nan), y, epochs=1, verbose=False)


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    model = nn.Sequential([nn.Conv1D(2, 3, 3, padding="same", rng=rng), nn.BatchNorm1D(3), nn.Tanh(),
                           nn.AvgPool1D(2), nn.Flatten(), nn.Dense(9, 4, rng=rng), nn.Softmax()])
    X = rng.normal(size=(8, 2, 6)).astype(np.float32)
    model.forward(X, training=True)  # move the BatchNorm running statistics
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = nn.Sequential.load(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.layers[1].buffers["running_var"], model.layers[1].buffers["running_var"])
    with zipfile.ZipFile(path) as zf:
        assert all(name.endswith(".npy") for name in zf.namelist())


def test_corrupt_or_foreign_model_files_are_model_file_errors(tmp_path):
    model = mlp()
    good = tmp_path / "good.npz"
    model.save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="truncated.npz"):
        nn.Sequential.load(truncated)
    with pytest.raises(ModelFileError, match="no such model file"):
        nn.Sequential.load(tmp_path / "missing.npz")
    from seqdl.io import load_npz, save_npz

    arrays, meta = load_npz(good)
    bad_class = tmp_path / "bad_class.npz"
    save_npz(bad_class, arrays, {**meta, "layers": [{"class": "Nope", "config": {}}]})
    with pytest.raises(ModelFileError, match="unknown layer class 'Nope'"):
        nn.Sequential.load(bad_class)
    wrong_shape = tmp_path / "wrong_shape.npz"
    save_npz(wrong_shape, {**arrays, "0.weight": np.zeros((2, 2))}, meta)
    with pytest.raises(ModelFileError, match="shape"):
        nn.Sequential.load(wrong_shape)
    foreign = tmp_path / "foreign.npz"
    save_npz(foreign, arrays, {"format": "something else"})
    with pytest.raises(ModelFileError, match="not a seqdl.nn.Sequential"):
        nn.Sequential.load(foreign)
    assert json.loads(json.dumps(meta))["layers"][0]["class"] == "Dense"


@pytest.mark.parametrize("layer,shape,message", [
    (nn.Dense(4, 3), (2, 5), r"Dense\(in_features=4.*expected input of shape \(\*, in_features\) with axis 1 = 4, got \(2, 5\)"),
    (nn.Conv2D(3, 4, 3), (2, 2, 5, 5), r"Conv2D\(in_channels=3.*expected input of shape \(N, C, H, W\) with axis 1 = 3"),
    (nn.Conv2D(1, 4, 3), (2, 1, 5), r"Conv2D.*\(N, C, H, W\).*got \(2, 1, 5\)"),
    (nn.Conv1D(1, 2, 5), (2, 1, 3), r"Conv1D.*spatial size"),
    (nn.MaxPool2D(2), (2, 3, 4), r"MaxPool2D.*\(N, C, H, W\)"),
    (nn.BatchNorm1D(3), (4, 2), r"BatchNorm1D.*axis 1 = 3"),
    (nn.BatchNorm2D(3), (4, 3, 2), r"BatchNorm2D.*\(N, C, H, W\)"),
])
def test_bad_shapes_say_which_layer_expected_what(layer, shape, message):
    with pytest.raises(ShapeError, match=message):
        layer.forward(np.zeros(shape, dtype=np.float32))


def test_dropout_is_inverted_and_off_out_of_training():
    x = np.ones((200, 500), dtype=np.float32)
    layer = nn.Dropout(0.3, rng=0)
    y = layer.forward(x, training=True)
    kept = y != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)
    assert layer.forward(x) is not None and np.array_equal(layer.forward(x), x)


def test_training_matches_torch_step_for_step():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    model = nn.Sequential([nn.Conv2D(1, 3, 3, padding="same", rng=rng), nn.ReLU(), nn.MaxPool2D(2),
                           nn.Flatten(), nn.Dense(12, 4, rng=rng)]).astype(np.float64)
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding="same"), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                             torch.nn.Flatten(), torch.nn.Linear(12, 4)).double()
    for ours, theirs in ((model.layers[0], tm[0]), (model.layers[4], tm[4])):
        for name, value in ours.params.items():
            getattr(theirs, name).data = torch.from_numpy(value.copy())
    opt, topt = nn.optim.Adam(model, lr=0.01), torch.optim.Adam(tm.parameters(), lr=0.01)
    for _ in range(5):
        x, y = rng.normal(size=(6, 1, 4, 4)), rng.integers(0, 4, 6)
        opt.zero_grad()
        topt.zero_grad()
        loss, grad = nn.losses.cross_entropy(model.forward(x, training=True), y)
        model.backward(grad)
        opt.step()
        tloss = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        topt.step()
        assert loss == pytest.approx(tloss.item(), rel=1e-10)
    np.testing.assert_allclose(model.layers[4].params["weight"], tm[4].weight.detach().numpy(), rtol=1e-9)


def test_fit_caps_blas_threads_while_training():
    from threadpoolctl import threadpool_info

    seen = []

    class Probe(nn.Layer):
        def forward(self, x, training=False):
            if training:
                seen.append(max(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"))
            return x

        def backward(self, grad_out):
            return grad_out

    X, y = blobs(32)
    model = nn.Sequential([Probe(), nn.Dense(4, 3)])
    model.fit(X, y, epochs=1, verbose=False)
    assert seen and set(seen) == {1}


@pytest.mark.parametrize("loss,targets", [(nn.losses.cross_entropy, np.zeros(3, dtype=int)),
                                          (nn.losses.mse, np.zeros((4, 2))),
                                          (nn.losses.bce_with_logits, np.zeros(4))])
def test_losses_reject_targets_of_the_wrong_shape(loss, targets):
    with pytest.raises(ShapeError, match=loss.name):
        loss(np.zeros((4, 3)), targets)


def test_a_model_file_holding_nan_is_refused_naming_the_array(tmp_path):
    from seqdl.io import load_npz, save_npz

    model = nn.Sequential([nn.Dense(3, 2, rng=np.random.default_rng(0))])
    path = tmp_path / "model.npz"
    model.save(path)
    arrays, meta = load_npz(path)
    name = next(iter(arrays))
    arrays[name] = arrays[name].copy()
    arrays[name].flat[1] = np.nan
    save_npz(path, arrays, meta)
    with pytest.raises(ModelFileError, match=f"{name}.*NaN or infinity"):
        nn.Sequential.load(path)
