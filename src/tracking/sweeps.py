"""Whole sweeps read back, to compare two of them (src/reporting/comparison.py), and the
comparison's own run.

A sweep is the job runs sharing a `sweep_id` tag (one command); a job resumed by a later
command belongs to the sweep it started in. Sweeps are named by id, `latest` (the newest by its
first job's start) or `latest~N` (the Nth before it).
"""

from __future__ import annotations

import re
from pathlib import Path

from src.errors import TrackingError
from src.tracking.addresses import run_address, where_to_look
from src.tracking.queries import client_and_experiment
from src.tracking.store import PARENT_TAG, RUN_KIND_TAG

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read.

_BACK = re.compile(r"latest~(\d+)")
# The settings that make two jobs' accuracies comparable: the same images, split and budget.
_TASK = ("data", "data_limit", "val_fraction", "seed", "epochs", "model")
# A repeat run's metric for each quantity the comparison pairs by seed.
REPEAT_KEYS = ("best_val_accuracy", "test_accuracy", "mean_epoch_time", "peak_memory_mb")


def _runs(client, experiment_id: str, kind: str) -> list:
    return client.search_runs([experiment_id], f"tags.{RUN_KIND_TAG} = '{kind}'", max_results=50000)


def sweep_ids(jobs) -> list[str]:
    """The sweeps of these job runs, oldest first (by their first job's start)."""
    first: dict[str, int] = {}
    for job in jobs:
        sweep = job.data.tags.get("sweep_id")
        if sweep:
            first[sweep] = min(first.get(sweep, job.info.start_time), job.info.start_time)
    return sorted(first, key=lambda s: (first[s], s))


def resolve(ids: list[str], ref: str, experiment: str, field: str = "sweep") -> str:
    """The sweep id `ref` names among `ids` (oldest first); TrackingError naming what exists."""
    back = 0 if ref == "latest" else int(m.group(1)) if (m := _BACK.fullmatch(ref)) else None
    if back is None and ref in ids:
        return ref
    if back is not None and back < len(ids):
        return ids[-1 - back]
    shown = ", ".join(ids[-5:]) if ids else "none"
    more = f" ({len(ids)} in all)" if len(ids) > 5 else ""
    raise TrackingError(
        f"{field}: no sweep {ref!r} in experiment {experiment!r}; its sweeps, newest last: "
        f"{shown}{more}; name one by id, latest or latest~N"
    )


def read_sweeps(uri: str, experiment: str, refs: list[str]) -> list[dict]:
    """Each named sweep: its id, its jobs (name, status, loss, best and test accuracy, start
    and end in ms, repeats as `{"seed", <REPEAT_KEYS>}`) and its trials (job name, status,
    best val_accuracy).

    Raises:
        TrackingError: no such experiment, or a name that is no sweep of it.
    """
    client, experiment_id = client_and_experiment(uri, experiment)
    jobs = _runs(client, experiment_id, "job")
    ids = sweep_ids(jobs)
    wanted = [resolve(ids, ref, experiment) for ref in refs]
    trials, repeats = _runs(client, experiment_id, "trial"), _runs(client, experiment_id, "repeat")
    return [_sweep(sweep, jobs, trials, repeats) for sweep in wanted]


def _sweep(sweep_id: str, jobs, trials, repeats) -> dict:
    mine = {j.info.run_id: j for j in jobs if j.data.tags.get("sweep_id") == sweep_id}
    return {
        "sweep_id": sweep_id,
        "jobs": [
            {
                "name": j.info.run_name,
                "run_id": j.info.run_id,
                "status": j.info.status,
                "loss": j.data.params.get("loss"),
                # What makes two jobs' accuracies comparable at all.
                "task": {k: j.data.params.get(k) for k in _TASK},
                "best_val_accuracy": j.data.metrics.get("best_val_accuracy"),
                "test_accuracy": j.data.metrics.get("test_accuracy"),
                "start": j.info.start_time,
                "end": j.info.end_time,
                "repeats": [
                    {
                        "seed": int(r.data.tags["seed"]),
                        **{k: r.data.metrics[k] for k in REPEAT_KEYS},
                    }
                    for r in repeats
                    if r.data.tags.get(PARENT_TAG) == run_id
                    and r.info.status == "FINISHED"
                    and set(REPEAT_KEYS) <= r.data.metrics.keys()
                ],
            }
            for run_id, j in mine.items()
        ],
        "trials": [
            {
                "job": mine[t.data.tags[PARENT_TAG]].info.run_name,
                "status": t.info.status,
                "val_accuracy": t.data.metrics.get("best_val_accuracy"),
            }
            for t in trials
            if t.data.tags.get(PARENT_TAG) in mine
        ],
    }


def log_comparison(
    uri: str, experiment: str, sweeps: list[str], path: Path, metrics: dict[str, float]
) -> str:
    """A run of its own (`run_kind=comparison`) holding the comparison's file and figures;
    returns its address in the UI, with how to serve it."""
    from mlflow.entities import Metric

    from src.tracking.writes import now

    client, experiment_id = client_and_experiment(uri, experiment)
    run = client.create_run(
        experiment_id,
        run_name=f"compare {' vs '.join(sweeps)}",
        tags={RUN_KIND_TAG: "comparison", "compared_sweeps": " ".join(sweeps)},
    )
    run_id = run.info.run_id
    at = now()
    client.log_batch(run_id, metrics=[Metric(k, float(v), at, 0) for k, v in metrics.items()])
    client.log_artifact(run_id, str(path))
    client.set_terminated(run_id, "FINISHED")
    return where_to_look(uri, run_address(uri, experiment_id, run_id))


# What a warm start reads of each earlier trial: its metrics at its best epoch, its cost, and
# each epoch's validation (the pruner's evidence).
_KNOWN_METRICS = (
    "best_val_accuracy",
    "best_val_loss",
    "best_epoch",
    "mean_epoch_time",
    "n_parameters",
    "latency_ms",
    "model_mb",
)
_CURVES = ("val_accuracy", "val_loss")


def earlier_trials(
    client, experiment_id: str, experiment: str, ref: str, running: str | None = None
) -> dict:
    """The FINISHED trials of sweep `ref` (`tuner.warm_start`; `running`: the sweep asking,
    never the one `latest` names): `{"sweep_id", "trials": [{
    "run_id", "params" (as recorded: text), "val_fraction" (its job's), "metrics",
    "curves": {"val_accuracy": [[epoch, value], ...], "val_loss": [...]}}]}`.

    Raises:
        TrackingError: no such sweep (naming those there are).
    """
    jobs = _runs(client, experiment_id, "job")
    earlier = [s for s in sweep_ids(jobs) if s != running]  # `latest` is never this sweep
    sweep_id = resolve(earlier, ref, experiment, field="tuner.warm_start")
    mine = {j.info.run_id: j for j in jobs if j.data.tags.get("sweep_id") == sweep_id}
    found = []
    for run in _runs(client, experiment_id, "trial"):
        job = mine.get(run.data.tags.get(PARENT_TAG))
        if job is None or run.info.status != "FINISHED":
            continue
        if "best_val_accuracy" not in run.data.metrics:
            continue
        curves = {
            key: [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, key)]
            for key in _CURVES
        }
        found.append(
            {
                "run_id": run.info.run_id,
                "params": dict(run.data.params),
                "val_fraction": job.data.params.get("val_fraction"),
                "metrics": {
                    k: run.data.metrics[k] for k in _KNOWN_METRICS if k in run.data.metrics
                },
                "curves": curves,
                "pruned": run.data.tags.get("pruned") == "true",  # its score is a partial one
            }
        )
    return {"sweep_id": sweep_id, "trials": found}
