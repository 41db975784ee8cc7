"""What the training step takes besides the model, searchable like a model family's arguments."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from src.model.arguments import arg


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

    def fit_arguments(self) -> dict:
        """What `model.fit` takes from these arguments."""
        return {"batch_size": self.batch_size}

    def optimizer_instance(self):
        import keras

        config = {"learning_rate": self.learning_rate}
        if self.weight_decay > 0:
            config["weight_decay"] = self.weight_decay
        return keras.optimizers.get({"class_name": self.optimizer, "config": config})
