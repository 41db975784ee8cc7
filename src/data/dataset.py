"""The images a job trains, validates and tests on: a seeded validation split carved from the
training images only; the test images untouched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from src.data.sources import SPECS, load_raw


@dataclass
class Dataset:
    """Images stay raw uint8 (the model rescales); labels stay integer class ids."""

    name: str
    class_names: tuple[str, ...]
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    # What each split is, as a short digest per MLflow context (training, validation, test):
    # the files' content hashes plus how the split was carved. Recorded as dataset inputs.
    digests: dict[str, str] = field(default_factory=dict)
    url: str = ""
    _one_hot: dict = field(default_factory=dict, repr=False)

    def labels(self, split: str, one_hot: bool) -> np.ndarray:
        """Integer labels of `split`, or one-hot float32 ones made from the same array."""
        y = getattr(self, f"y_{split}")
        if not one_hot:
            return y
        if split not in self._one_hot:
            self._one_hot[split] = np.eye(len(self.class_names), dtype="float32")[y]
        return self._one_hot[split]


def split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/validation indices over the first `n` training images."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = round(n * val_fraction)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def load(
    name: str,
    seed: int,
    limit: int | None = None,
    val_fraction: float = 0.1,
    data_dir: str | None = None,
    system_dir: str | None = None,
    url: str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
) -> Dataset:
    """The data set with a validation split carved from its training images only.

    The test images are returned untouched; they are only ever used to report the accuracy of a
    model already chosen on validation accuracy.
    """
    (x, y), (x_test, y_test), source = load_raw(name, data_dir, system_dir, url)
    n = len(x) if limit is None else min(limit, len(x))
    train_idx, val_idx = split(n, val_fraction, seed)
    return Dataset(
        name=name,
        class_names=SPECS[name].class_names,
        source=source,
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_val=x[val_idx],
        y_val=y[val_idx],
        x_test=x_test,
        y_test=y_test,
        digests=split_digests(name, n, val_fraction, seed),
        url=url,
    )


def split_digests(name: str, limit: int, val_fraction: float, seed: int) -> dict:
    """A 12-hex digest per split: the same files split the same way give the same digest on any
    machine (the files were verified against these hashes before loading)."""
    files = ",".join(f"{n}:{h}" for n, h in sorted(SPECS[name].files.items()))
    carved = f"limit={limit},val_fraction={val_fraction},seed={seed}"
    splits = {"training": carved, "validation": carved, "test": "all"}
    return {
        context: hashlib.sha256(f"{files}|{context}|{how}".encode()).hexdigest()[:12]
        for context, how in splits.items()
    }


def load_from_config(data_cfg, seed: int) -> Dataset:
    """`load` with the fields of the `data` config section."""
    return load(
        data_cfg.name,
        seed,
        data_cfg.limit,
        data_cfg.val_fraction,
        data_cfg.dir,
        data_cfg.system_dir,
        data_cfg.url,
    )
