"""What MLflow's own UI reads to show where a run came from: its source (the Source column:
`mlflow.source.*` tags and the user), its data set (the Datasets column and lineage: dataset
inputs with their split as context) and, on request, its system metrics (CPU, memory).
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.tracking.provenance import git_state
from src.tracking.store import str_dict

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read.

# MLflow's context tag for a dataset input: which split of it a run used.
CONTEXT_TAG = "mlflow.data.context"
# Where a run's code is, as MLflow's Source column shows it (a module, never a machine path).
ENTRY_POINT = "src/sweep.py"
# The project's folder (as src/config/schema.py's ROOT; not imported: the tracking process
# imports nothing of the config).
ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=4)
def source_tags(entry_point: str = ENTRY_POINT) -> dict[str, str]:
    """MLflow's standard source tags: what code (and which commit) produced a run, and who."""
    commit, _ = git_state(ROOT)
    tags = {"mlflow.source.name": entry_point, "mlflow.source.type": "LOCAL"}
    if commit != "unknown":
        tags["mlflow.source.git.commit"] = commit
    with contextlib.suppress(OSError, KeyError):  # no user name: MLflow's "unknown"
        tags["mlflow.user"] = getpass.getuser()
    return tags


def run_tags(tags) -> dict[str, str]:
    """A new run's tags: MLflow's source tags, then the run's own (as strings, None dropped)."""
    return {**source_tags(), **str_dict(tags)}


def dataset_inputs(dataset, contexts=("training", "validation", "test")) -> list[dict]:
    """The data set's splits as MLflow dataset inputs, as plain data (the process that writes
    them builds MLflow's entities: `as_entities`): one per context, each its own digest (MLflow
    links a data set to a run once, so the splits are distinct data sets)."""
    sizes = {"training": len(dataset.x_train), "validation": len(dataset.x_val)}
    sizes["test"] = len(dataset.x_test)
    inputs = []
    for context in contexts:
        profile = {
            "num_rows": sizes[context],
            "image_shape": list(dataset.x_train.shape[1:]),
            "classes": len(dataset.class_names),
            "read_from": dataset.source,
        }
        inputs.append(
            {
                "name": dataset.name,
                "digest": dataset.digests[context],
                # The published files' address: the ones read were verified against their
                # hashes, wherever they were read from (`read_from` in the profile).
                "source_type": "http",
                "source": json.dumps({"url": dataset.url}),
                "profile": json.dumps(profile),
                "context": context,
            }
        )
    return inputs


def as_entities(inputs: list[dict]) -> list:
    """`dataset_inputs` as MLflow's DatasetInput entities."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    return [
        DatasetInput(
            Dataset(**{k: v for k, v in spec.items() if k != "context"}),
            tags=[InputTag(CONTEXT_TAG, spec["context"])],
        )
        for spec in inputs
    ]


def log_dataset(tracker, run_id: str | None, inputs: list) -> None:
    """Record dataset inputs on a run (nothing without a store)."""
    if inputs and run_id is not None and tracker.enabled:
        tracker.log_inputs(run_id, inputs)


@contextmanager
def system_metrics(tracker, run_id: str, enabled: bool) -> Iterator[None]:
    """MLflow's system metrics (CPU, memory, disk, network: `system/...`) sampled while the
    block runs, every MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL seconds (MLflow's default: 10)."""
    if not enabled:
        yield
        return
    from src.tracking.mlflow_private import system_metrics_monitor

    monitor = system_metrics_monitor(run_id, tracker.uri)
    monitor.start()
    try:
        yield
    finally:
        monitor.finish()
