"""The trials an export chooses from (`Candidate`, one per FINISHED trial run), their ranking on
validation alone, and the leaderboard it prints."""

from __future__ import annotations

from dataclasses import dataclass, field

from src.model.classifier import OBJECTIVE


@dataclass
class Candidate:
    run_id: str
    job: str
    loss: str
    trial_id: str
    params: dict
    val_accuracy: float
    val_loss: float
    started: int  # the run's start time, last tie-breaker
    searched: list[str] = field(default_factory=list)  # what the trial's job varied
    best_epoch: int = 0  # the epoch (from 0) its checkpoint comes from
    precision: str = "float32"  # what its layers computed in while it trained
    test_accuracy: float | None = None
    latency_ms: float | None = None  # median ms to classify one image (src/model/cost.py)
    n_parameters: float | None = None
    latency_threads: int | None = None  # the threads its latency was measured on


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: highest val_accuracy; ties: lower val_loss, then the earlier run (a stable
    choice). Test metrics play no part."""
    return sorted(candidates, key=lambda c: (-c.val_accuracy, c.val_loss, c.started))


def leaderboard(candidates: list[Candidate], top: int) -> str:
    """The top candidates, one line each, with the hyperparameters their jobs searched."""
    shown = candidates[:top]
    names = list(dict.fromkeys(name for c in shown for name in c.searched))
    head = ["rank", "job", "trial", *names, OBJECTIVE, "val_loss", "test_acc"]
    table = [head]
    for position, c in enumerate(shown, 1):
        test = "-" if c.test_accuracy is None else f"{c.test_accuracy:.4f}"
        values = [_short(c.params.get(name, "-")) for name in names]
        table.append(
            [
                str(position),
                c.job[:24],
                c.trial_id,
                *values,
                f"{c.val_accuracy:.4f}",
                f"{c.val_loss:.4f}",
                test,
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 1 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    )


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
