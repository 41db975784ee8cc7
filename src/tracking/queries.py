"""Reading a store back for export: the finished trials of an experiment, a trial's job, artifacts."""

from __future__ import annotations

import json
from pathlib import Path

from src.errors import TrackingError
from src.tracking.store import PARENT_TAG, RUN_KIND_TAG

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read.


def client_and_experiment(uri: str, experiment: str):
    """A client of the store and the id of `experiment`; TrackingError if it has none."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise TrackingError(
            f"tracking.experiment: no experiment {experiment!r} in {uri}; run a "
            "sweep first (make sweep) or set tracking.experiment"
        )
    return client, found.experiment_id


def experiment_id_of(uri: str, experiment: str) -> str:
    """The id of `experiment` in the store; TrackingError if it has none."""
    return client_and_experiment(uri, experiment)[1]


def finished_trials(
    uri: str, experiment: str, sweep_id: str | None = None, loss: str | None = None
) -> list[dict]:
    """The FINISHED trial runs of an experiment (of one sweep, of one loss) with what a choice
    needs: parent job, loss, trial id, hyperparameters, best val_accuracy and val_loss.

    Raises:
        TrackingError: the experiment or the sweep does not exist.
    """
    client, experiment_id = client_and_experiment(uri, experiment)
    ids = [experiment_id]
    jobs = _jobs(client, ids, experiment, sweep_id, loss)
    names = {j.info.run_id: j.info.run_name for j in jobs}
    # Each job records its arguments and the ones it searched (stores from before that was
    # recorded: the trial's own params that are not its job's settings).
    arguments = {j.info.run_id: _names(j.data.params, "arguments") for j in jobs}
    searched = {j.info.run_id: _names(j.data.params, "searched") for j in jobs}
    settings = {j.info.run_id: set(j.data.params) for j in jobs}
    trials = []
    for run in client.search_runs(
        ids, f"tags.{RUN_KIND_TAG} = 'trial' and attributes.status = 'FINISHED'", max_results=50000
    ):
        parent = run.data.tags.get(PARENT_TAG)
        metrics = run.data.metrics
        if parent not in names or "best_val_accuracy" not in metrics:
            continue
        trials.append(
            {
                "run_id": run.info.run_id,
                "job": names[parent],
                "loss": run.data.params.get("loss"),
                "trial_id": run.data.tags.get("trial_id", "?"),
                "params": {
                    k: _parse(run.data.params[k])
                    for k in arguments[parent] or _own(run.data.params, settings[parent])
                    if k in run.data.params
                },
                "searched": searched[parent] or _own(run.data.params, settings[parent]),
                "val_accuracy": metrics["best_val_accuracy"],
                "best_epoch": int(metrics.get("best_epoch", 0)),
                "val_loss": metrics.get("best_val_loss", metrics.get("val_loss", float("inf"))),
                "started": run.info.start_time,
                # What its layers computed in (trials recorded before it was: float32).
                "precision": run.data.params.get("precision", "float32"),
                # What its model costs to serve (trials recorded before it was: unknown).
                "latency_ms": metrics.get("latency_ms"),
                "n_parameters": metrics.get("n_parameters"),
                "latency_threads": _parse(run.data.params.get("latency_threads", "")) or None,
            }
        )
    return trials


def _jobs(
    client,
    ids: list[str],
    experiment: str,
    sweep_id: str | None,
    loss: str | None,
    field: str = "export.sweep_id",
):
    """The job runs of an experiment, of one sweep (resumed jobs included), of one loss."""
    jobs = client.search_runs(ids, f"tags.{RUN_KIND_TAG} = 'job'", max_results=10000)
    if sweep_id is not None:
        known = {j.data.tags.get("sweep_id") for j in jobs} - {None}
        jobs = [
            j
            for j in jobs
            if sweep_id in (j.data.tags.get("sweep_id"), j.data.tags.get("resumed_by_sweep"))
        ]
        if not jobs:
            latest = ", ".join(sorted(known)[-3:]) or "none"
            raise TrackingError(
                f"{field}: no sweep {sweep_id!r} in experiment "
                f"{experiment!r}; recent sweeps: {latest}"
            )
    if loss is not None:
        jobs = [j for j in jobs if j.data.params.get("loss") == loss]
    return jobs


def _own(params: dict, settings: set[str]) -> list[str]:
    """A trial's hyperparameters, recorded before jobs listed them: its params that are not its
    job's settings, keras-tuner's bookkeeping (`tuner/...`) or a table's raw rows (`name_row`)."""
    own = [k for k in params if k not in settings and "/" not in k]
    return [k for k in own if not any(k.startswith(f"{o}_") for o in own if o != k)]


def _names(params: dict, key: str) -> list[str]:
    return json.loads(params[key]) if key in params else []


def _parse(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def finished_refit(uri: str, trial_run_id: str) -> str | None:
    """The run id of a finished refit of this trial run, if any (export reuses it)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    trial = client.get_run(trial_run_id)
    runs = client.search_runs(
        [trial.info.experiment_id],
        f"tags.{RUN_KIND_TAG} = 'refit' and tags.refit_of = '{trial_run_id}' "
        "and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def download_artifact(uri: str, run_id: str, path: str, folder: Path) -> Path:
    from mlflow.tracking import MlflowClient

    folder.mkdir(parents=True, exist_ok=True)
    return Path(MlflowClient(tracking_uri=uri).download_artifacts(run_id, path, str(folder)))


def job_of(uri: str, trial_run_id: str) -> dict:
    """The params and sweep id of the job run a trial run belongs to."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    job = client.get_run(client.get_run(trial_run_id).data.tags[PARENT_TAG])
    return {
        "params": dict(job.data.params),
        "sweep_id": job.data.tags.get("sweep_id"),
        "run_id": job.info.run_id,
    }
