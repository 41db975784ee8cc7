"""The softmax classifier: ordinary Keras model builders that never see keras-tuner's `hp`."""

from src.model.classifier import LOSS_FUNCTIONS, OBJECTIVE, OPTIMIZERS, ModelParams, build_model

__all__ = ["LOSS_FUNCTIONS", "OBJECTIVE", "OPTIMIZERS", "ModelParams", "build_model"]
