"""The softmax classifier around any model family: raw uint8 images in, probabilities out.

A family (conf/model/<name>.yaml names it with `_target_`) is a frozen dataclass of its
searchable arguments with a `features(x)` method building the layers between the scaled images
and the softmax layer; see src/model/mlp.py. Adding a family is that one Python file plus its
YAML file. The builder never sees keras-tuner's `hp`.
"""

from __future__ import annotations

from dataclasses import is_dataclass
from typing import TYPE_CHECKING, Any

from src.errors import ConfigError
from src.model.arguments import Argument, arguments_of
from src.model.precision import policy
from src.model.training import Training

if TYPE_CHECKING:
    import keras

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, never in the entry process or for a refused config; Hydra's `_target_` resolution
# loads where a family is named.

# One metric name end to end: the Keras log key of the compiled "accuracy" metric on the
# validation split is the tuner's objective, the MLflow metric and every report's column.
OBJECTIVE = "val_accuracy"
LOSS_FUNCTIONS = {
    "sparse": "sparse_categorical_crossentropy",  # labels are class ids
    "categorical": "categorical_crossentropy",  # labels are one-hot vectors
}


def family_class(target: str) -> type:
    """The model family a config's `model._target_` names."""
    from hydra.utils import get_class

    try:
        cls = get_class(target)
    except Exception:
        raise ConfigError(
            f"model._target_: cannot import {target!r}; name a dataclass like src.model.mlp.MLP"
        ) from None
    if not (is_dataclass(cls) and callable(getattr(cls, "features", None))):
        raise ConfigError(
            f"model._target_: {target} is not a dataclass with a features(x) method; "
            "see src/model/mlp.py"
        )
    return cls


# Settings every trial run records beside its hyperparameters: no argument may take these names.
RESERVED = frozenset({"loss", "model", "data", "data_limit", "tuner", "epochs", "seed"})


def searchable(family: type, family_name: str) -> dict[str, Argument]:
    """Every argument a search may vary: the family's, then the training step's.

    Raises:
        ConfigError: the family declares an argument of a type a search cannot draw, or one
            whose name the training step or a trial's settings already use.
    """
    own, training = arguments_of(family, family_name), arguments_of(Training, "training")
    for name, argument in own.items():
        if argument.type not in (int, float, str, bool):
            raise ConfigError(
                f"model._target_: {family.__name__}.{name} is typed {argument.type}; a "
                "searchable argument is an int, float, str or bool"
            )
        if name in training or name in RESERVED:
            where = "the training step" if name in training else "a trial setting"
            raise ConfigError(
                f"model._target_: {family.__name__}.{name} clashes with {where}; rename it"
            )
    return {**own, **training}


def split_values(family: type, values: dict[str, Any]) -> tuple[Any, Training]:
    """A trial's resolved values as the family's arguments and the training step's."""
    own = arguments_of(family, "")
    return (
        family(**{k: v for k, v in values.items() if k in own}),
        Training(**{k: v for k, v in values.items() if k in arguments_of(Training, "")}),
    )


def build_model(
    family: Any,
    training: Training,
    loss: str,
    image_shape: tuple[int, int] = (28, 28),
    num_classes: int = 10,
    steps_per_execution: int = 1,
    jit_compile: bool = False,
    precision: str = "float32",
) -> keras.Model:
    """Rescale -> the family's layers -> Dense(num_classes, softmax), compiled.

    The model takes raw uint8 images: scaling to [0, 1] happens inside, so a saved model needs
    no preprocessing code beside it. Both losses report `accuracy` under that one name.
    `precision` (float32 or bfloat16, src/model/precision.py) is the hidden layers' arithmetic;
    the softmax layer computes in float32 either way.
    """
    import keras  # here, so config validation can use this module without loading TensorFlow

    inputs = keras.Input(shape=image_shape, dtype="uint8", name="image")
    with policy(precision):
        x = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
        x = family.features(x)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", dtype="float32", name="softmax"
    )(x)
    model = keras.Model(inputs, outputs, name="softmax_classifier")
    model.compile(
        optimizer=training.optimizer_instance(),
        loss=LOSS_FUNCTIONS[str(loss)],
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    return model
