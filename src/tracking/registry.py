"""The Model Registry: the champion logged as an MLflow model and registered under an alias."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from src.tracking.store import as_param

# Imported inside functions: MLflow and SQLAlchemy load in the tracking process only, where a
# store is written or read.


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
            client.set_model_version_tag(name, version, key, as_param(value))
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


def load_champion(uri: str, name: str, alias: str = "champion"):
    """The registered model `name@alias` as a Keras model (raw uint8 images in, class
    probabilities out)."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow.tensorflow.load_model(f"models:/{name}@{alias}")
