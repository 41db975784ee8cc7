"""`tracking=none`: the `Recorder` interface, recording nothing.

`Recorder` is the one interface a job records through; `Tracker` (src/tracking/runs.py) writes
to MLflow, `NullTracker` writes nothing. tests/test_tracking.py checks that both implement every
method of it with the same parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from src.errors import ConfigError


class Recorder(Protocol):
    """What a job needs from a tracking store: its runs' life cycle, logging and reading back."""

    enabled: bool

    def job_run(
        self,
        name: str,
        tags: Mapping[str, Any],
        params: Mapping[str, Any],
        resume_run_id: str | None = None,
    ) -> AbstractContextManager[str | None]: ...
    def trial_run(
        self,
        parent_run_id: str,
        trial_id: str,
        params: Mapping[str, Any],
        tags: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[str | None]: ...
    def repeat_run(
        self,
        parent_run_id: str,
        seed: int,
        params: Mapping[str, Any],
        tags: Mapping[str, Any] | None = None,
    ) -> AbstractContextManager[str | None]: ...
    def end_run(self, run_id: str, status: str, tags: Mapping[str, str] | None = None) -> None: ...
    def find_job_run(self, search_key: str, running: bool = False) -> str | None: ...
    def close_orphans(
        self, parent_run_id: str, tuner_id: str | None = None, kind: str = "trial"
    ) -> list[str]: ...
    def attempts_by_trial(self, parent_run_id: str) -> dict[str, list]: ...
    def child_runs(self, parent_run_id: str, kind: str) -> list: ...
    def earlier_trials(self, ref: str, running: str | None = None) -> dict: ...
    def download(self, run_id: str, path: str, folder: Path) -> Path: ...
    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]: ...
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None: ...
    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None: ...
    def log_file(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None: ...
    def log_json(self, run_id: str, obj: Any, artifact_file: str) -> None: ...
    def log_text(self, run_id: str, text: str, artifact_file: str) -> None: ...
    def log_picture(
        self, run_id: str, picture: str, data: Mapping[str, Any], file_name: str
    ) -> None: ...
    def close(self) -> None: ...


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
