"""The HyperModel: owns the search space and maps keras-tuner's `hp` to plain model arguments."""

from __future__ import annotations

from typing import Any

import keras
import keras_tuner as kt

from src.model import build_model, split_values
from src.model.feeding import pipelines
from src.search.sampling import sample
from src.search.space import Space


class SoftmaxHyperModel(kt.HyperModel):
    """Maps keras-tuner's `hp` to plain model arguments; the model builder never sees `hp`."""

    def __init__(
        self,
        search_space: Space,
        family: type,
        loss: str,
        seed: int,
        steps_per_execution: int = 1,
        jit_compile: bool = False,
        precision: str = "float32",
        image_shape: tuple[int, int] = (28, 28),
        num_classes: int = 10,
    ):
        super().__init__(name="softmax_classifier")
        self.search_space = search_space
        self.family = family
        self.loss = loss
        self.seed = seed
        self.steps_per_execution = steps_per_execution
        self.jit_compile = jit_compile
        self.precision = precision
        self.image_shape = image_shape
        self.num_classes = num_classes

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        # Same seed for every trial: weight init and shuffling differ only by hyperparameters.
        keras.utils.set_random_seed(self.seed)
        family, training = split_values(self.family, self.values(hp))
        return build_model(
            family,
            training,
            self.loss,
            self.image_shape,
            self.num_classes,
            self.steps_per_execution,
            self.jit_compile,
            self.precision,
        )

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args, **kwargs):
        # The batch size is a training argument like the others: searchable, recorded per trial.
        _, training = split_values(self.family, self.values(hp))
        extra = training.fit_arguments(kwargs.get("epochs", 1))
        extra["callbacks"] = [*kwargs.get("callbacks", []), *extra["callbacks"]]
        # Kept for the tuner to save the trial's best epoch from, rather than building the
        # model again (`take_trained`).
        self._trained = model
        fit = {**dict(zip(("x", "y"), args, strict=False)), **kwargs, **extra}
        return model.fit(**pipelines(fit, self.seed))

    def settings(self, epochs: int) -> dict[str, Any]:
        """What, beside its hyperparameters, defines how a trial of `epochs` epochs trains."""
        return {"loss": self.loss, "seed": self.seed, "precision": self.precision, "epochs": epochs}

    def take_trained(self) -> keras.Model | None:
        """The model the last `fit` trained (once; None if already taken)."""
        model, self._trained = getattr(self, "_trained", None), None
        return model

    def values(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """Every argument's value `hp` stands for (declaring the space on it if needed)."""
        return sample(hp, self.search_space)
