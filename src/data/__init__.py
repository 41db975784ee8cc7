"""The data set: its files found and verified (`sources`), split into train/validation/test
(`dataset`). `python -m src.data` fetches, verifies and describes it."""

from src.data.dataset import Dataset, load, load_from_config, split, split_digests
from src.data.sources import (
    SPECS,
    DatasetSpec,
    _problems,
    clear_caches,
    ensure_available,
    keras_cache_dir,
    load_raw,
)

__all__ = [
    "SPECS",
    "Dataset",
    "DatasetSpec",
    "_problems",
    "clear_caches",
    "ensure_available",
    "keras_cache_dir",
    "load",
    "load_from_config",
    "load_raw",
    "split",
    "split_digests",
]
