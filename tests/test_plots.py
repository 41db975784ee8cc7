"""Pictures drawn on a kept Figure look as if drawn on a new one (src/reporting/plots.py)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from src.reporting import curves


def _history(epochs: int, scale: float) -> dict[str, list[float]]:
    down = [scale / (e + 1) for e in range(epochs)]
    up = [1 - d / 4 for d in down]
    return {"loss": down, "val_loss": [d * 1.1 for d in down], "accuracy": up,
            "val_accuracy": [u - 0.02 for u in up]}  # fmt: skip


def test_learning_curves_on_the_kept_figure_equal_a_new_figures(tmp_path):
    """A trial's picture after another trial's (more epochs, other scales) is pixel for pixel
    the picture a fresh process draws: limits, ticks and title follow the new values."""
    second = _history(4, 0.8)
    curves._curves.clear()
    curves.learning_curves(second, range(4), tmp_path / "fresh.png", "trial 2")
    curves.learning_curves(_history(12, 3.0), range(12), tmp_path / "first.png", "trial 1")
    curves.learning_curves(second, range(4), tmp_path / "kept.png", "trial 2")
    fresh, first, kept = (imread(tmp_path / f"{n}.png") for n in ("fresh", "first", "kept"))
    np.testing.assert_array_equal(kept, fresh)
    assert fresh.shape == first.shape and not np.array_equal(fresh, first)
    # The view is the data's, with matplotlib's 5% margins, not the earlier trial's.
    for ax, key in zip(curves._curves[True].figure.axes, ("loss", "accuracy"), strict=True):
        values = second[key] + second[f"val_{key}"]
        low, high = min(values), max(values)
        assert ax.get_ylim() == pytest.approx(
            (low - (high - low) * 0.05, high + (high - low) * 0.05)
        )
        assert ax.get_xlim() == pytest.approx((1 - 0.15, 4 + 0.15))


def test_learning_curves_without_a_finite_value_are_drawn_on_a_new_figure(tmp_path):
    """A panel with no finite value leaves nothing to fit a kept view to (matplotlib would keep
    the last trial's): such a picture is drawn as a fresh process would."""
    nan = _history(4, 0.8) | {"loss": [float("nan")] * 4, "val_loss": [float("nan")] * 4}
    curves._curves.clear()
    curves.learning_curves(nan, range(4), tmp_path / "fresh.png", "trial 2")
    curves.learning_curves(_history(12, 3.0), range(12), tmp_path / "first.png", "trial 1")
    curves.learning_curves(nan, range(4), tmp_path / "after.png", "trial 2")
    np.testing.assert_array_equal(imread(tmp_path / "after.png"), imread(tmp_path / "fresh.png"))
