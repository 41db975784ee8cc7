"""Every MLflow call of a sweep, behind a small `Tracker` (its runs' life cycle:
src/tracking/lifecycle.py). The client API is used rather than MLflow's fluent "active run"
stack, so nothing leaks from one Hydra job into the next in the same process.
"""

from __future__ import annotations

import logging
from pathlib import Path

from src.tracking.creation import RunCreation
from src.tracking.lifecycle import RunLifecycle
from src.tracking.store import (
    PARENT_TAG,
    RUN_KIND_TAG,
    _store_init_lock,
    experiment_id,
    http_retries_off,
    sqlite_path,
)
from src.tracking.writes import RunWrites

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read; the sweeps' readers load only for a warm start.


class Tracker(RunLifecycle, RunCreation, RunWrites):
    """An MLflow client bound to one store and one experiment. Its writes (RunWrites) go
    through a background thread unless `asynchronous` is false; reads wait for them first."""

    def __init__(
        self,
        uri: str,
        experiment: str,
        asynchronous: bool = True,
        max_outage_seconds: float = 120.0,
        spill_dir: str | None = None,
    ):
        from mlflow.tracking import MlflowClient

        # MLflow resets its logger on import; its table creation notices are not news.
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        self.uri, self._experiment = uri, experiment
        http_retries_off(uri)  # an outage is retried here, at a steady pace
        self._start_writes(asynchronous, max_outage_seconds, spill_dir)
        self._start_creations()
        path = sqlite_path(uri)
        if path is not None:
            path.resolve().parent.mkdir(parents=True, exist_ok=True)
        with _store_init_lock(uri):
            # The client opens (and, for a new store, creates) the database: inside the lock.
            self.client = MlflowClient(tracking_uri=uri)
            self._call(self.client.search_experiments, max_results=1)
            self.experiment_id = self._call(experiment_id, self.client, experiment, uri)
        self._deliver_spilled()  # before anything of this process's is written or read

    def find_job_run(self, search_key: str, running: bool = False) -> str | None:
        """The most recent job run recorded for this search key (RUNNING only: `running`)."""
        status = " and attributes.status = 'RUNNING'" if running else ""
        self.flush()
        runs = self._call(
            self.client.search_runs,
            [self.experiment_id],
            filter_string=f"tags.{RUN_KIND_TAG} = 'job' and tags.search_key = '{search_key}'"
            + status,
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def download(self, run_id: str, path: str, folder: Path) -> Path:
        """One artifact of a run, downloaded into `folder`."""
        run_id = self._resolved(run_id)
        return Path(self._call(self.client.download_artifacts, run_id, path, str(folder)))

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        history = self._call(self.client.get_metric_history, self._resolved(run_id), key)
        return [(m.step, m.value) for m in history]

    def _mark_running(self, run_id: str) -> None:
        self._call(self.client.update_run, self._resolved(run_id), status="RUNNING")

    def _delete_tags(self, run_id: str, keys: tuple[str, ...]) -> None:
        """Delete those of `keys` the run has (after everything written to it is stored)."""
        run = self._call(self.client.get_run, self._resolved(run_id))
        for key in run.data.tags.keys() & set(keys):
            self._call(self.client.delete_tag, run.info.run_id, key)

    # --- reading back --------------------------------------------------------------------------

    def earlier_trials(self, ref: str, running: str | None = None) -> dict:
        """The finished trials of an earlier sweep, for a warm start (src/tracking/sweeps.py)."""
        from src.tracking.sweeps import earlier_trials

        self.flush()
        args = (self.client, self.experiment_id, self._experiment, ref, running)
        return self._call(earlier_trials, *args)

    def child_runs(self, parent_run_id: str, kind: str) -> list:
        """The runs of one kind (`trial`, `repeat`, `refit`) under a job run."""
        self.flush()
        runs = self._call(
            self.client.search_runs,
            [self.experiment_id],
            filter_string=f"tags.`{PARENT_TAG}` = '{parent_run_id}'",
            max_results=10000,
        )
        # A run without the tag is a trial: only trials were nested before repeats and refits.
        return [r for r in runs if r.data.tags.get(RUN_KIND_TAG, "trial") == kind]
