"""How a `Tracker` creates runs without holding a trial up while the store is away.

A job's run is created at once (the job waits for the store). A trial's (or a repeat's, or a
refit's) is created at once when the store answers; while it does not, its creation is a
record like the others (src/tracking/background.py) and the trial gets a provisional id,
`pending-<experiment id>-<creation_id>`, to write to. Its records name that id, and it is
replaced by the store's id when they are stored: from the creation this process made, or, for
records delivered by another process after a crash (src/tracking/journal.py), from the run's
`creation_id` tag. The run keeps the times it was started and ended at, not those at which
the store was told.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from src.runtime import timings
from src.tracking.outage import transient
from src.tracking.writes import now

# Set at creation, unique per run: a retried creation looks for it before creating again.
CREATION_TAG = "creation_id"
# A run's id until the store has created it: this, then its creation_id.
PENDING = "pending-"


class RunCreation:
    """The creating half of a `Tracker` (src/tracking/runs.py), over its `RunWrites`."""

    client: Any
    experiment_id: str

    def _start_creations(self) -> None:
        self._created: dict[str, str] = {}  # provisional run id -> the store's

    def _create_run(self, name: str, tags: Mapping[str, str], provisional: bool = False) -> str:
        """A new run, created now. Its `creation_id` tag lets a creation retried after a lost
        answer find the run the store did create, rather than make a second one. A
        `provisional` one (a trial's) is not waited for while the store does not answer."""
        key = uuid.uuid4().hex
        pending = f"{PENDING}{self.experiment_id}-{key}"
        record = [pending, self.experiment_id, name, {**tags, CREATION_TAG: key}, now()]
        tried = False

        def create() -> str:
            nonlocal tried
            fresh, tried = not tried, True
            return self._op_create(*record, fresh=fresh)

        with timings.cost("run_creation"):
            if provisional and self._writer is not None:
                if self._writer.down_since is None:
                    try:
                        return create()
                    except Exception as exc:
                        if not transient(exc):
                            raise
                self._write("create", *record)
                return pending
            return self._call(create)

    def _op_create(
        self, pending: str, experiment: str, name: str, tags: dict, start: int, fresh=False
    ) -> str:
        """Create the run (unless a first try, `fresh`, finds it was created already)."""
        found = self._created.get(pending) or (None if fresh else self._found(pending))
        if found is None:
            run = self.client.create_run(experiment, start, tags, run_name=name)
            found = run.info.run_id
        self._created[pending] = found
        return found

    def _found(self, pending: str) -> str | None:
        experiment, key = pending[len(PENDING) :].rsplit("-", 1)
        found = self.client.search_runs(
            [experiment], f"tags.{CREATION_TAG} = '{key}'", max_results=1
        )
        return found[0].info.run_id if found else None

    def _real(self, run_id: str) -> str:
        """The store's id of a run (`run_id` may be provisional)."""
        if not run_id.startswith(PENDING):
            return run_id
        found = self._created.get(run_id) or self._found(run_id)
        if found is None:
            raise ValueError(f"run {run_id} was never created")
        self._created[run_id] = found
        return found

    def resolve(self, run_id: str) -> str | None:
        """The store's id of a run, once everything written before is stored (None: a
        provisional id whose run was never created)."""
        try:
            return self._resolved(run_id)
        except ValueError:
            return None

    def _resolved(self, run_id: str) -> str:
        self.flush()
        return self._call(self._real, run_id)
