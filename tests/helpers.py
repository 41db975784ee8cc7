"""Helpers the tests share: composing the real config, running the CLI, reading a store."""

import os
import subprocess
import sys
from pathlib import Path

from src import cli

ROOT = Path(__file__).resolve().parents[1]

# A budget that exercises every part in seconds: 2 trials x 1 epoch on 1,500 images.
TINY = ("data.limit=1500", "train.epochs=1", "tuner.max_trials=2")


def compose(*overrides: str):
    """The real config, composed by Hydra with `overrides`."""
    return cli.compose(list(overrides))


def run_cli(*args: str, timeout: float = 600, env: dict | None = None):
    """Run `python -m <args>` from the repository root; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def mlflow_client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def all_runs(uri: str):
    client = mlflow_client(uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids, max_results=10000)


def job_and_trial_runs(uri: str):
    runs = all_runs(uri)
    jobs = [r for r in runs if r.data.tags.get("run_kind") == "job"]
    trials = [r for r in runs if r.data.tags.get("run_kind") == "trial"]
    return jobs, trials
