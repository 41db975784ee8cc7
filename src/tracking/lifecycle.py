"""How a run's status follows the code that fills it, for a `Tracker` and a `RemoteTracker`
alike: runs are opened and closed by context managers, so a run's final status tells the truth -
FINISHED when its block completed, KILLED when it was interrupted (Ctrl-C, SIGTERM), FAILED with
the reason as a tag when it raised. What it needs from the store (create, end, log, read child
runs) each subclass provides, in this process or another.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from src.tracking.lineage import run_tags
from src.tracking.outage import StoreUnavailable
from src.tracking.store import ERROR_TAG, KILLED_BY_TAG, PARENT_TAG, RUN_KIND_TAG, _short_reason

_ID_TAG = {"trial": "trial_id", "repeat": "seed"}  # tells runs of one kind apart under a job


class RunLifecycle:
    """Job, trial, repeat and refit runs over what a subclass provides: `_create_run`,
    `_mark_running`, `_delete_tags`, `end_run`, `log_params`, `set_tags`, `log_text`, `flush`,
    `unavailable` and `child_runs` (runs with `.info` and `.data` as MLflow's)."""

    enabled = True

    def close(self) -> None:
        """Nothing to release in this process (see `RemoteTracker.close`)."""

    # --- runs ------------------------------------------------------------------------------

    @contextmanager
    def _lifecycle(self, run_id: str, wait: bool = True) -> Iterator[str]:
        """The run's status follows the block. Its end is stored after everything written to
        it; a job's run (`wait`) ends once that is stored, a trial's, a repeat's or a refit's
        does not wait: the next one starts while the store catches up."""
        try:
            yield run_id
        except StoreUnavailable:
            raise  # nothing can be written: the run stays RUNNING, the job is resumable
        except (KeyboardInterrupt, SystemExit):
            if not self.unavailable:
                self.end_run(run_id, "KILLED", {KILLED_BY_TAG: "interrupt"})
                if wait:
                    self.flush(wait_outage=False)  # through an outage, on disk
            raise
        except BaseException as exc:
            if not self.unavailable:
                # The whole traceback beside the run, the reason in a tag the run list shows.
                self.log_text(run_id, traceback.format_exc(), "error.txt")
                self.end_run(run_id, "FAILED", {ERROR_TAG: _short_reason(exc)})
                if wait:
                    self.flush(wait_outage=False)
            raise
        else:
            self.end_run(run_id, "FINISHED")
            if wait:
                self.flush()

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
            self._mark_running(resume_run_id)
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
                self._delete_tags(run_id, (KILLED_BY_TAG, ERROR_TAG))
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
        run_id = self._create_run(name, tags, provisional=True)
        with self._lifecycle(run_id, wait=False):
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

    @contextmanager
    def resumed_trial_run(self, run_id: str, tags: Mapping[str, Any]) -> Iterator[str]:
        """An interrupted trial's run reopened, to continue where its training stopped: RUNNING
        again, tagged `tags`, without its last ending's tags; its status follows the block."""
        self._mark_running(run_id)
        with self._lifecycle(run_id, wait=False):
            self._delete_tags(run_id, (KILLED_BY_TAG, ERROR_TAG))
            self.set_tags(run_id, tags)
            yield run_id

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
