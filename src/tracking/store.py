"""Where the MLflow store is, whether it can be used, and writing to it safely: SQLite paths,
the reachability check, the store-creation lock, value formatting.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import re
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from src.errors import TrackingError

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read.

log = logging.getLogger(__name__)

PARENT_TAG = "mlflow.parentRunId"
RUN_KIND_TAG = "run_kind"  # "job", "trial", "repeat" or "refit"
ERROR_TAG = "error"
# Why a run was KILLED: "interrupt" (Ctrl-C, SIGTERM: handled) or "crash" (kill -9, OOM,
# reboot: found RUNNING by the next start). Only crashes count against a trial's attempts.
KILLED_BY_TAG = "killed_by"
_SQLITE = "sqlite:///"


@contextmanager
def _store_init_lock(uri: str) -> Iterator[None]:
    """MLflow creates a SQLite store's tables without a lock: processes opening a brand-new
    store at once can crash. Serialise that first contact through a lock file beside it."""
    path = sqlite_path(uri)
    if path is None:
        yield
        return
    lock = path.resolve().with_name(path.name + ".init-lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI (relative to the working folder), else None."""
    return Path(uri[len(_SQLITE) :]) if uri.startswith(_SQLITE) else None


def store_dir(uri: str) -> Path | None:
    """The folder that holds a SQLite store: its database, artifacts and tuner state."""
    path = sqlite_path(uri)
    return None if path is None else path.resolve().parent


def check_reachable(uri: str, must_exist: bool = False) -> None:
    """Fail fast, before any training, when the tracking store cannot be used.

    `must_exist`: for commands that only read a store (export), a missing SQLite file is an
    error rather than something to create.

    Raises:
        TrackingError: naming `tracking.uri` and what to do.
    """
    path = sqlite_path(uri)
    if path is not None and must_exist and not path.is_file():
        raise TrackingError(
            f"tracking.uri: no MLflow store at {path}; run a sweep first (make sweep) "
            "or point tracking.uri at an existing store"
        )
    if path is not None:
        folder = path.resolve().parent
        probe = folder
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir() or not _writable(probe):
            raise TrackingError(
                f"tracking.uri: cannot create the SQLite store in {folder} "
                "(not writable); point tracking.uri at a writable folder"
            )
        return
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(
                f"tracking.uri: cannot reach the MLflow server at {uri} "
                f"({reason}); start it (mlflow server ...) or use "
                "sqlite:///mlruns/mlflow.db"
            ) from None
        return
    raise TrackingError(
        f"tracking.uri: {uri!r} is neither sqlite:///path/to/mlflow.db nor "
        "an http(s):// tracking server"
    )


def _writable(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "experiment"


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    # keras-tuner wraps errors in a traceback text: the last line holds the reason.
    reason = text[-1] if text else exc.__class__.__name__
    return f"{exc.__class__.__name__}: {reason}"[:500]


def as_param(value: Any) -> str:
    """A param or tag value as the store records it: floats by `repr` (every digit), lists
    and mappings as sorted JSON, the rest as text."""
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def str_dict(mapping: Mapping[str, Any]) -> dict[str, str]:
    return {k: as_param(v) for k, v in mapping.items() if v is not None}


def experiment_id(client, name: str, uri: str) -> str:
    """The id of experiment `name`, created (or restored) if need be."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    folder = store_dir(uri)
    # A SQLite store keeps its artifacts beside its database: the store is one folder.
    location = None if folder is None else (folder / "artifacts" / _slug(name)).as_uri()
    try:
        # MLflow 3's UI opens an experiment on its GenAI trace views unless told it holds
        # training runs: this one opens on its runs, job runs with their trials nested.
        return client.create_experiment(
            name,
            artifact_location=location,
            tags={"mlflow.experimentKind": "custom_model_development"},
        )
    except MlflowException:  # another process created it between our lookup and our create
        return client.get_experiment_by_name(name).experiment_id


def http_retries_off(uri: str) -> None:
    """For a tracking server, leave retrying to the tracker (src/tracking/background.py).

    MLflow retries a failed request itself, backing off exponentially (2, 4, 8 ... 64 s): after
    a 25 s outage, training stood still for a minute, waiting out a back-off long after the
    server was back. The tracker retries at a steady pace instead, for at most
    tracking.max_outage_seconds. Values set in the environment are kept.
    """
    if uri.startswith(("http://", "https://")):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
