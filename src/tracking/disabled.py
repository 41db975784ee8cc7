"""`tracking=none`: the `Recorder` interface (src/tracking/recorder.py), recording nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.errors import ConfigError


class NullTracker:
    """`Recorder` doing nothing: a sweep with `tracking.enabled=false`."""

    enabled = False
    uri = None
    experiment_id = None
    on_waiting = None

    @contextmanager
    def job_run(self, name, tags, params, resume_run_id=None) -> Iterator[None]:
        yield None

    @contextmanager
    def trial_run(self, parent_run_id, trial_id, params, tags=None) -> Iterator[None]:
        yield None

    @contextmanager
    def repeat_run(self, parent_run_id, seed, params, tags=None) -> Iterator[None]:
        yield None

    def end_run(self, run_id, status, tags=None) -> None:
        return None

    def find_job_run(self, search_key, running=False) -> None:
        return None

    def close_orphans(self, parent_run_id, tuner_id=None, kind="trial") -> list[str]:
        return []

    def attempts_by_trial(self, parent_run_id) -> dict[str, list]:
        return {}

    def child_runs(self, parent_run_id, kind) -> list:
        return []

    def earlier_trials(self, ref, running=None) -> dict:
        raise ConfigError(
            "tuner.warm_start: reads an earlier sweep from the store; enable tracking"
        )

    def download(self, run_id, path, folder) -> Path:
        raise FileNotFoundError(f"{path}: nothing is recorded with tracking=none")

    def metric_history(self, run_id, key) -> list[tuple[int, float]]:
        return []

    def log_params(self, run_id, params) -> None:
        return None

    def set_tags(self, run_id, tags) -> None:
        return None

    def log_metrics(self, run_id, metrics, step=0) -> None:
        return None

    def log_file(self, run_id, path, artifact_path=None) -> None:
        return None

    def log_json(self, run_id, obj, artifact_file) -> None:
        return None

    def log_text(self, run_id, text, artifact_file) -> None:
        return None

    def log_picture(self, run_id, picture, data, file_name) -> None:
        return None

    def close(self) -> None:
        return None
