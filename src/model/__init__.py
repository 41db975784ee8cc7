"""The softmax classifier: model families and the training step, as typed arguments a search
varies, and the builder that never sees keras-tuner's `hp`."""

from src.model import precision
from src.model.classifier import (
    LOSS_FUNCTIONS,
    OBJECTIVE,
    build_model,
    family_class,
    searchable,
    split_values,
)
from src.model.training import Optimizer, Training

__all__ = [
    "LOSS_FUNCTIONS",
    "OBJECTIVE",
    "Optimizer",
    "Training",
    "build_model",
    "family_class",
    "precision",
    "searchable",
    "split_values",
]
