"""`make bench`'s search arms: the CNN's seconds per epoch in float32 and bfloat16, and what
pruning saves against the same search without it.

  cnn-f32, cnn-bf16   one trial of sweep=cnn's network (two convolutions per block, no batch
                      norm, batch 128, both cores) for 2 epochs on all training images; the trial's mean
                      seconds per epoch (the first epoch traces the step)
  prune-none, prune-asha   the same random search of 12 trials x 6 epochs on 18,000 images,
                      without pruning and with ASHA: trial-epochs, wall time, best val_accuracy
"""

from __future__ import annotations

import json
from pathlib import Path

from tools.bench_arms import sweep

CNN = [
    "loss=sparse",
    "model=cnn",
    "search.blocks=2",
    "search.filters=32",
    "search.convs=2",
    "search.batch_norm=false",
    "search.dropout=0.3",
    "search.dense_units=256",
    "search.batch_size=128",
    "search.optimizer=adam",
    "search.learning_rate=0.002",
    "train.threads=0",
    "tuner.max_trials=1",
    "train.epochs=2",
]
PRUNED = ["loss=sparse", "data.limit=20000", "tuner.max_trials=12", "train.epochs=6"]


def _epoch_seconds(work: Path, arm: str) -> float:
    found = sorted((work / arm).rglob("job_status.json"))
    if not found:
        return float("nan")
    result = json.loads(found[0].read_text()).get("result") or {}
    return result.get("mean_epoch_time") or float("nan")


def search_arms(arm, work: Path) -> list[tuple]:
    f32 = arm(sweep(work, "cnn-f32", [*CNN, "train.precision=float32"]))
    bf16 = arm(sweep(work, "cnn-bf16", [*CNN, "train.precision=bfloat16"]))
    none = arm(sweep(work, "prune-none", PRUNED))
    asha = arm(sweep(work, "prune-asha", [*PRUNED, "tuner.pruner=asha"]))
    s32, s16 = _epoch_seconds(work, "cnn-f32"), _epoch_seconds(work, "cnn-bf16")
    return [
        ("CNN s/epoch float32", s32, "(info)", True),
        ("CNN s/epoch bfloat16", s16, "(info)", True),
        ("CNN float32 / bfloat16 s per epoch", s32 / s16, "> 1", s32 > s16),
        ("CNN val_accuracy bfloat16 - float32", bf16.best_val - f32.best_val, "(info)", True),
        (
            "asha / none trial-epochs",
            asha.trial_epochs / none.trial_epochs,
            "< 1",
            asha.trial_epochs < none.trial_epochs,
        ),
        ("asha / none wall time", asha.wall / none.wall, "< 1", asha.wall < none.wall),
        ("best val_accuracy asha - none", asha.best_val - none.best_val, "(info)", True),
    ]
