"""What a `Tracker` writes to its runs: params, tags, metrics, artifacts, run creations and ends.

With `tracking.asynchronous` (the default) every write is a record (`[op, args]`, plain data)
handed to a `BackgroundWriter` (src/tracking/background.py), and training goes on, also while
the store is away. `flush` waits until the store has them all. A run's end is stored after
everything written to it before, so a run is FINISHED in the store only once all of its
records are. Without `asynchronous`, each write is made before the call returns, retried while
the store is unreachable for at most `tracking.max_outage_seconds`.

Run creations: src/tracking/creation.py.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from src.tracking.background import BackgroundWriter, deliver
from src.tracking.journal import UPLOAD, orphans, spill_folder
from src.tracking.outage import Outage
from src.tracking.store import as_param, str_dict

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read; the pictures load only where one is drawn.

log = logging.getLogger(__name__)

T = TypeVar("T")

# matplotlib's caches are not made for threads: a tracking process draws for one job at a time.
_DRAWING = threading.Lock()


def now() -> int:
    """Milliseconds since the epoch, as MLflow's timestamps."""
    return int(time.time() * 1000)


class RunWrites:
    """The writing half of a `Tracker` (which sets `client`, `uri` and calls `_start_writes`)."""

    client: Any
    uri: str
    experiment_id: str
    _writer: BackgroundWriter | None = None

    def _start_writes(
        self, asynchronous: bool, max_outage_seconds: float, spill_dir: str | None = None
    ) -> None:
        self._outage = Outage(self.uri, max_outage_seconds)
        self._spill = spill_folder(self.uri, spill_dir)
        self._writer = (
            BackgroundWriter(self._outage, self._perform, self._spill, self._probe)
            if asynchronous
            else None
        )

    def _probe(self) -> None:
        """A light call: whether the store answers at all."""
        self.client.search_experiments(max_results=1)

    def _deliver_spilled(self) -> None:
        """What earlier processes on this store could not store (src/tracking/journal.py)."""
        for journal in orphans(self._spill, wait=self._outage.max_seconds):
            deliver(journal, self._outage, self._perform, self._probe)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store call made now, retried through an outage."""
        return self._outage.call(fn, *args, **kwargs)

    def _write(self, op: str, *args: Any) -> None:
        record = [op, list(args)]
        if self._writer is None:
            self._call(self._perform, record)
        else:
            self._writer.submit(record)

    def _perform(self, record: list) -> None:
        op, args = record
        getattr(self, f"_op_{op}")(*args)

    def flush(self, wait_outage: bool = True) -> None:
        """Wait until everything written so far is in the store (see BackgroundWriter.flush)."""
        if self._writer is not None:
            self._writer.flush(wait_outage)

    def finish(self) -> None:
        """This process ends: what is stored leaves the journal; what is not waits there for
        the next tracker on this store (which waits for this process to end first)."""
        if self._writer is None:
            return
        self._writer.finishing()
        try:
            self._writer.flush(wait_outage=False)
        except Exception as exc:  # refused for good; the job was told
            log.warning("not stored: %s", str(exc)[:300])
        finally:
            self._writer.close()

    @property
    def unavailable(self) -> bool:
        """Kept for callers of an earlier version: records are never refused for an outage."""
        return False

    @property
    def waiting(self) -> int:
        """Records handed over and not yet in the store."""
        return self._writer.waiting if self._writer is not None else 0

    def watch(self, told: Callable[[int], None]) -> Callable[[], None]:
        """See BackgroundWriter.watch."""
        return self._writer.watch(told) if self._writer is not None else lambda: None

    def _real(self, run_id: str) -> str: ...  # src/tracking/creation.py

    # --- runs -----------------------------------------------------------------------------------

    def end_run(self, run_id: str, status: str, tags: Mapping[str, str] | None = None) -> None:
        if tags:
            self.set_tags(run_id, tags)
        self._write("end", run_id, status, now())

    def _op_end(self, run_id: str, status: str, end_time: int) -> None:
        self.client.set_terminated(self._real(run_id), status=status, end_time=end_time)

    # --- what runs hold -------------------------------------------------------------------------

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        items = [[k, as_param(v)] for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per call
            self._write("batch", run_id, [], items[i : i + 100], [])

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._write("batch", run_id, [], [], [list(kv) for kv in str_dict(tags).items()])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        """Several metrics at one step in one write (NaN/inf are kept). The timestamp is taken
        now, so a retried write is recognised by the store instead of duplicated."""
        at = now()
        self._write("batch", run_id, [[k, float(v), at, step] for k, v in metrics.items()], [], [])

    def _op_batch(self, run_id: str, metrics: list, params: list, tags: list) -> None:
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(
            self._real(run_id),
            metrics=[Metric(*m) for m in metrics],
            params=[Param(*p) for p in params],
            tags=[RunTag(*t) for t in tags],
            synchronous=True,
        )

    def log_file(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        """Upload a file. In the background, a link to it is kept in the journal until it is
        uploaded, so the caller may delete its own copy at once."""
        if self._writer is None:
            self._call(self.client.log_artifact, self._real(run_id), str(path), artifact_path)
            return
        self._write(UPLOAD, run_id, str(path), artifact_path)

    def _op_upload(self, run_id: str, kept: str, artifact_path: str | None) -> None:
        self.client.log_artifact(self._real(run_id), kept, artifact_path)
        shutil.rmtree(Path(kept).parent, ignore_errors=True)

    def log_picture(
        self, run_id: str, picture: str, data: Mapping[str, Any], file_name: str
    ) -> None:
        """A picture of src/pictures (`PICTURES`) drawn here from plain `data`, then uploaded: a
        job hands the data to its tracking process and goes on, without importing matplotlib or
        waiting for it."""
        from src import pictures

        with _DRAWING, tempfile.TemporaryDirectory() as tmp:
            path = pictures.draw(picture, data, Path(tmp) / file_name)
            self.log_file(run_id, path)  # staged (linked) when asynchronous: tmp may go

    def log_inputs(self, run_id: str, inputs: list[dict]) -> None:
        """Dataset inputs (src/tracking/lineage.py `dataset_inputs`)."""
        self._write("inputs", run_id, inputs)

    def _op_inputs(self, run_id: str, inputs: list[dict]) -> None:
        from src.tracking.lineage import as_entities

        self.client.log_inputs(self._real(run_id), datasets=as_entities(inputs))

    def log_json(self, run_id: str, obj: Any, artifact_file: str) -> None:
        self._write("dict", run_id, obj, artifact_file)

    def _op_dict(self, run_id: str, obj: Any, artifact_file: str) -> None:
        self.client.log_dict(self._real(run_id), obj, artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._write("text", run_id, text, artifact_file)

    def _op_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.client.log_text(self._real(run_id), text, artifact_file)
