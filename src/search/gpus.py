"""One trial per GPU: `distributed.gpus` resolved to each local worker's device.

`distributed.gpus=[0,1]` (or `all`: every GPU `nvidia-smi -L` lists) gives worker i the i-th
device alone, through `CUDA_VISIBLE_DEVICES` in its environment; the workers are as many as the
devices unless `distributed.workers` says fewer, and more workers than devices are refused (two
trials would share a GPU). A worker tags its trial runs `gpu=<id>` (src/job/worker.py).
"""

from __future__ import annotations

import shutil
import subprocess

from src.config.schema import DistributedConfig
from src.errors import DistributedError

GPU_ENV = "CUDA_VISIBLE_DEVICES"  # what a worker's TensorFlow sees


def machine_gpus() -> list[str]:
    """This machine's GPUs as `nvidia-smi -L` lists them (none without nvidia-smi)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(listed.splitlines()) if line.startswith("GPU ")]


def resolve(d: DistributedConfig) -> list[str]:
    """The local workers' devices, one per worker (empty: no GPU assignment). Raises a
    DistributedError naming the field and the fix."""
    if d.gpus is None:
        return []
    if d.gpus == "all":
        devices = machine_gpus()
        if not devices:
            raise DistributedError(
                "distributed.gpus: all, but nvidia-smi lists no GPU on this machine; "
                "list the device ids (distributed.gpus=[0,1]) or unset it"
            )
    elif isinstance(d.gpus, list | tuple) and d.gpus and all(_is_id(g) for g in d.gpus):
        devices = [str(g) for g in d.gpus]
        if len(set(devices)) < len(devices):
            raise DistributedError(f"distributed.gpus: {d.gpus} lists a device twice")
    else:
        raise DistributedError(
            f"distributed.gpus: got {d.gpus!r}; use a list of device ids, e.g. "
            "distributed.gpus=[0,1], or all"
        )
    if d.workers > len(devices):
        raise DistributedError(
            f"distributed.workers: {d.workers} workers for {len(devices)} GPU(s) "
            f"({','.join(devices)}); one trial per GPU: use at most {len(devices)}"
        )
    return devices[: d.workers or len(devices)]


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
