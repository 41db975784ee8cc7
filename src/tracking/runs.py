"""Every MLflow call of a sweep, behind a small `Tracker`.

Runs are opened and closed by context managers, so a run's final status tells the truth:
FINISHED when its block completed, KILLED when it was interrupted (Ctrl-C, SIGTERM), FAILED
with the reason as a tag when it raised. The client API is used rather than MLflow's fluent
"active run" stack, so nothing leaks from one Hydra job into the next in the same process.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from src.tracking.background import StoreUnavailable
from src.tracking.lineage import run_tags
from src.tracking.store import (
    ERROR_TAG,
    KILLED_BY_TAG,
    PARENT_TAG,
    RUN_KIND_TAG,
    _short_reason,
    _store_init_lock,
    experiment_id,
    http_retries_off,
    sqlite_path,
)
from src.tracking.writes import RunWrites

_ID_TAG = {"trial": "trial_id", "repeat": "seed"}  # tells runs of one kind apart under a job


class Tracker(RunWrites):
    """An MLflow client bound to one store and one experiment. Its writes (RunWrites) go
    through a background thread unless `asynchronous` is false; reads wait for them first."""

    enabled = True

    def __init__(
        self,
        uri: str,
        experiment: str,
        asynchronous: bool = True,
        max_outage_seconds: float = 120.0,
    ):
        from mlflow.tracking import MlflowClient

        # MLflow resets its logger on import; its table creation notices are not news.
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        self.uri = uri
        http_retries_off(uri)  # an outage is retried here, at a steady pace
        self._start_writes(asynchronous, max_outage_seconds)
        path = sqlite_path(uri)
        if path is not None:
            path.resolve().parent.mkdir(parents=True, exist_ok=True)
        with _store_init_lock(uri):
            # The client opens (and, for a new store, creates) the database: inside the lock.
            self.client = MlflowClient(tracking_uri=uri)
            self._call(self.client.search_experiments, max_results=1)
            self.experiment_id = self._call(experiment_id, self.client, experiment, uri)

    # --- runs ------------------------------------------------------------------------------

    @contextmanager
    def _lifecycle(self, run_id: str) -> Iterator[str]:
        """The run's status follows the block; it ends once all written to it is stored."""
        try:
            yield run_id
        except StoreUnavailable:
            raise  # nothing can be written: the run stays RUNNING, the job is resumable
        except (KeyboardInterrupt, SystemExit):
            if not self.unavailable:
                self.end_run(run_id, "KILLED", {KILLED_BY_TAG: "interrupt"})
                self.flush()
            raise
        except BaseException as exc:
            if not self.unavailable:
                # The whole traceback beside the run, the reason in a tag the run list shows.
                self.log_text(run_id, traceback.format_exc(), "error.txt")
                self.end_run(run_id, "FAILED", {ERROR_TAG: _short_reason(exc)})
                self.flush()
            raise
        else:
            self.end_run(run_id, "FINISHED")
            self.flush()

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

    @contextmanager
    def job_run(
        self,
        name: str,
        tags: Mapping[str, Any],
        params: Mapping[str, Any],
        resume_run_id: str | None = None,
    ) -> Iterator[str]:
        """A job's parent run: a new one, or `resume_run_id` reopened. From the moment it is
        RUNNING, its status follows the block (nothing in between can leave it RUNNING)."""
        if resume_run_id is not None:
            self._call(self.client.update_run, resume_run_id, status="RUNNING")
            run_id = resume_run_id
        else:
            run_id = self._create_run(name, {**run_tags(tags), RUN_KIND_TAG: "job"})
        with self._lifecycle(run_id):
            if resume_run_id is None:
                self.log_params(run_id, params)
            else:
                self.set_tags(run_id, tags)
                # How it stopped last time no longer describes it (`resumed_by_sweep` records
                # that it was resumed); its trial runs keep their own KILLED/FAILED tags.
                self.flush()
                run = self._call(self.client.get_run, run_id)
                for key in run.data.tags.keys() & {KILLED_BY_TAG, ERROR_TAG}:
                    self._call(self.client.delete_tag, run_id, key)
            yield run_id

    @contextmanager
    def _child_run(
        self,
        parent_run_id: str,
        kind: str,
        name: str,
        params: Mapping[str, Any],
        tags: Mapping[str, Any],
    ) -> Iterator[str]:
        """A run nested under `parent_run_id`, tagged with its kind (`run_kind`)."""
        tags = {**run_tags(tags), PARENT_TAG: parent_run_id, RUN_KIND_TAG: kind}
        run_id = self._create_run(name, tags)
        with self._lifecycle(run_id):
            self.log_params(run_id, params)
            yield run_id

    def trial_run(
        self,
        parent_run_id: str,
        trial_id: str,
        params: Mapping[str, Any],
        tags: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[str]:
        """A trial's run, nested under its job's run."""
        tags = {**(tags or {}), "trial_id": trial_id}
        return self._child_run(parent_run_id, "trial", f"trial-{trial_id}", params, tags)

    def repeat_run(
        self,
        parent_run_id: str,
        seed: int,
        params: Mapping[str, Any],
        tags: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[str]:
        """The job's best configuration retrained with one training seed, under the job."""
        tags = {**(tags or {}), "seed": seed}
        return self._child_run(
            parent_run_id, "repeat", f"repeat-{seed}", {**params, "seed": seed}, tags
        )

    def refit_run(self, job_run_id: str, trial_run_id: str, params: Mapping[str, Any]):
        """A refit of a trial's hyperparameters on more data: nested under the trial's job,
        tagged with the trial run it retrains (`refit_of`)."""
        return self._child_run(job_run_id, "refit", "refit", params, {"refit_of": trial_run_id})

    def close_orphans(
        self, parent_run_id: str, tuner_id: str | None = None, kind: str = "trial"
    ) -> list[str]:
        """Mark KILLED the runs of one kind (trials, repeats) a dead process left RUNNING
        (only those of one distributed worker: `tuner_id`); returns their trial ids (seeds)."""
        orphans = [
            r
            for r in self.child_runs(parent_run_id, kind)
            if r.info.status == "RUNNING"
            and (tuner_id is None or r.data.tags.get("tuner_id") == tuner_id)
        ]
        for run in orphans:
            self.end_run(
                run.info.run_id,
                "KILLED",
                {KILLED_BY_TAG: "crash", ERROR_TAG: f"the process ended during this {kind}"},
            )
        return [run.data.tags.get(_ID_TAG[kind], "?") for run in orphans]

    def attempts_by_trial(self, parent_run_id: str) -> dict[str, list]:
        """Earlier runs of each trial id under a job run, oldest first."""
        attempts: dict[str, list] = {}
        for run in sorted(self.child_runs(parent_run_id, "trial"), key=lambda r: r.info.start_time):
            attempts.setdefault(run.data.tags.get("trial_id", "?"), []).append(run)
        return attempts

    def download(self, run_id: str, path: str, folder: Path) -> Path:
        """One artifact of a run, downloaded into `folder`."""
        self.flush()
        return Path(self._call(self.client.download_artifacts, run_id, path, str(folder)))

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        self.flush()
        history = self._call(self.client.get_metric_history, run_id, key)
        return [(m.step, m.value) for m in history]

    # --- reading back --------------------------------------------------------------------------

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
