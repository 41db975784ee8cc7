"""Everything the project records in MLflow, and reads back from it. All MLflow calls live here.

- `store`: where the store is, whether it can be used, writing to it safely;
- `runs`, `lifecycle`: the `Tracker` that opens, logs to and closes job runs and their trial and
  repeat runs;
- `remote`, `service`: the same `Tracker` in a process of its own (what a job uses); `shared`:
  one such process for a whole command, the closing summary's stores included;
- `writes`, `background`: what it writes, off the training thread and through outages;
- `disabled`: the same interface recording nothing (`tracking=none`);
- `queries`: reading finished trials back (export);
- `registry`: the Model Registry;
- `provenance`: the git commit behind a run;
- `credentials`: no password in a URI, shown redacted;
- `access`: whether the login in the environment may write to an authenticated server;
- `lineage`: MLflow's own conventions: source tags, dataset inputs, system metrics.
"""

from src.tracking.access import check_write_access
from src.tracking.addresses import (
    UI_PORT,
    experiment_address,
    model_address,
    ui_base,
    where_to_look,
)
from src.tracking.creation import PENDING
from src.tracking.credentials import redact, refuse_secret_in_uri, refuse_secrets_in_args
from src.tracking.disabled import NullTracker
from src.tracking.lineage import dataset_inputs, log_dataset, source_tags, system_metrics
from src.tracking.outage import StoreUnavailable
from src.tracking.provenance import git_state
from src.tracking.queries import (
    download_artifact,
    experiment_id_of,
    finished_refit,
    finished_trials,
    job_of,
)
from src.tracking.recorder import Recorder
from src.tracking.registry import ModelVersion, register_champion
from src.tracking.remote import RemoteTracker
from src.tracking.runs import Tracker
from src.tracking.store import (
    ERROR_TAG,
    KILLED_BY_TAG,
    PARENT_TAG,
    RUN_KIND_TAG,
    check_reachable,
    sqlite_path,
    store_dir,
)

__all__ = [
    "ERROR_TAG",
    "KILLED_BY_TAG",
    "PARENT_TAG",
    "PENDING",
    "RUN_KIND_TAG",
    "UI_PORT",
    "ModelVersion",
    "NullTracker",
    "Recorder",
    "RemoteTracker",
    "StoreUnavailable",
    "Tracker",
    "check_reachable",
    "check_write_access",
    "dataset_inputs",
    "download_artifact",
    "experiment_address",
    "experiment_id_of",
    "finished_refit",
    "finished_trials",
    "git_state",
    "job_of",
    "log_dataset",
    "model_address",
    "redact",
    "refuse_secret_in_uri",
    "refuse_secrets_in_args",
    "register_champion",
    "source_tags",
    "sqlite_path",
    "store_dir",
    "system_metrics",
    "ui_base",
    "where_to_look",
]
