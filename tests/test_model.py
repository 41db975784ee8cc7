"""The softmax classifier, and the lesson's point: sparse and categorical cross-entropy are one loss."""

import zipfile

import keras
import numpy as np
import pytest

from src import data
from src.model import Training, build_model, keras_file
from src.model.cnn import CNN
from src.model.mlp import MLP

MLP64 = MLP(hidden_units=64)
ADAM = Training(optimizer="adam", learning_rate=1e-3)


@pytest.fixture(scope="module")
def small():
    return data.load("fashion_mnist", seed=0, limit=2000)


@pytest.mark.parametrize("loss", ["sparse", "categorical"])
def test_model_builds_takes_raw_images_and_outputs_a_distribution(loss, small):
    model = build_model(MLP64, ADAM, loss)
    assert model.inputs[0].dtype == "uint8"
    assert (
        model.loss
        == {"sparse": "sparse_categorical_crossentropy", "categorical": "categorical_crossentropy"}[
            loss
        ]
    )
    probs = model.predict(small.x_test[:16], verbose=0)
    assert probs.shape == (16, 10)
    assert np.all(probs > 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_depth_dropout_l2_and_weight_decay_reach_the_model():
    model = build_model(
        MLP(hidden_units=32, layers=3, dropout=0.2, l2=1e-4),
        Training(optimizer="sgd", learning_rate=0.1, weight_decay=1e-3),
        "sparse",
    )
    names = [layer.name for layer in model.layers]
    assert names.count("dropout_1") == 1 and "hidden_3" in names
    assert model.get_layer("hidden_2").kernel_regularizer.l2 == pytest.approx(1e-4)
    assert len(model.losses) == 3  # one L2 penalty per hidden layer
    assert model.optimizer.weight_decay == pytest.approx(1e-3)
    plain = build_model(MLP64, ADAM, "sparse")
    assert not plain.losses and plain.optimizer.weight_decay is None


def test_cosine_decay_falls_from_the_rate_towards_zero_over_the_planned_epochs():
    (schedule,) = Training(learning_rate=0.01, learning_rate_decay="cosine").callbacks(4)
    rates = [schedule.schedule(epoch, None) for epoch in range(4)]
    assert rates == pytest.approx([0.01, 0.01 * 0.8535534, 0.005, 0.01 * 0.1464466])
    assert Training(learning_rate=0.01).callbacks(4) == []
    assert Training().fit_arguments(3) == {"batch_size": 32, "callbacks": []}


def _one_epoch(loss, dataset):
    keras.utils.set_random_seed(7)
    model = build_model(MLP64, ADAM, loss, steps_per_execution=8)
    one_hot = loss == "categorical"
    history = model.fit(
        dataset.x_train,
        dataset.labels("train", one_hot),
        batch_size=32,
        epochs=1,
        validation_data=(dataset.x_val, dataset.labels("val", one_hot)),
        verbose=0,
    )
    return history.history


@pytest.mark.slow  # trains
def test_sparse_and_categorical_give_the_same_loss_after_an_epoch(small):
    sparse = _one_epoch("sparse", small)
    categorical = _one_epoch("categorical", small)
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert key in sparse and key in categorical  # one metric name for both losses
        assert abs(sparse[key][0] - categorical[key][0]) < 1e-5, key
    assert sparse["val_accuracy"][0] > 0.5  # it learned something


@pytest.mark.parametrize("batch_norm", [True, False])
def test_the_cnn_family_takes_raw_images_and_outputs_a_distribution(batch_norm, small):
    from src.model.cnn import CNN

    family = CNN(blocks=2, filters=8, kernel_size=3, batch_norm=batch_norm, dense_units=16)
    model = build_model(family, ADAM, "categorical")
    names = [layer.name for layer in model.layers]
    assert model.inputs[0].dtype == "uint8" and "conv_2" in names and "pool_2" in names
    assert ("batch_norm_1" in names) is batch_norm
    probs = model.predict(small.x_test[:8], verbose=0)
    assert probs.shape == (8, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_cnn_convs_stack_convolutions_before_each_pooling():
    from src.model.cnn import CNN

    model = build_model(CNN(blocks=2, filters=4, convs=2, dense_units=8), ADAM, "sparse")
    convs = [layer for layer in model.layers if layer.name.startswith("conv_")]
    assert [layer.name for layer in convs] == ["conv_1", "conv_1_2", "conv_2", "conv_2_2"]
    assert [layer.filters for layer in convs] == [4, 4, 8, 8]
    assert model.get_layer("pool_1").output.shape[1:3] == (14, 14)


@pytest.mark.slow  # trains
@pytest.mark.parametrize("loss", ["sparse", "categorical"])
def test_scores_from_the_models_own_calls_equal_kerass_predict_and_evaluate(loss, small):
    # A trial's validation and a job's test scores call the model batch by batch instead of
    # tracing a predict or test function for each new model: the same numbers, dropout off
    # (a training-mode call would differ), the L2 penalty counted as evaluate counts it.
    from src.model import scoring

    one_hot = loss == "categorical"
    model = build_model(MLP(hidden_units=32, dropout=0.5, l2=1e-3), ADAM, loss)
    model.fit(small.x_train, small.labels("train", one_hot), epochs=1, verbose=0)
    labels = small.labels("test", one_hot)
    ours = scoring.score(model, small.x_test, labels, 300)  # a last, smaller batch too
    predicted = model.predict(small.x_test, verbose=0)
    np.testing.assert_allclose(ours.probabilities, predicted, rtol=1e-5, atol=1e-7)
    keras_scores = model.evaluate(small.x_test, labels, verbose=0)
    np.testing.assert_allclose([ours.loss, ours.accuracy], keras_scores, rtol=1e-5)
    assert sum(float(p) for p in model.losses) > 1e-3  # the penalty counted is not nothing


def test_scores_of_an_overconfident_model_are_its_loss_not_a_clipped_one(small):
    # Wrong answers given with a probability below 1e-7 cost what their logits say, as in
    # Keras' evaluate and in training, not the 16.1 a probability clipped at 1e-7 would cost.
    from src.model import scoring

    model = build_model(MLP(hidden_units=32), ADAM, "sparse")
    head = model.get_layer("softmax")
    head.kernel.assign(head.kernel * 300.0)
    ours = scoring.score(model, small.x_test, small.y_test, 256)
    keras_loss, keras_accuracy = model.evaluate(small.x_test, small.y_test, verbose=0)
    assert keras_loss > 20  # far past the clipped cross-entropy's ceiling
    np.testing.assert_allclose([ours.loss, ours.accuracy], [keras_loss, keras_accuracy], rtol=1e-5)


@pytest.mark.slow  # trains
@pytest.mark.parametrize("family", [MLP(hidden_units=32, dropout=0.2), CNN(filters=8, blocks=1)])
def test_a_keras_file_from_a_checkpoint_is_the_file_model_save_writes(family, small, tmp_path):
    """A trial's `model.keras` (src/model/keras_file.py): its best-epoch checkpoint beside the
    model's config, read back by Keras as the model `model.save` wrote, optimizer included."""
    model = build_model(family, ADAM, "sparse")
    model.fit(small.x_train[:256], small.y_train[:256], epochs=1, verbose=0)
    model.save_weights(tmp_path / "best.weights.h5")  # as keras-tuner's checkpoint
    model.fit(small.x_train[256:512], small.y_train[256:512], epochs=1, verbose=0)  # moves on
    made = keras_file.keras_file(model, tmp_path / "best.weights.h5", tmp_path / "made.keras")
    model.load_weights(tmp_path / "best.weights.h5")
    model.save(tmp_path / "saved.keras")
    with zipfile.ZipFile(made) as a, zipfile.ZipFile(tmp_path / "saved.keras") as b:
        assert a.namelist() == b.namelist()
        assert a.read("config.json") == b.read("config.json")
    ours, theirs = (keras.saving.load_model(p) for p in (made, tmp_path / "saved.keras"))
    images = small.x_test[:32]
    np.testing.assert_array_equal(
        ours.predict(images, verbose=0), theirs.predict(images, verbose=0)
    )
    assert int(ours.optimizer.iterations) == int(theirs.optimizer.iterations) == 8
