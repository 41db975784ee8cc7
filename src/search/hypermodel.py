"""The HyperModel: owns the search space and maps keras-tuner's `hp` to plain model arguments."""

from __future__ import annotations

import keras
import keras_tuner as kt

from src.model import ModelParams, build_model
from src.search import space as space_module


class SoftmaxHyperModel(kt.HyperModel):
    """Maps keras-tuner's `hp` to plain model arguments; the model builder never sees `hp`."""

    def __init__(
        self,
        search_space: space_module.Space,
        loss: str,
        seed: int,
        steps_per_execution: int = 1,
        jit_compile: bool = False,
        image_shape: tuple[int, int] = (28, 28),
        num_classes: int = 10,
    ):
        super().__init__(name="softmax_classifier")
        self.search_space = search_space
        self.loss = loss
        self.seed = seed
        self.steps_per_execution = steps_per_execution
        self.jit_compile = jit_compile
        self.image_shape = image_shape
        self.num_classes = num_classes

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        # Same seed for every trial: weight init and shuffling differ only by hyperparameters.
        keras.utils.set_random_seed(self.seed)
        return build_model(
            self.model_params(hp),
            self.loss,
            self.image_shape,
            self.num_classes,
            self.steps_per_execution,
            self.jit_compile,
        )

    def model_params(self, hp: kt.HyperParameters) -> ModelParams:
        """The plain model arguments `hp` stands for (declaring the space on it if needed)."""
        return space_module.sample(hp, self.search_space)
