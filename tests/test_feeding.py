"""The training step's speed-ups compute what Keras computes: Adam's fused update, the
tf.data pipeline that feeds `model.fit`."""

import keras
import numpy as np
import pytest

from src import data
from src.model import Training, build_model
from src.model.feeding import pipelines
from src.model.fused import fused
from src.model.mlp import MLP


@pytest.fixture(scope="module")
def small():
    return data.load("fashion_mnist", seed=0, limit=1000)


def _train(optimizer, small, steps=20):
    keras.utils.set_random_seed(3)
    model = build_model(MLP(hidden_units=48), Training(), "sparse")
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    x, y = small.x_train[: 32 * steps], small.y_train[: 32 * steps]
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_trains_to_the_weights_keras_adam_reaches(name, small):
    config = {"learning_rate": 3e-3} | ({"weight_decay": 0.01} if name == "adamw" else {})
    plain = keras.optimizers.get({"class_name": name, "config": config})
    fast = fused(keras.optimizers.get({"class_name": name, "config": config}))
    assert "update_step" in vars(fast) and "update_step" not in vars(plain)
    for a, b in zip(
        _train(plain, small).get_weights(), _train(fast, small).get_weights(), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-5)  # rounding, not a formula


@pytest.mark.slow
def test_fused_adam_is_saved_as_keras_adam_and_other_optimizers_are_left_alone(tmp_path, small):
    model = build_model(MLP(hidden_units=16), Training(optimizer="adam"), "sparse")
    assert "update_step" in vars(model.optimizer)
    model.fit(small.x_train[:64], small.y_train[:64], epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is keras.optimizers.Adam
    amsgrad = fused(keras.optimizers.Adam(amsgrad=True))
    sgd = fused(keras.optimizers.SGD())
    assert "update_step" not in vars(amsgrad) and "update_step" not in vars(sgd)


def _epoch(dataset):
    return [(xb.numpy(), yb.numpy()) for xb, yb in dataset]


def test_an_epoch_feeds_every_training_image_once_in_batches_and_reshuffles_each_epoch():
    x = np.arange(100, dtype=np.uint8).reshape(100, 1, 1).repeat(2, axis=1)
    y = np.arange(100, dtype=np.int64)
    fit = pipelines(
        {
            "x": x,
            "y": y,
            "batch_size": 32,
            "validation_data": (x[:10], y[:10]),
            "validation_batch_size": 4,
            "epochs": 3,
        },
        seed=5,
    )
    assert fit["epochs"] == 3 and fit["shuffle"] is False
    assert "batch_size" not in fit and "validation_batch_size" not in fit
    first, second = _epoch(fit["x"]), _epoch(fit["x"])
    assert [len(b) for b, _ in first] == [32, 32, 32, 4]
    for batches in (first, second):
        images = np.concatenate([b[:, 0, 0] for b, _ in batches])
        labels = np.concatenate([lab for _, lab in batches])
        assert sorted(labels) == list(range(100))  # each image once
        np.testing.assert_array_equal(images, labels)  # each image with its own label
    order = [np.concatenate([lab for _, lab in e]) for e in (first, second)]
    assert not np.array_equal(order[0], order[1])
    # The same seed repeats the same epochs; validation is a callback, first of all.
    again = pipelines({"x": x, "y": y, "batch_size": 32}, seed=5)
    assert np.array_equal(np.concatenate([lab for _, lab in _epoch(again["x"])]), order[0])
    assert "validation_data" not in fit and type(fit["callbacks"][0]).__name__ == "Validation"
    kept = pipelines({"x": x, "y": y, "batch_size": 50, "shuffle": False}, seed=5)
    assert np.concatenate([lab for _, lab in _epoch(kept["x"])]).tolist() == list(range(100))


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["sparse", "categorical"])
def test_validation_scores_reach_the_callbacks_after_it_as_kerass_own_would(loss, small):
    # val_loss (the L2 penalty included) and val_accuracy are in the logs every later callback
    # sees (checkpoints, early stopping, the tuner, the history), and they are Keras' numbers.
    one_hot = loss == "categorical"
    model = build_model(MLP(hidden_units=32, dropout=0.3, l2=1e-3), Training(), loss)
    seen = []
    last = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(dict(logs)))
    x_val, y_val = small.x_val, small.labels("val", one_hot)
    fit = {
        "x": small.x_train,
        "y": small.labels("train", one_hot),
        "batch_size": 32,
        "validation_data": (x_val, y_val),
        "validation_batch_size": 70,
        "epochs": 2,
        "callbacks": [last],
        "verbose": 0,
    }
    history = model.fit(**pipelines(fit, seed=1)).history
    assert [sorted(logs) for logs in seen] == [["accuracy", "loss", "val_accuracy", "val_loss"]] * 2
    assert history["val_loss"] == [logs["val_loss"] for logs in seen]
    keras_loss, keras_accuracy = model.evaluate(x_val, y_val, verbose=0)
    np.testing.assert_allclose(
        [history["val_loss"][-1], history["val_accuracy"][-1]],
        [keras_loss, keras_accuracy],
        rtol=1e-5,
    )
