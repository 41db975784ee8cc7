"""`tracking=none`: the tracker's interface, recording nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class NullTracker:
    """`Tracker`'s interface doing nothing: a sweep with `tracking.enabled=false`."""

    enabled = False

    uri = None
    experiment_id = None

    @contextmanager
    def job_run(self, name, tags, params, resume_run_id=None) -> Iterator[None]:
        yield None

    @contextmanager
    def trial_run(self, parent_run_id, trial_id, params, tags=None) -> Iterator[None]:
        yield None

    def find_job_run(self, search_key: str, running: bool = False) -> None:
        return None

    def close_orphans(self, parent_run_id, tuner_id=None) -> list[str]:
        return []

    def attempts_by_trial(self, parent_run_id) -> dict[str, list]:
        return {}

    def trial_runs(self, parent_run_id) -> list:
        return []

    def _ignore(self, *args, **kwargs) -> None:
        return None

    end_run = log_params = set_tags = log_metrics = log_file = log_json = log_text = _ignore
