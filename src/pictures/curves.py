"""A single trial's learning curves (`tracking.trial_plots=true`), drawn with matplotlib. MLflow's
UI charts each run's per-epoch metrics already, and the job's run has every trial's curves on
one picture (src/pictures/charts.py `trial_curves`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

# Imported inside functions: matplotlib loads only for a trial's own curves
# (`tracking.trial_plots`).


def save(fig, path: Path) -> Path:
    """`fig` written to `path`, in the format its suffix names; SVG's text kept as text."""
    from matplotlib import rc_context

    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(path)
    return path


def learning_curves(
    history: Mapping[str, Sequence[float]], epochs: Sequence[int], path: Path, title: str = ""
) -> Path:
    """Loss and accuracy per epoch, training vs validation.

    Drawn for a trial that asks (`tracking.trial_plots`): on one Figure per process with a
    fixed layout, kept, whose lines take each trial's values. A new Figure's
    axes, ticks and legends cost more than drawing them (76 -> 47 ms a picture); pyplot's
    bookkeeping and tight_layout cost more still. Its titles and axis labels keep their
    places (`_keep_label_places`)."""
    titled = bool(title)
    if not all(np.isfinite(history[k]).any() for k in _CurvesFigure.SERIES):
        # Nothing finite to fit a kept figure's view to: matplotlib would keep the last one.
        return _CurvesFigure(titled).draw(history, epochs, path, title)
    with _CURVES_LOCK:  # a process drawing for several threads (a tracking process's jobs)
        if titled not in _curves:
            _curves[titled] = _CurvesFigure(titled)
        return _curves[titled].draw(history, epochs, path, title)


class _CurvesFigure:
    SERIES = ("loss", "val_loss", "accuracy", "val_accuracy")

    def __init__(self, titled: bool):
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        self.figure = Figure(figsize=(8, 3.2), dpi=80)
        self.figure.subplots_adjust(
            left=0.08, right=0.98, bottom=0.15, top=0.8 if titled else 0.88, wspace=0.25
        )
        self.lines = {}
        for ax, metric in zip(self.figure.subplots(1, 2), ("loss", "accuracy"), strict=True):
            (self.lines[metric],) = ax.plot([], [], "o-", label="train")
            (self.lines[f"val_{metric}"],) = ax.plot([], [], "o-", label="validation")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(metric, y=1.0)  # placed, not searched for: nothing is above the axes
            ax.grid(alpha=0.3)
            ax.legend()
        self.title = self.figure.suptitle("") if titled else None
        self.labels_placed = False

    def draw(self, history, epochs, path: Path, title: str) -> Path:
        x = [e + 1 for e in epochs]  # "after epoch 1" reads better than step 0
        for key, line in self.lines.items():
            line.set_data(x, history[key])
        for ax in self.figure.axes:
            ax.relim()
            ax.autoscale_view()
        if self.title is not None:
            self.title.set_text(title)
        save(self.figure, path)
        if not self.labels_placed:
            self._keep_label_places()
        return path

    def _keep_label_places(self) -> None:
        """Keep the axis labels where matplotlib put them on the first picture: below or
        beside the tick labels, whose height (digits, one font) does not change. Finding the
        place again measures every tick label of both axes: 54 -> 42 ms a picture."""
        for ax in self.figure.axes:
            for axis in (ax.xaxis, ax.yaxis):
                label = axis.label
                where = label.get_transform().transform(label.get_position())
                axis.set_label_coords(*ax.transAxes.inverted().transform(where))
        self.labels_placed = True


_CURVES_LOCK = threading.Lock()
_curves: dict[bool, _CurvesFigure] = {}  # by whether the picture has a title
