"""The best trial -> Model Registry (alias champion) + files.

The winner is the FINISHED trial with the highest `best_val_accuracy` (ties: lower
`best_val_loss`); test metrics are shown, never used to choose. It is logged as an MLflow model
taking raw uint8 28x28 images, registered as a new version (once per winning trial), given the
alias `champion`, and written to `export.dir` as a .keras file, a TensorFlow SavedModel and a
model card.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from src import config, data, tracking
from src.errors import UserError
from src.model import OBJECTIVE
from src.serving.model_card import card_markdown, model_card, per_class_accuracy

log = logging.getLogger("export")


class ExportError(UserError):
    """Nothing to export, or an export that cannot proceed."""


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
    test_accuracy: float | None = None


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: highest val_accuracy; ties: lower val_loss, then the earlier run (a stable
    choice). Test metrics play no part."""
    return sorted(candidates, key=lambda c: (-c.val_accuracy, c.val_loss, c.started))


def leaderboard(candidates: list[Candidate], top: int) -> str:
    rows = [
        f"{'rank':>4}  {'job':<24} {'trial':>5}  {'hidden':>6} {'optimizer':<9} "
        f"{'lr':>9}  {OBJECTIVE:>12} {'val_loss':>8} {'test_acc':>8}"
    ]
    for rank, c in enumerate(candidates[:top], 1):
        test = "-" if c.test_accuracy is None else f"{c.test_accuracy:.4f}"
        rows.append(
            f"{rank:>4}  {c.job[:24]:<24} {c.trial_id:>5}  "
            f"{c.params.get('hidden_units', '?'):>6} {c.params.get('optimizer', '?'):<9} "
            f"{float(c.params.get('learning_rate', 'nan')):>9.3g}  "
            f"{c.val_accuracy:>12.4f} {c.val_loss:>8.4f} {test:>8}"
        )
    return "\n".join(rows)


def evaluate_on_test(model, dataset: data.Dataset, loss: str) -> tuple[float, float]:
    """Test loss and accuracy as a job's results get them, by Keras itself, with the labels the
    model's loss takes (one-hot for categorical, class ids for sparse)."""
    labels = dataset.labels("test", one_hot=loss == "categorical")
    scores = model.evaluate(dataset.x_test, labels, batch_size=1024, verbose=0, return_dict=True)
    return float(scores["loss"]), float(scores["accuracy"])


def run_export(cfg) -> tracking.ModelVersion:
    """Select, evaluate, register and write the winner; prints the leaderboard."""
    import keras

    config.validate(cfg)
    tracking.check_reachable(cfg.tracking.uri, must_exist=True)
    ex = cfg.export
    candidates = [
        Candidate(**row)
        for row in tracking.finished_trials(
            cfg.tracking.uri, cfg.tracking.experiment, ex.sweep_id, ex.loss
        )
    ]
    if not candidates:
        scope = " and ".join(
            filter(
                None,
                [
                    f"sweep {ex.sweep_id}" if ex.sweep_id else "",
                    f"loss {ex.loss}" if ex.loss else "",
                ],
            )
        )
        raise ExportError(
            f"export: no FINISHED trial in experiment {cfg.tracking.experiment!r}"
            f"{' for ' + scope if scope else ''} of {cfg.tracking.uri}; run a "
            "sweep first (make sweep) or check export.sweep_id / export.loss"
        )
    ordered = rank(candidates)
    # The winner's own data set and split, as its job recorded them.
    job = tracking.job_of(cfg.tracking.uri, ordered[0].run_id)
    params = job["params"]
    limit = None if params.get("data_limit", "all") == "all" else int(params["data_limit"])
    dataset = data.load(
        params.get("data", cfg.data.name),
        int(params.get("seed", cfg.train.seed)),
        limit,
        float(params.get("val_fraction", cfg.data.val_fraction)),
        cfg.data.dir,
        cfg.data.system_dir,
        cfg.data.url,
    )
    with tempfile.TemporaryDirectory() as tmp:
        winner = ordered[0]
        for c in ordered[: ex.top]:  # test accuracy to show, never to choose
            path = tracking.download_artifact(
                cfg.tracking.uri, c.run_id, "model.keras", Path(tmp) / c.run_id
            )
            candidate = keras.models.load_model(path)
            predicted = candidate.predict(dataset.x_test, batch_size=1024, verbose=0)
            c.test_accuracy = float((predicted.argmax(1) == dataset.y_test).mean())
            if c is winner:
                model, probs = candidate, predicted
        test_loss, test_accuracy = evaluate_on_test(model, dataset, winner.loss)
        winner.test_accuracy = test_accuracy
        print(leaderboard(ordered, ex.top))
        version = tracking.register_champion(
            cfg.tracking.uri,
            cfg.tracking.experiment,
            ex.name,
            ex.alias,
            winner.run_id,
            model,
            dataset.x_test[:5],
            {
                "job": winner.job,
                "loss": winner.loss,
                **winner.params,
                OBJECTIVE: winner.val_accuracy,
                "test_accuracy": test_accuracy,
            },
        )
        out = Path(ex.dir).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / winner.run_id / "model.keras", out / "model.keras")
        if (out / "saved_model").exists():
            shutil.rmtree(out / "saved_model")
        model.export(str(out / "saved_model"), verbose=False)
        per_class = per_class_accuracy(dataset.y_test, probs.argmax(1), dataset.class_names)
        card = model_card(
            winner,
            dataset,
            per_class,
            test_loss,
            version,
            job,
            out,
        )
        card["files"] = sorted({*card["files"], "model_card.md", "model_card.json"})
        (out / "model_card.json").write_text(json.dumps(card, indent=2))
        (out / "model_card.md").write_text(card_markdown(card))
    print(
        f"\nchampion: models:/{version.name}@{version.alias} (version {version.version}"
        f"{', already registered' if not version.created else ''}); files in {out}"
    )
    return version
