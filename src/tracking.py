"""Every MLflow call of the project, behind a small `Tracker`.

Runs are opened and closed by context managers, so a run's final status tells the truth:
FINISHED when its block completed, KILLED when it was interrupted (Ctrl-C, SIGTERM), FAILED
with the reason as a tag when it raised. The client API is used rather than MLflow's fluent
"active run" stack, so nothing leaks from one Hydra job into the next in the same process.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import math
import re
import subprocess
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from src.errors import TrackingError

log = logging.getLogger(__name__)

PARENT_TAG = "mlflow.parentRunId"
RUN_KIND_TAG = "run_kind"  # "job" or "trial"
ERROR_TAG = "error"
# Why a run was KILLED: "interrupt" (Ctrl-C, SIGTERM: handled) or "crash" (kill -9, OOM,
# reboot: found RUNNING by the next start). Only crashes count against a trial's attempts.
KILLED_BY_TAG = "killed_by"
_SQLITE = "sqlite:///"
# SQLite serialises writers; MLflow waits 20 s for the lock, but a read that turns into a write
# can still be refused at once. Parallel jobs retry those writes rather than lose them.
_LOCKED_RETRIES = 8

T = TypeVar("T")


def _retry_when_locked(fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        for attempt in range(_LOCKED_RETRIES):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if "database is locked" not in str(exc) or attempt == _LOCKED_RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    return wrapper


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


def git_state(repo: Path) -> tuple[str, bool | None]:
    """(commit, dirty) of the repository holding the code, or ("unknown", None)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown", None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "experiment"


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    # keras-tuner wraps errors in a traceback text: the last line holds the reason.
    reason = text[-1] if text else exc.__class__.__name__
    return f"{exc.__class__.__name__}: {reason}"[:500]


class Tracker:
    """An MLflow client bound to one store and one experiment."""

    enabled = True

    def __init__(self, uri: str, experiment: str):
        import mlflow
        from mlflow.tracking import MlflowClient

        # MLflow resets its logger on import; its table creation notices are not news.
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        self._mlflow = mlflow
        self.uri = uri
        path = sqlite_path(uri)
        if path is not None:
            path.resolve().parent.mkdir(parents=True, exist_ok=True)
        with _store_init_lock(uri):
            # The client opens (and, for a new store, creates) the database: inside the lock.
            self.client = MlflowClient(tracking_uri=uri)
            self.client.search_experiments(max_results=1)
            self.experiment_id = self._experiment_id(experiment)

    def _experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            return found.experiment_id
        folder = store_dir(self.uri)
        # A SQLite store keeps its artifacts beside its database: the store is one folder.
        location = None if folder is None else (folder / "artifacts" / _slug(name)).as_uri()
        try:
            # MLflow 3's UI opens an experiment on its GenAI trace views unless told it holds
            # training runs: this one opens on its runs, job runs with their trials nested.
            return self.client.create_experiment(
                name,
                artifact_location=location,
                tags={"mlflow.experimentKind": "custom_model_development"},
            )
        except self._mlflow.exceptions.MlflowException:
            # Another process created it between our lookup and our create.
            return self.client.get_experiment_by_name(name).experiment_id

    # --- runs ------------------------------------------------------------------------------

    @contextmanager
    def _lifecycle(self, run_id: str) -> Iterator[str]:
        try:
            yield run_id
        except (KeyboardInterrupt, SystemExit):
            self.end_run(run_id, "KILLED", {KILLED_BY_TAG: "interrupt"})
            raise
        except BaseException as exc:
            # The whole traceback beside the run, the reason in a tag the run list can show.
            self.log_text(run_id, traceback.format_exc(), "error.txt")
            self.end_run(run_id, "FAILED", {ERROR_TAG: _short_reason(exc)})
            raise
        else:
            self.end_run(run_id, "FINISHED")

    @_retry_when_locked
    def end_run(self, run_id: str, status: str, tags: Mapping[str, str] | None = None) -> None:
        for key, value in (tags or {}).items():
            self.client.set_tag(run_id, key, value)
        self.client.set_terminated(run_id, status=status)

    def find_job_run(self, search_key: str, running: bool = False) -> str | None:
        """The most recent job run recorded for this search key (RUNNING only: `running`)."""
        status = " and attributes.status = 'RUNNING'" if running else ""
        runs = self.client.search_runs(
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
        """A job's parent run: a new one, or `resume_run_id` reopened."""
        if resume_run_id is not None:
            _retry_when_locked(self.client.update_run)(resume_run_id, status="RUNNING")
            run_id = resume_run_id
            self.set_tags(run_id, tags)
            # How it stopped last time no longer describes it (`resumed_by_sweep` records that
            # it was resumed); its trial runs keep their own KILLED/FAILED tags.
            stale = self.client.get_run(run_id).data.tags.keys() & {KILLED_BY_TAG, ERROR_TAG}
            for key in stale:
                _retry_when_locked(self.client.delete_tag)(run_id, key)
        else:
            run = _retry_when_locked(self.client.create_run)(
                self.experiment_id, run_name=name, tags={**_str_dict(tags), RUN_KIND_TAG: "job"}
            )
            run_id = run.info.run_id
            self.log_params(run_id, params)
        with self._lifecycle(run_id):
            yield run_id

    @contextmanager
    def trial_run(
        self,
        parent_run_id: str,
        trial_id: str,
        params: Mapping[str, Any],
        tags: Mapping[str, Any] | None = None,
    ) -> Iterator[str]:
        """A trial's run, nested under its job's run."""
        run = _retry_when_locked(self.client.create_run)(
            self.experiment_id,
            run_name=f"trial-{trial_id}",
            tags={
                **_str_dict(tags or {}),
                PARENT_TAG: parent_run_id,
                RUN_KIND_TAG: "trial",
                "trial_id": trial_id,
            },
        )
        self.log_params(run.info.run_id, params)
        with self._lifecycle(run.info.run_id):
            yield run.info.run_id

    def close_orphans(self, parent_run_id: str, tuner_id: str | None = None) -> list[str]:
        """Mark KILLED the trial runs a dead process left RUNNING (only those of one
        distributed worker: `tuner_id`); returns their trial ids."""
        orphans = [
            r
            for r in self.trial_runs(parent_run_id)
            if r.info.status == "RUNNING"
            and (tuner_id is None or r.data.tags.get("tuner_id") == tuner_id)
        ]
        for run in orphans:
            self.end_run(
                run.info.run_id,
                "KILLED",
                {KILLED_BY_TAG: "crash", ERROR_TAG: "the process ended during this trial"},
            )
        return [run.data.tags.get("trial_id", "?") for run in orphans]

    def attempts_by_trial(self, parent_run_id: str) -> dict[str, list]:
        """Earlier runs of each trial id under a job run, oldest first."""
        attempts: dict[str, list] = {}
        for run in sorted(self.trial_runs(parent_run_id), key=lambda r: r.info.start_time):
            attempts.setdefault(run.data.tags.get("trial_id", "?"), []).append(run)
        return attempts

    def download(self, run_id: str, path: str, folder: Path) -> Path:
        """One artifact of a run, downloaded into `folder`."""
        return Path(self.client.download_artifacts(run_id, path, str(folder)))

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        return [(m.step, m.value) for m in self.client.get_metric_history(run_id, key)]

    # --- logging -----------------------------------------------------------------------------

    @_retry_when_locked
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, _as_param(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per call
            self.client.log_batch(run_id, params=items[i : i + 100], synchronous=True)

    @_retry_when_locked
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(
            run_id, tags=[RunTag(k, v) for k, v in _str_dict(tags).items()], synchronous=True
        )

    @_retry_when_locked
    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log several metrics at one step in one synchronous write (NaN/inf are kept)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        self.client.log_batch(run_id, metrics=batch, synchronous=True)

    def log_file(self, run_id: str, path: str | Path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path)

    def log_json(self, run_id: str, obj: Any, artifact_file: str) -> None:
        self.client.log_dict(run_id, obj, artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.client.log_text(run_id, text, artifact_file)

    # --- reading back --------------------------------------------------------------------------

    def trial_runs(self, parent_run_id: str) -> list:
        return self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`{PARENT_TAG}` = '{parent_run_id}'",
            max_results=10000,
        )


def _as_param(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _str_dict(mapping: Mapping[str, Any]) -> dict[str, str]:
    return {k: _as_param(v) for k, v in mapping.items() if v is not None}


# --- the Model Registry (src/export.py) --------------------------------------------------------


def finished_trials(
    uri: str, experiment: str, sweep_id: str | None = None, loss: str | None = None
) -> list[dict]:
    """The FINISHED trial runs of an experiment (of one sweep, of one loss) with what a choice
    needs: parent job, loss, trial id, hyperparameters, best val_accuracy and val_loss.

    Raises:
        TrackingError: the experiment or the sweep does not exist.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise TrackingError(
            f"tracking.experiment: no experiment {experiment!r} in {uri}; run a "
            "sweep first (make sweep) or set tracking.experiment"
        )
    ids = [found.experiment_id]
    jobs = client.search_runs(ids, f"tags.{RUN_KIND_TAG} = 'job'", max_results=10000)
    if sweep_id is not None:
        known = {j.data.tags.get("sweep_id") for j in jobs} - {None}
        jobs = [
            j
            for j in jobs
            if sweep_id in (j.data.tags.get("sweep_id"), j.data.tags.get("resumed_by_sweep"))
        ]
        if not jobs:
            latest = ", ".join(sorted(known)[-3:]) or "none"
            raise TrackingError(
                f"export.sweep_id: no sweep {sweep_id!r} in experiment "
                f"{experiment!r}; recent sweeps: {latest}"
            )
    if loss is not None:
        jobs = [j for j in jobs if j.data.params.get("loss") == loss]
    names = {j.info.run_id: j.info.run_name for j in jobs}
    trials = []
    for run in client.search_runs(
        ids, f"tags.{RUN_KIND_TAG} = 'trial' and attributes.status = 'FINISHED'", max_results=50000
    ):
        parent = run.data.tags.get(PARENT_TAG)
        metrics = run.data.metrics
        if parent not in names or "best_val_accuracy" not in metrics:
            continue
        trials.append(
            {
                "run_id": run.info.run_id,
                "job": names[parent],
                "loss": run.data.params.get("loss"),
                "trial_id": run.data.tags.get("trial_id", "?"),
                "params": {
                    k: _parse(run.data.params[k])
                    for k in ("hidden_units", "layers", "dropout", "optimizer", "learning_rate")
                    if k in run.data.params
                },
                "val_accuracy": metrics["best_val_accuracy"],
                "val_loss": metrics.get("best_val_loss", metrics.get("val_loss", float("inf"))),
                "started": run.info.start_time,
            }
        )
    return trials


def _parse(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def download_artifact(uri: str, run_id: str, path: str, folder: Path) -> Path:
    from mlflow.tracking import MlflowClient

    folder.mkdir(parents=True, exist_ok=True)
    return Path(MlflowClient(tracking_uri=uri).download_artifacts(run_id, path, str(folder)))


def job_of(uri: str, trial_run_id: str) -> dict:
    """The params and sweep id of the job run a trial run belongs to."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    job = client.get_run(client.get_run(trial_run_id).data.tags[PARENT_TAG])
    return {
        "params": dict(job.data.params),
        "sweep_id": job.data.tags.get("sweep_id"),
        "run_id": job.info.run_id,
    }


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    alias: str
    created: bool  # False: this trial was registered before, and is reused


def register_champion(
    uri: str,
    experiment: str,
    name: str,
    alias: str,
    trial_run_id: str,
    model,
    input_example,
    tags: Mapping[str, Any],
) -> ModelVersion:
    """Register the trial's model under `name` with `alias`, once per trial run.

    The model is logged as an MLflow model taking raw uint8 images (signature and input example
    included), so `mlflow.pyfunc.load_model("models:/<name>@<alias>")` predicts them directly.
    """
    import mlflow
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    earlier = client.search_model_versions(
        f"name = '{name}' and tags.trial_run_id = '{trial_run_id}'"
    )
    if earlier:
        version, created = earlier[0].version, False
    else:
        mlflow.set_tracking_uri(uri)
        experiment_id = client.get_experiment_by_name(experiment).experiment_id
        # A LoggedModel whose source is the trial run: the UI links model and trial both ways.
        logged = mlflow.initialize_logged_model(
            name="champion",
            source_run_id=trial_run_id,
            tags={"trial_run_id": trial_run_id},
            experiment_id=experiment_id,
        )
        try:
            signature = infer_signature(input_example, model.predict(input_example, verbose=0))
            mlflow.tensorflow.log_model(
                model,
                name="champion",
                model_id=logged.model_id,
                signature=signature,
                input_example=input_example,
                pip_requirements=_requirements(),
            )
            mlflow.finalize_logged_model(logged.model_id, "READY")
        except BaseException:
            mlflow.finalize_logged_model(logged.model_id, "FAILED")
            raise
        registered = mlflow.register_model(f"models:/{logged.model_id}", name)
        version, created = registered.version, True
        for key, value in {"trial_run_id": trial_run_id, **tags}.items():
            client.set_model_version_tag(name, version, key, _as_param(value))
        if not client.get_registered_model(name).description:
            client.update_registered_model(
                name, "Softmax classifier of raw 28x28 uint8 images, chosen by validation accuracy"
            )
    client.set_registered_model_alias(name, alias, version)
    return ModelVersion(name, str(version), alias, created)


def _requirements() -> list[str]:
    """What loading the model needs, pinned to what trained it (no slow inference per export)."""
    from importlib import metadata

    pins = []
    for dist in ("tensorflow-cpu", "tensorflow", "keras", "numpy"):
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


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


def log_files_to_runs(uri: str, run_ids: list[str], files: list[Path]) -> None:
    """Attach the same files to several runs of one store (a sweep's closing summary)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    for run_id in run_ids:
        for path in files:
            _retry_when_locked(client.log_artifact)(run_id, str(path))
