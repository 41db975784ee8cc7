"""Two sweeps compared (src/reporting/comparison.py, src/tracking/sweeps.py)."""

import pytest
from scipy import stats

from src.errors import TrackingError
from src.reporting import comparison
from src.tracking.sweeps import resolve

IDS = ["20261201-a", "20261202-b", "20261203-c"]


def test_sweeps_are_named_by_id_latest_or_latest_n():
    assert resolve(IDS, "latest", "fashion_mnist") == "20261203-c"
    assert resolve(IDS, "latest~2", "fashion_mnist") == "20261201-a"
    assert resolve(IDS, "20261202-b", "fashion_mnist") == "20261202-b"
    for bad in ("latest~3", "nope"):
        with pytest.raises(TrackingError) as raised:
            resolve(IDS, bad, "fashion_mnist")
        message = str(raised.value)
        assert bad in message and "20261203-c" in message and "\n" not in message


def _sweep(sweep_id: str, scores: list[float], repeats: list[dict] = ()) -> dict:
    job = {
        "name": "loss=sparse",
        "run_id": f"{sweep_id}-job",
        "status": "FINISHED",
        "loss": "sparse",
        "best_val_accuracy": max(scores),
        "test_accuracy": max(scores) - 0.01,
        "start": 0,
        "end": 120_000,
        "repeats": list(repeats),
    }
    trials = [{"job": "loss=sparse", "status": "FINISHED", "val_accuracy": s} for s in scores]
    return {"sweep_id": sweep_id, "jobs": [job], "trials": trials}


def test_without_common_seeds_the_comparison_is_unpaired_and_says_so():
    a = _sweep("a", [0.90, 0.89, 0.88, 0.87, 0.86, 0.50])
    b = _sweep("b", [0.85, 0.84, 0.83, 0.82, 0.81])
    text, figures = comparison.markdown([a, b])
    by_hand = stats.ttest_ind(
        [0.90, 0.89, 0.88, 0.87, 0.86], [0.85, 0.84, 0.83, 0.82, 0.81], equal_var=False
    ).confidence_interval(0.95)
    assert figures["difference"] == pytest.approx(0.05)
    assert figures["difference.ci_low"] == pytest.approx(by_hand.low)
    assert "## Verdict (unpaired)" in text and "A reaches a higher val_accuracy than B" in text
    assert "| wall time (min) | 2.0 | 2.0 |" in text and "| finished trials | 6 | 5 |" in text


def test_a_sweep_compared_with_itself_shows_no_difference():
    repeats = [
        {
            "seed": s,
            "best_val_accuracy": v,
            "test_accuracy": v - 0.01,
            "mean_epoch_time": 1.0 + v,
            "peak_memory_mb": 700.0,
        }
        for s, v in ((1000, 0.88), (1001, 0.87), (1002, 0.89))
    ]
    paired, _ = comparison.markdown([_sweep("a", [0.9, 0.8], repeats)] * 2)
    assert "paired by the 3 seeds" in paired
    assert "A and B reach identical test accuracy in every one of the 3 seeds" in paired
    unpaired, figures = comparison.markdown([_sweep("a", [0.9, 0.8, 0.7])] * 2)
    assert "identical top trials" in unpaired and figures["difference"] == 0


def test_sweeps_of_different_tasks_are_compared_with_a_warning():
    a, b = _sweep("a", [0.9, 0.8, 0.7]), _sweep("b", [0.9, 0.8, 0.7])
    a["jobs"][0]["task"] = {"data": "fashion_mnist", "epochs": "8"}
    b["jobs"][0]["task"] = {"data": "mnist", "epochs": "8"}
    text, _ = comparison.markdown([a, b])
    assert "Beware: their best jobs differ in data (A: data=fashion_mnist; B: data=mnist)" in text
