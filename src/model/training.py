"""What the training step takes besides the model, searchable like a model family's arguments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from src.model.arguments import arg
from src.model.fused import fused

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, never in the entry process or for a refused config.


class Optimizer(StrEnum):
    """Keras optimizer names a search may choose from."""

    adam = "adam"
    sgd = "sgd"
    rmsprop = "rmsprop"
    adamw = "adamw"
    nadam = "nadam"
    adamax = "adamax"
    adagrad = "adagrad"


@dataclass(frozen=True)
class Training:
    # The Keras default and the lesson's; larger batches train faster but converge lower per epoch.
    batch_size: int = arg(32, min=1, max=65536)
    optimizer: str = arg("adam", choices=tuple(Optimizer))
    # Keras' default rate for Adam; SGD wants about ten times more (see conf/config.yaml).
    learning_rate: float = arg(1e-3, min=0, min_open=True)
    # Decoupled weight decay, applied by every Keras optimizer (0: off, as in the lesson).
    weight_decay: float = arg(0.0, min=0, max=1)
    # "cosine": the rate falls from learning_rate towards 0 along half a cosine over the run's
    # epochs, one step per epoch; a CNN gains about half a point of accuracy from it.
    learning_rate_decay: str = arg("none", choices=("none", "cosine"))

    def fit_arguments(self, epochs: int) -> dict:
        """What `model.fit` takes from these arguments, for a run planned for `epochs` epochs
        (the decay's length: a run stopped early, or a refit to a best epoch, keeps the rates
        of the planned run)."""
        return {"batch_size": self.batch_size, "callbacks": self.callbacks(epochs)}

    def callbacks(self, epochs: int) -> list:
        if self.learning_rate_decay == "none":
            return []
        import keras

        start, planned = self.learning_rate, max(epochs, 1)
        return [
            keras.callbacks.LearningRateScheduler(
                lambda epoch, _: start * 0.5 * (1 + math.cos(math.pi * epoch / planned))
            )
        ]

    def optimizer_instance(self):
        import keras

        config = {"learning_rate": self.learning_rate}
        if self.weight_decay > 0:
            config["weight_decay"] = self.weight_decay
        return fused(keras.optimizers.get({"class_name": self.optimizer, "config": config}))
