"""Pictures drawn on a kept Figure look as if drawn on a new one (src/pictures/__init__.py)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from src.pictures import curves


def _history(epochs: int, scale: float) -> dict[str, list[float]]:
    down = [scale / (e + 1) for e in range(epochs)]
    up = [1 - d / 4 for d in down]
    return {
        "loss": down,
        "val_loss": [d * 1.1 for d in down],
        "accuracy": up,
        "val_accuracy": [u - 0.02 for u in up],
    }


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


def _svg(path):
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    return {tag: root.findall(f".//{ns}{tag}") for tag in ("polyline", "text", "circle", "image")}


def test_the_job_pictures_hold_their_data_as_svg(tmp_path):
    """Every trial a line (a pruned one shorter), the best named; every cell's count as text;
    every misclassified image under its labels; a point per trial per hyperparameter."""
    from src.pictures import charts

    curve = {"epochs": [0, 1, 2], "val_loss": [0.6, 0.5, 0.4], "val_accuracy": [0.8, 0.85, 0.9]}
    pruned = {key: values[:1] for key, values in curve.items()}
    shapes = _svg(charts.trial_curves({"0": curve, "1": pruned}, "0", tmp_path / "c.svg"))
    lines = [line.get("points").split() for line in shapes["polyline"]]
    assert sorted(len(points) for points in lines) == [1, 1, 3, 3]  # two panels
    assert any(t.text == "trial 0 (best)" for t in shapes["text"])

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    shapes = _svg(charts.confusion_matrix(y_true, y_pred, ["a", "b", "c"], tmp_path / "m.svg"))
    counts = [int(t.text) for t in shapes["text"] if t.text.isdigit()]
    assert len(counts) == 9 and sum(counts) == 200
    accuracy = float(np.mean(y_true == y_pred))
    assert any(t.text.endswith(f"test accuracy {accuracy:.4f}") for t in shapes["text"])

    images = rng.integers(0, 256, (200, 28, 28)).astype(np.uint8)
    shapes = _svg(charts.misclassified(images, y_true, y_pred, ["a", "b", "c"], tmp_path / "x.svg"))
    assert len(shapes["image"]) == min(24, int(np.sum(y_true != y_pred)))

    trials = [
        {"val_accuracy": 0.8 + i / 100, "units": 32 * (i + 1), "opt": "ab"[i % 2]} for i in range(5)
    ]
    shapes = _svg(charts.hyperparameter_effects(trials, ["units", "opt"], tmp_path / "h.svg"))
    assert len(shapes["circle"]) == 2 * 5 + 2  # a point per trial per panel; the legend's
