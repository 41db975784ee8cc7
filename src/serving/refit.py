"""`export.refit=true`: the winner's hyperparameters retrained on every training image.

The search held out a validation split to choose; once chosen, the same hyperparameters are
trained on training + validation images for the winner's best epoch count, with the same seed.
The refit is an MLflow run of its own under the winner's job, tagged `refit_of` with the
winning trial's run, so the UI shows where the champion came from. A finished refit of the same
trial is reused: exporting again neither retrains nor registers another version. The test set
is only evaluated to report, never to choose.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from src import data, tracking
from src.config.compose import compose
from src.model import build_model, family_class, searchable, split_values
from src.model.feeding import pipelines
from src.model.precision import as_float32

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, only for `export.refit=true`.


def refit(cfg, winner, job: dict, dataset: data.Dataset):
    """The refit model and its run id."""
    import keras

    uri = cfg.tracking.uri
    earlier = tracking.finished_refit(uri, winner.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        if earlier is not None:
            path = tracking.download_artifact(uri, earlier, "model.keras", Path(tmp))
            return keras.models.load_model(path), earlier
        family, training = _arguments(winner, job["params"].get("model", "mlp"))
        seed, epochs = int(job["params"].get("seed", cfg.train.seed)), int(winner.best_epoch) + 1
        keras.utils.set_random_seed(seed)  # as the trial was built
        model = build_model(
            family,
            training,
            winner.loss,
            dataset.x_train.shape[1:],
            len(dataset.class_names),
            cfg.train.steps_per_execution,
            precision=winner.precision,  # the winner's arithmetic
        )
        one_hot = winner.loss == "categorical"
        x = np.concatenate([dataset.x_train, dataset.x_val])
        y = np.concatenate([dataset.labels("train", one_hot), dataset.labels("val", one_hot)])
        tracker = tracking.Tracker(
            uri,
            cfg.tracking.experiment,
            cfg.tracking.asynchronous,
            cfg.tracking.max_outage_seconds,
            cfg.tracking.spill_dir,
        )
        params = {**winner.params, "loss": winner.loss, "epochs": epochs, "seed": seed}
        params["train_images"] = len(x)
        with tracker.refit_run(job["run_id"], winner.run_id, params) as run_id:
            per_epoch = keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: tracker.log_metrics(run_id, logs, step=epoch)
            )
            # The winner's planned length (Hyperband's own per trial) sets its rate schedule.
            planned = int(winner.params.get("tuner/epochs", job["params"].get("epochs", epochs)))
            fit = training.fit_arguments(planned)
            fit["callbacks"].append(per_epoch)
            model.fit(**pipelines({"x": x, "y": y, "epochs": epochs, "verbose": 0, **fit}, seed))
            model = as_float32(model)  # saved and served in float32, whatever it trained in
            model.save(Path(tmp) / "model.keras")
            tracker.log_file(run_id, Path(tmp) / "model.keras")
        tracker.flush()  # the refit is registered from its stored run: its id, its model
        return model, tracker.resolve(run_id) or run_id


def _arguments(winner, model_name: str):
    """The winner's recorded hyperparameters as its family's and the training step's arguments
    (params are text in MLflow: each is read back as its argument's type)."""
    target = compose([f"model={model_name}"]).model._target_
    family = family_class(target)
    values = {}
    for name, argument in searchable(family, model_name).items():
        if name in winner.params:
            raw = winner.params[name]
            values[name] = str(raw) == "True" if argument.type is bool else argument.type(raw)
    return split_values(family, values)
