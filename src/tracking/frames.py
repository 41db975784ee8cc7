"""A store read back as pandas DataFrames, for notebooks and scripts (`src.api`): no MLflow
search syntax needed.

`load_results`: one row per trial run (every status): its sweep, job, the job's overrides,
trial id, status and error, the trial's hyperparameters and the job's settings as columns,
then its metrics (`best_val_accuracy`: what trials are ranked by; `last_<metric>`: the last
epoch's value of a per-epoch metric, e.g. `last_loss`, beside the job's `loss` setting).
`frame.attrs["searched"]` names the hyperparameters the jobs searched. `learning_curves`: one
row per epoch of one run.
"""

from __future__ import annotations

import json

import pandas as pd

from src.tracking.queries import _jobs, _parse, client_and_experiment
from src.tracking.store import PARENT_TAG, RUN_KIND_TAG

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read.

FIRST = ["sweep_id", "job", "overrides", "trial_id", "status", "error"]
# What a trial or repeat run records once per epoch (`step` = epoch).
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_time")
# What a job records about itself that is not a setting its trials share.
_JOB_ONLY = {"search_space", "arguments", "searched", "max_trials", "val_fraction"}


def load_results(uri: str, experiment: str, sweep_id: str | None = None) -> pd.DataFrame:
    """Every trial of an experiment (of one sweep: `sweep_id`, "latest" for the newest), one
    row each, sorted by sweep, job and trial.

    Raises:
        TrackingError: no such experiment or sweep.
    """
    client, experiment_id = client_and_experiment(uri, experiment)
    if sweep_id == "latest":
        sweep_id = _latest_sweep(client, experiment_id)
    found = _jobs(client, [experiment_id], experiment, sweep_id, None, field="sweep")
    jobs = {j.info.run_id: j for j in found}
    trials = client.search_runs(
        [experiment_id], f"tags.{RUN_KIND_TAG} = 'trial'", max_results=50000
    )
    rows = [_row(run, jobs[run.data.tags[PARENT_TAG]]) for run in trials if _parent(run) in jobs]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=FIRST)
    frame["trial_id"] = frame["trial_id"].map(_parse)
    frame = frame.sort_values(["sweep_id", "job", "trial_id"], kind="stable")
    frame = frame.reset_index(drop=True)
    # The hyperparameters the jobs searched (columns of the frame), in the order declared.
    searched = [json.loads(j.data.params.get("searched", "[]")) for j in found]
    frame.attrs["searched"] = list(dict.fromkeys(n for names in searched for n in names))
    return frame


def _parent(run) -> str | None:
    return run.data.tags.get(PARENT_TAG)


def _latest_sweep(client, experiment_id: str) -> str | None:
    latest = client.search_runs(
        [experiment_id],
        f"tags.{RUN_KIND_TAG} = 'job'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return latest[0].data.tags.get("sweep_id") if latest else None


def _row(run, job) -> dict:
    params, tags = run.data.params, run.data.tags
    arguments = json.loads(job.data.params.get("arguments", "[]"))
    settings = [k for k in job.data.params if k not in _JOB_ONLY and k not in arguments]
    row = {
        "sweep_id": job.data.tags.get("sweep_id"),
        "job": job.info.run_name,
        "overrides": job.data.tags.get("overrides", ""),
        "trial_id": tags.get("trial_id", "?"),
        "status": run.info.status,
        "error": tags.get("error"),
    }
    row.update({k: _parse(params[k]) for k in [*arguments, *settings] if k in params})
    metrics = run.data.metrics
    for key in sorted(metrics):  # per-epoch ones: their last epoch's value
        if not key.startswith("system/"):
            row[f"last_{key}" if key in EPOCH_METRICS else key] = metrics[key]
    row["run_id"] = run.info.run_id
    row["job_run_id"] = job.info.run_id
    row["started"] = pd.to_datetime(run.info.start_time, unit="ms", utc=True)
    return row


def learning_curves(uri: str, run_id: str) -> pd.DataFrame:
    """One run's per-epoch metrics (loss, accuracy, val_loss, val_accuracy, epoch_time), one
    row per epoch (`epoch`, from 0)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    columns = {
        key: {m.step: m.value for m in client.get_metric_history(run_id, key)}
        for key in EPOCH_METRICS
        if key in run.data.metrics
    }
    frame = pd.DataFrame(columns).sort_index()
    return frame.rename_axis("epoch").reset_index()
