"""The layers' arithmetic: float32, or bfloat16 where the CPU computes it natively.

`train.precision=bfloat16` builds a model's hidden layers under Keras' `mixed_bfloat16` policy:
they compute in bfloat16 while their weights stay float32, and the softmax layer computes in
float32. Everything that judges or keeps a model sees it in float32: the validation and test
scores (`as_float32`: the same weights in a float32 copy of the model), and every saved model
(`float32_config`: the file records float32 layers), so a saved model loads and predicts the
same on any machine, and a trial's reported score is what its saved model scores.

Measured on this project's 2-core CPU (avx512_bf16), 2 epochs with both cores: two convolutions
per block 33.8 s -> 19.5 s in bfloat16, one per block 21.0 s -> 19.4 s, the same training accuracy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, never in the entry process or for a refused config.

MIXED = "mixed_bfloat16"
# CPU flags (Linux's /proc/cpuinfo) of native bfloat16 arithmetic: AVX-512's dot products, AMX.
BFLOAT16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first CPU's feature flags (empty where the file does not exist: not Linux)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def resolve(precision: str, flags: frozenset[str] | None = None, onednn: bool = True) -> str:
    """`auto` as this machine's choice (bfloat16 with native support, else float32); any other
    value as given. TensorFlow's bfloat16 kernels on a CPU are oneDNN's: without oneDNN
    (`train.onednn=false`), `auto` is float32."""
    if str(precision) != "auto":
        return str(precision)
    flags = cpu_flags() if flags is None else flags
    return "bfloat16" if onednn and flags & BFLOAT16_FLAGS else "float32"


@contextmanager
def policy(precision: str) -> Iterator[None]:
    """Layers created inside compute in `precision` (Keras' global dtype policy, restored after)."""
    import keras

    if str(precision) != "bfloat16":
        yield
        return
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(MIXED)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def float32_config(config: Any) -> Any:
    """A model's config (as `get_config` or a `.keras` file's config.json hold it) with every
    mixed-precision layer recorded as float32: the same weights, computed in float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and isinstance(config.get("config"), dict):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: float32_config(value) for key, value in config.items()}
    if isinstance(config, list):
        return [float32_config(value) for value in config]
    return "float32" if config == MIXED else config


def is_float32(model) -> bool:
    return all(layer.dtype_policy.name == "float32" for layer in model.layers)


def as_float32(model):
    """`model` itself if it computes in float32, else a float32 copy holding its weights (and
    its loss, for scoring)."""
    if is_float32(model):
        return model
    import keras

    copy = keras.Model.from_config(float32_config(model.get_config()))
    copy.set_weights(model.get_weights())
    copy.compile(loss=model.loss)
    return copy


class Float32View:
    """A float32 copy of a mixed-precision model, built once and given its weights on each
    `current()`: the validation of every epoch without building a model each time."""

    def __init__(self, model):
        self.model, self._copy = model, None

    def current(self):
        if is_float32(self.model):
            return self.model
        if self._copy is None:
            self._copy = as_float32(self.model)
        else:
            self._copy.set_weights(self.model.get_weights())
        return self._copy
