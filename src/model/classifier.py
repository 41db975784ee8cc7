"""The softmax classifier: an ordinary Keras model builder that never sees keras-tuner's `hp`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

# One metric name end to end: the Keras log key of the compiled "accuracy" metric on the
# validation split is the tuner's objective, the MLflow metric and every report's column.
OBJECTIVE = "val_accuracy"
# Keras optimizer names a search may choose from.
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw", "nadam", "adamax", "adagrad")
LOSS_FUNCTIONS = {
    "sparse": "sparse_categorical_crossentropy",  # labels are class ids
    "categorical": "categorical_crossentropy",  # labels are one-hot vectors
}


@dataclass(frozen=True)
class ModelParams:
    hidden_units: int
    layers: int
    dropout: float
    optimizer: str
    learning_rate: float

    def as_dict(self) -> dict:
        return asdict(self)


def build_model(
    params: ModelParams,
    loss: str,
    image_shape: tuple[int, int] = (28, 28),
    num_classes: int = 10,
    steps_per_execution: int = 1,
    jit_compile: bool = False,
) -> keras.Model:
    """Rescale -> flatten -> Dense(relu) x layers -> Dense(num_classes, softmax), compiled.

    The model takes raw uint8 images: scaling to [0, 1] happens inside, so a saved model needs
    no preprocessing code beside it. Both losses report `accuracy` under that one name.
    """
    import keras  # here, so config validation can use this module without loading TensorFlow

    inputs = keras.Input(shape=image_shape, dtype="uint8", name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    for i in range(params.layers):
        x = keras.layers.Dense(params.hidden_units, activation="relu", name=f"hidden_{i + 1}")(x)
        if params.dropout > 0:
            x = keras.layers.Dropout(params.dropout, name=f"dropout_{i + 1}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="softmax")(x)
    model = keras.Model(inputs, outputs, name="softmax_classifier")
    model.compile(
        optimizer=keras.optimizers.get(
            {"class_name": params.optimizer, "config": {"learning_rate": params.learning_rate}}
        ),
        loss=LOSS_FUNCTIONS[loss],
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    return model
