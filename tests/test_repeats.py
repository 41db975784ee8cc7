"""study.repeats for real: a tiny loss comparison retrains each job's best configuration with
three seeds, its statistics agree with a computation of our own from the runs MLflow holds, the
verdict is on every job run and ends the summary; a kill -9 during the repeats costs only the
repeat it interrupted."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, all_runs, mlflow_client, read_store, run_cli, svg_picture, wait_until
from scipy import stats

pytestmark = pytest.mark.slow

SEEDS = ["1000", "1001", "1002"]
STATISTICS = {  # the job run's repeats.<quantity> metrics and the repeat runs' metric of it
    "val_accuracy": "best_val_accuracy",
    "test_accuracy": "test_accuracy",
    "epoch_time": "mean_epoch_time",
    "peak_memory_mb": "peak_memory_mb",
}


def by_kind(uri: str, kind: str):
    return [r for r in all_runs(uri) if r.data.tags.get("run_kind") == kind]


def repeats_of(uri: str, job) -> list:
    return [
        r
        for r in by_kind(uri, "repeat")
        if r.data.tags["mlflow.parentRunId"] == job.info.run_id and r.info.status == "FINISHED"
    ]


def interval(values) -> tuple[float, float]:
    """The 95% t-interval of the mean (a point for values that are all equal)."""
    x = np.asarray(values)
    if np.ptp(x) == 0:
        return x[0], x[0]
    return stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))


def test_loss_comparison_repeats_agree_with_the_runs_and_end_in_a_verdict(store, tmp_path):
    result = run_cli(
        "src.sweep",
        "sweep=loss_comparison",
        "study.repeats=3",
        "data.limit=1500",
        "train.epochs=2",
        "tuner.max_trials=3",
        f"tracking.uri={store}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = mlflow_client(store)
    jobs = {j.data.params["loss"]: j for j in by_kind(store, "job")}
    assert sorted(jobs) == ["categorical", "sparse"]
    values = {}
    for loss, job in jobs.items():
        repeats = sorted(repeats_of(store, job), key=lambda r: r.data.params["seed"])
        assert [r.data.params["seed"] for r in repeats] == SEEDS  # the same seeds in each job
        for run in repeats:
            assert run.data.tags["repeat_of_trial"] == job.data.tags["best_trial_id"]
            assert run.data.params["search_seed"] == "42" and run.data.params["loss"] == loss
            for name, value in job.data.tags.items():  # the best trial's hyperparameters
                if name.startswith("best.") and name[5:] in run.data.params:
                    assert run.data.params[name[5:]] == value, name
            for metric in ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time"):
                steps = [m.step for m in client.get_metric_history(run.info.run_id, metric)]
                assert steps == [0, 1], metric
        metrics = job.data.metrics
        assert metrics["repeats.seeds"] == 3
        for quantity, metric in STATISTICS.items():
            x = [r.data.metrics[metric] for r in repeats]
            values[loss, quantity] = x
            low, high = interval(x)
            assert metrics[f"repeats.{quantity}.mean"] == pytest.approx(np.mean(x), abs=1e-12)
            assert metrics[f"repeats.{quantity}.sd"] == pytest.approx(np.std(x, ddof=1), abs=1e-12)
            assert metrics[f"repeats.{quantity}.ci_low"] == pytest.approx(low, abs=1e-12)
            assert metrics[f"repeats.{quantity}.ci_high"] == pytest.approx(high, abs=1e-12)

    summary = Path(
        client.download_artifacts(jobs["sparse"].info.run_id, "sweep_summary.md", str(tmp_path))
    ).read_text()
    for loss in jobs:  # the table's row of each job, from our own computation
        x = values[loss, "test_accuracy"]
        low, high = interval(x)
        cell = f"{np.mean(x):.4f} ± {np.std(x, ddof=1):.4f} [{low:.4f}, {high:.4f}]"
        assert f"| {loss} | 3 | " in summary and cell in summary
    time_a, time_b = values["categorical", "epoch_time"], values["sparse", "epoch_time"]
    d = np.subtract(time_a, time_b)
    low, high = interval(d)
    p = stats.ttest_rel(time_a, time_b).pvalue
    assert f"| {d.mean():+.3f} [{low:+.3f}, {high:+.3f}], p = {p:.2g} |" in summary

    verdict = jobs["sparse"].data.tags["verdict"]
    assert {j.data.tags["verdict"] for j in jobs.values()} == {verdict}
    # The study's answer ends the summary; the terminal's then gives the sweep's address.
    printed, address = result.stderr.rstrip().rsplit("\n", 1)
    assert summary.rstrip().endswith(verdict) and printed.rstrip().endswith(verdict)
    assert address.startswith("This sweep's runs: http://127.0.0.1:5000/#/experiments/")
    a, b = values["sparse", "test_accuracy"], values["categorical", "test_accuracy"]
    if a == b:  # the same seed trains both losses identically
        assert verdict.startswith(
            "sparse and categorical reach identical test accuracy in every one of the 3 seeds"
        )
    else:
        d = np.subtract(a, b)
        low, high = interval(d)
        assert f"difference {d.mean():+.4f}, 95% CI [{low:+.4f}, {high:+.4f}]" in verdict
    assert " per epoch" in verdict and "nan" not in summary
    picture = client.download_artifacts(jobs["sparse"].info.run_id, "repeats.svg", str(tmp_path))
    assert svg_picture(picture)
    # Importances across the jobs (3 trials each: too few for a job's own), the loss among
    # them, set beside the pooled seed noise of the repeats.
    assert "## Importance across the jobs" in summary and "loss " in summary
    assert "Pooled seed-to-seed sd" in summary
    for job in jobs.values():
        picture = client.download_artifacts(job.info.run_id, "sweep_importance.svg", str(tmp_path))
        assert svg_picture(picture)

    # The sweep compared with itself later (python -m src.compare): paired by the same seeds,
    # no difference.
    from src import api

    found = api.compare("latest", "latest", store, folder=str(tmp_path / "compare"))
    assert "paired by the 3 seeds" in found.text
    assert "A and B reach identical test accuracy in every one of the 3 seeds" in found.text


def running_repeat(uri: str, seed: str):
    """The run id of seed `seed`'s RUNNING repeat once it has logged an epoch."""
    rows = read_store(
        uri,
        "SELECT r.run_uuid FROM runs r "
        "JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = 'run_kind' "
        "AND k.value = 'repeat' "
        "JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = 'seed' AND s.value = ? "
        "WHERE r.status = 'RUNNING' AND EXISTS (SELECT 1 FROM metrics m "
        "WHERE m.run_uuid = r.run_uuid AND m.key = 'val_accuracy')",
        (seed,),
    )
    return rows[0][0] if rows else None


def test_a_kill_9_during_the_repeats_costs_only_the_repeat_it_interrupted(store, tmp_path):
    # Repeats of 4 epochs on 5,400 images: long enough to be killed in the middle of one.
    args = ("study.repeats=3", "data.limit=6000", "train.epochs=4", "tuner.max_trials=1")
    args = (*args, f"tracking.uri={store}", f"hydra.run.dir={tmp_path / 'run'}")
    with open(tmp_path / "first.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "src.sweep", *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
        killed = wait_until(lambda: running_repeat(store, "1001"))
        proc.kill()
        proc.wait(timeout=30)
    before = {r.data.params["seed"]: r for r in by_kind(store, "repeat")}
    assert sorted(before) == ["1000", "1001"] and before["1000"].info.status == "FINISHED"
    trials_before = {r.info.run_id for r in by_kind(store, "trial")}

    again = run_cli("src.sweep", *args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "repeat(s) of seed 1001 were cut short and run again" in again.stderr + again.stdout
    repeats = by_kind(store, "repeat")
    finished = sorted(r.data.params["seed"] for r in repeats if r.info.status == "FINISHED")
    assert finished == SEEDS and len(repeats) == 4  # each seed once, and the killed one
    (first,) = [r for r in repeats if r.data.params["seed"] == "1000"]
    assert first.info.run_id == before["1000"].info.run_id  # kept, not trained again
    dead = mlflow_client(store).get_run(killed)
    assert dead.info.status == "KILLED" and dead.data.tags["killed_by"] == "crash"
    assert {r.info.run_id for r in by_kind(store, "trial")} == trials_before
    (job,) = by_kind(store, "job")
    assert job.info.status == "FINISHED" and job.data.metrics["repeats.seeds"] == 3
    x = [r.data.metrics["test_accuracy"] for r in repeats if r.info.status == "FINISHED"]
    assert job.data.metrics["repeats.test_accuracy.mean"] == pytest.approx(math.fsum(x) / 3)
    assert ": test accuracy " in job.data.tags["verdict"]  # one job: its own statistics
