"""The pictures logged with runs, all SVG, drawn from plain data: what a tracker may be asked
to draw (`PICTURES`, `draw`).

A job's run gets every trial's validation curves, the best model's test confusion matrix, a
grid of misclassified test images and `val_accuracy` against each searched hyperparameter,
written directly (src/pictures/charts.py), its Pareto front and importances
(src/pictures/tradeoff_charts.py); a trial's own learning curves (src/pictures/curves.py) are
drawn with matplotlib. This package knows pictures only: the tracking process draws them
without importing the reporting that asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from src.pictures.charts import (  # noqa: F401 - PICTURES
    MISCLASSIFIED,
    confusion_matrix,
    hyperparameter_effects,
    misclassified,
    trial_curves,
)
from src.pictures.curves import learning_curves, save  # noqa: F401 - PICTURES
from src.pictures.tradeoff_charts import importance, pareto  # noqa: F401 - PICTURES

# What a tracker may be asked to draw from plain data (src/tracking/writes.py `log_picture`).
PICTURES = (
    "learning_curves",
    "trial_curves",
    "confusion_matrix",
    "misclassified",
    "hyperparameter_effects",
    "importance",
    "pareto",
)


def draw(picture: str, data: Mapping, path: Path) -> Path:
    """Draw `picture` (one of PICTURES) from its `data` into `path`."""
    if picture not in PICTURES:
        raise ValueError(f"{picture}: not one of {', '.join(PICTURES)}")
    return globals()[picture](**data, path=path)
