"""How a trial trains: epochs, seed, the speed settings and their measurements (`train.*`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Precision(StrEnum):
    # bfloat16 where the CPU computes it natively (avx512_bf16 or AMX), else float32.
    auto = "auto"
    float32 = "float32"
    # Keras' mixed_bfloat16: layers compute in bfloat16, weights and the softmax stay float32.
    bfloat16 = "bfloat16"


@dataclass
class TrainConfig:
    # 8 epochs: the MLP's validation accuracy is within ~1 point of its plateau by then,
    # and the default budget (2 jobs x 10 trials x 8 epochs) stays near 10 minutes on 2 cores.
    epochs: int = 8
    # One seed for the split, weight init, shuffling and the tuner's sampling: reruns repeat.
    seed: int = 42
    # Continue an interrupted search of the same config; false starts it afresh.
    resume: bool = True
    # Run 32 batches per call into TensorFlow: per-batch Python overhead dominates for a small
    # MLP (measured 2.4 s -> 1.1 s per epoch at batch 32 on 2 cores, identical results).
    steps_per_execution: int = 32
    # Validation (and test) metrics in batches of 1024: the same numbers in 6 calls instead of 188.
    eval_batch_size: int = 1024
    # XLA-compile the training step: 20-30% faster epochs from 256 hidden units up, slower below
    # ~100 (compile time dominates); results differ only by floating-point rounding.
    jit_compile: bool = False
    # TensorFlow's oneDNN kernels (its x86 default): faster convolutions, slower small matrix
    # products (conf/model/mlp.yaml turns them off). Results differ only by rounding.
    onednn: bool = True
    # TensorFlow threads per job (0: all cores). One: the MLP's small matrix products gain
    # nothing from a second (21.0 s vs 24.9 s for 6 epochs at 64/256/512 units, batch 32), and
    # the other core runs a multirun's other job.
    threads: int = 1
    # Stop a trial after this many epochs without a better val_accuracy (0: off); it keeps its best.
    early_stopping_patience: int = 0
    # The layers' arithmetic: auto chooses bfloat16 where the CPU has it (src/model/precision.py).
    # Weights, the softmax, the scores and every saved model stay float32.
    precision: Precision = Precision.auto
