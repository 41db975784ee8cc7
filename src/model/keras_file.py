"""A trained model as the `.keras` file `model.save` writes, put together from a weights file.

A trial's best epoch is on disk already, as keras-tuner's checkpoint: `save_weights` writes the
same state (layers and optimizer) that `model.save` puts in the archive's `model.weights.h5`.
The trial's `.keras` file is that checkpoint beside the model's config and metadata, as Keras
serializes them, instead of loading the checkpoint into the model and writing it out again
(~35 ms a trial alone, more beside training). Our model families hold no assets (lookup
tables and the like): the test compares each family's file with `model.save`'s.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras
from keras.src.saving import saving_lib  # the archive's layout, as Keras writes and reads it

from src.model.precision import as_float32, float32_config


def keras_file(model: keras.Model, weights: Path, path: Path) -> Path:
    """`path`: `model`'s config with the state in `weights` (a `.weights.h5` of this model).
    A Keras without this layout's functions (keras is pinned; see pyproject.toml) loads the
    weights into the model and saves it instead. A mixed-precision model is written as
    float32 layers holding the same weights (src/model/precision.py)."""
    try:
        config, metadata = saving_lib._serialize_model_as_json(model)
    except AttributeError:
        model.load_weights(weights)
        as_float32(model).save(path)
        return path
    config = json.dumps(float32_config(json.loads(config)))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(saving_lib._METADATA_FILENAME, metadata)
        archive.writestr(saving_lib._CONFIG_FILENAME, config)
        archive.write(weights, saving_lib._VARS_FNAME_H5)
    return path
