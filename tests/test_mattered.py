"""What mattered: importances (real Optuna fANOVA), the Pareto front, export constraints."""

import itertools
import math
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from src.reporting import importance, pareto
from src.serving import constraints


def _trials(n: int, seed: int = 1) -> list[dict]:
    """Trials whose val_accuracy depends strongly on the rate, less on the optimizer and the
    width, and not at all on `dummy`."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lr = 10 ** rng.uniform(-4, -2)
        units = rng.choice(range(32, 513, 32))
        optimizer = rng.choice(["adam", "sgd"])
        score = 0.88 - 0.03 * (math.log10(lr) + 3) ** 2 + 2e-5 * units
        score += 0.01 * (optimizer == "adam") + rng.gauss(0, 0.001)
        rows.append(
            {
                "trial_id": str(i),
                "learning_rate": lr,
                "hidden_units": units,
                "optimizer": optimizer,
                "dummy": rng.choice(["a", "b", "c"]),
                "val_accuracy": score,
            }
        )
    return rows


NAMES = ["hidden_units", "optimizer", "learning_rate", "dummy"]


def test_importances_sum_to_one_and_rank_a_hyperparameter_without_effect_last():
    shares = importance.importances(_trials(16), NAMES, {"learning_rate"})
    assert set(shares) == set(NAMES)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert next(iter(shares)) == "learning_rate"  # largest first
    assert min(shares, key=shares.get) == "dummy"
    # The same trials, the same importances (the forest is seeded).
    assert importance.importances(_trials(16), NAMES, {"learning_rate"}) == shares


def test_importance_needs_enough_varied_finished_trials():
    rows = _trials(16)
    assert importance.importances(rows[: importance.MIN_TRIALS - 1], NAMES) == {}
    # A setting every trial shares is no hyperparameter of the search: left out.
    same = [{**r, "hidden_units": 128} for r in rows]
    assert "hidden_units" not in importance.importances(same, NAMES, {"learning_rate"})
    # Failed trials (no score) are left out; no spread in scores means nothing to explain.
    flat = [{**r, "val_accuracy": 0.5} for r in rows] + [{**rows[0], "val_accuracy": None}]
    assert importance.importances(flat, NAMES) == {}


def test_an_effect_smaller_than_the_seed_noise_is_called_noise():
    shares = {"learning_rate": 0.9, "hidden_units": 0.1}
    # Trials' variance 1e-4: the rate explains an sd of 0.0095, width 0.0032; a seed sd of
    # 0.003 puts one trial's 95% band at 0.0059.
    assert importance.noise(shares, 1e-4, seed_sd=0.003) == {
        "learning_rate": False,
        "hidden_units": True,
    }
    assert importance.noise(shares, 1e-4, seed_sd=0.001) == {
        "learning_rate": False,
        "hidden_units": False,
    }


def test_the_pareto_front_is_exactly_the_non_dominated_trials():
    rng = random.Random(3)
    rows = [
        {"trial_id": str(i), "val_accuracy": rng.random(), "latency_ms": rng.random()}
        for i in range(40)
    ]
    rows += [{"trial_id": "failed", "val_accuracy": None, "latency_ms": None}]
    front = {r["trial_id"] for r in pareto.front(rows)}

    def beaten(r):
        return any(
            o["val_accuracy"] >= r["val_accuracy"]
            and o["latency_ms"] <= r["latency_ms"]
            and (o["val_accuracy"], o["latency_ms"]) != (r["val_accuracy"], r["latency_ms"])
            for o in rows[:-1]
        )

    assert front == {r["trial_id"] for r in rows[:-1] if not beaten(r)}
    assert len(front) >= 2
    ordered = pareto.front(rows)
    for a, b in itertools.pairwise(ordered):  # cheaper first, each dearer one more accurate
        assert a["latency_ms"] < b["latency_ms"] and a["val_accuracy"] < b["val_accuracy"]


def test_equal_trials_are_both_on_the_front():
    a = {"trial_id": "a", "val_accuracy": 0.9, "latency_ms": 1.0}
    rows = [a, {**a, "trial_id": "b"}, {"trial_id": "c", "val_accuracy": 0.8, "latency_ms": 2.0}]
    assert [r["trial_id"] for r in pareto.front(rows)] == ["a", "b"]


@dataclass
class _Trial:
    name: str
    latency_ms: float | None
    n_parameters: float | None


def test_constraints_keep_the_trials_meeting_every_bound_in_order():
    trials = [_Trial("big", 0.5, 9e5), _Trial("small", 0.3, 5e4), _Trial("old", None, None)]
    kept = constraints.keep_meeting(trials, {"max_parameters": 1e5})
    assert [t.name for t in kept] == ["small"]
    kept = constraints.keep_meeting(trials, {"max_latency_ms": 1.0, "max_parameters": 1e6})
    assert [t.name for t in kept] == ["big", "small"]  # unknown cost: meets nothing
    with pytest.raises(constraints.ConstraintUnmet) as raised:
        constraints.keep_meeting(trials, {"max_latency_ms": 0.1})
    message = str(raised.value)
    assert "\n" not in message and "export.max_latency_ms=0.1" in message
    assert "least latency_ms 0.3 ms" in message


@pytest.mark.slow
def test_a_sweep_records_costs_importances_and_its_front(store, tmp_path):
    """A real grid of widths x an L2 too small to change anything: every trial records what
    its model costs, the job records importances (L2 last) and tags its Pareto front."""
    import keras
    from helpers import TINY, job_and_trial_runs, mlflow_client, run_cli, svg_picture

    result = run_cli(
        "src.sweep",
        *TINY,
        "tuner=grid",
        "tuner.max_trials=6",
        "search.hidden_units=[32,256,512]",
        "search.l2=[0.0,1e-12]",
        "search.optimizer=adam",
        "search.learning_rate=0.003",
        f"tracking.uri={store}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (job,), trials = job_and_trial_runs(store)
    client = mlflow_client(store)
    for trial in trials:
        metrics = trial.data.metrics
        path = client.download_artifacts(trial.info.run_id, "model.keras", str(tmp_path / "m"))
        assert metrics["n_parameters"] == keras.models.load_model(path).count_params()
        assert metrics["model_mb"] == pytest.approx(Path(path).stat().st_size / 1e6)
        assert metrics["latency_ms"] > 0 and math.isfinite(metrics["latency_ms"])
        assert trial.data.params["latency_threads"] == "1"  # train.threads=1, its own process

    shares = {
        k.removeprefix("importance."): v
        for k, v in job.data.metrics.items()
        if k.startswith("importance.")
    }
    assert set(shares) == {"hidden_units", "l2"} and sum(shares.values()) == pytest.approx(1)
    assert shares["l2"] < shares["hidden_units"], shares

    rows = [
        {
            "trial_id": t.data.tags["trial_id"],
            "val_accuracy": t.data.metrics["best_val_accuracy"],
            "latency_ms": t.data.metrics["latency_ms"],
        }
        for t in trials
    ]
    front = {r["trial_id"] for r in pareto.front(rows)}
    tagged = {t.data.tags["trial_id"] for t in trials if t.data.tags.get("pareto") == "true"}
    assert tagged == front and front
    folder = tmp_path / "job"
    for name in ("importance.svg", "pareto.svg"):
        assert svg_picture(client.download_artifacts(job.info.run_id, name, str(folder)))
    summary = Path(client.download_artifacts(job.info.run_id, "summary.md", str(folder)))
    summary = summary.read_text()
    assert "Importance for val_accuracy" in summary and "Pareto front" in summary
    assert "Importance for val_accuracy" in result.stderr
