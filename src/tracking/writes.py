"""What a `Tracker` writes to its runs: params, tags, metrics, artifacts, run ends.

With `tracking.asynchronous` (the default) every write is handed to a `BackgroundWriter` and
training goes on; `flush` waits until the store has them all (a run's end flushes, so a run is
FINISHED only once everything logged to it is in the store). Without it, each write is made
before the call returns. Either way a write is retried while the store is unreachable, for at
most `tracking.max_outage_seconds` (src/tracking/background.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from src.runtime import timings
from src.tracking.background import BackgroundWriter, Outage
from src.tracking.store import _as_param, _str_dict

T = TypeVar("T")

# Set at creation, unique per run: a retried creation looks for it before creating again.
CREATION_TAG = "creation_id"
# matplotlib's caches are not made for threads: a tracking process draws for one job at a time.
_DRAWING = threading.Lock()


class RunWrites:
    """The writing half of a `Tracker` (which sets `client`, `uri` and calls `_start_writes`)."""

    client: Any
    uri: str
    experiment_id: str
    _writer: BackgroundWriter | None = None

    def _start_writes(self, asynchronous: bool, max_outage_seconds: float) -> None:
        self._outage = Outage(self.uri, max_outage_seconds)
        self._writer = BackgroundWriter(self._outage) if asynchronous else None
        self._staging: Path | None = None

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store call made now, retried through an outage."""
        return self._outage.call(fn, *args, **kwargs)

    def _write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if self._writer is None:
            self._call(fn, *args, **kwargs)
        else:
            self._writer.submit(fn, *args, **kwargs)

    def flush(self) -> None:
        """Wait until everything written so far is in the store."""
        if self._writer is not None:
            self._writer.flush()

    @property
    def unavailable(self) -> bool:
        """The store was given up on after a long outage: nothing more can be written."""
        return self._writer is not None and self._writer.failed

    def _create_run(self, name: str, tags: Mapping[str, str]) -> str:
        """A new run, created now. Its `creation_id` tag lets a creation retried after a lost
        answer find the run the store did create, rather than make a second one."""
        key = uuid.uuid4().hex
        tags = {**tags, CREATION_TAG: key}
        tried = False

        def create() -> str:
            nonlocal tried
            if tried:
                found = self.client.search_runs(
                    [self.experiment_id], f"tags.{CREATION_TAG} = '{key}'", max_results=1
                )
                if found:
                    return found[0].info.run_id
            tried = True
            run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
            return run.info.run_id

        with timings.cost("run_creation"):
            return self._call(create)

    def end_run(self, run_id: str, status: str, tags: Mapping[str, str] | None = None) -> None:
        if tags:
            self.set_tags(run_id, tags)
        self._write(self.client.set_terminated, run_id, status=status)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, _as_param(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per call
            self._write(self.client.log_batch, run_id, params=items[i : i + 100], synchronous=True)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        batch = [RunTag(k, v) for k, v in _str_dict(tags).items()]
        self._write(self.client.log_batch, run_id, tags=batch, synchronous=True)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        """Several metrics at one step in one write (NaN/inf are kept). The timestamp is taken
        now, so a retried write is recognised by the store instead of duplicated."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        self._write(self.client.log_batch, run_id, metrics=batch, synchronous=True)

    def log_file(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        """Upload a file. In the background, a link to it is kept until it is uploaded, so the
        caller may delete its own copy at once."""
        if self._writer is None:
            self._call(self.client.log_artifact, run_id, str(path), artifact_path)
            return
        staged = self._stage(Path(path))
        self._write(self._upload_staged, run_id, staged, artifact_path)

    def log_picture(
        self, run_id: str, picture: str, data: Mapping[str, Any], file_name: str
    ) -> None:
        """A picture of src/reporting/plots.py (`PICTURES`) drawn here from plain `data`, then
        uploaded: a job hands the data to its tracking process and goes on, without importing
        matplotlib or waiting for it."""
        from src.reporting import plots

        if picture not in plots.PICTURES:
            raise ValueError(f"{picture}: not one of {', '.join(plots.PICTURES)}")
        with _DRAWING, tempfile.TemporaryDirectory() as tmp:
            path = getattr(plots, picture)(**data, path=Path(tmp) / file_name)
            self.log_file(run_id, path)  # staged (linked) when asynchronous: tmp may go

    def log_inputs(self, run_id: str, inputs: list[dict]) -> None:
        """Dataset inputs (src/tracking/lineage.py `dataset_inputs`)."""
        from src.tracking.lineage import as_entities

        self._write(self.client.log_inputs, run_id, datasets=as_entities(inputs))

    def log_json(self, run_id: str, obj: Any, artifact_file: str) -> None:
        self._write(self.client.log_dict, run_id, obj, artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._write(self.client.log_text, run_id, text, artifact_file)

    def _stage(self, path: Path) -> Path:
        if self._staging is None:
            self._staging = Path(tempfile.mkdtemp(prefix="mlflow-staging-"))
            weakref.finalize(self, shutil.rmtree, self._staging, True)
        folder = Path(tempfile.mkdtemp(dir=self._staging))
        staged = folder / path.name
        try:
            os.link(path, staged)  # no copy: the upload reads the same bytes
        except OSError:
            shutil.copyfile(path, staged)
        return staged

    def _upload_staged(self, run_id: str, staged: Path, artifact_path: str | None) -> None:
        self.client.log_artifact(run_id, str(staged), artifact_path)
        shutil.rmtree(staged.parent, ignore_errors=True)
