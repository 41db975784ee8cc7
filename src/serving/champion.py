"""Choosing and registering the champion: the best trial -> Model Registry (alias champion) + files.

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
from pathlib import Path

from src import data, tracking
from src.errors import UserError
from src.job.preflight import plan
from src.model import OBJECTIVE, scoring
from src.serving import constraints
from src.serving.candidates import Candidate, leaderboard, rank
from src.serving.model_card import card_markdown, model_card, per_class_accuracy
from src.serving.refit import refit

# Imported inside functions: TensorFlow takes seconds to load: it loads where a model is built
# or trained, after the export's checks.

log = logging.getLogger("export")


class ExportError(UserError):
    """Nothing to export, or an export that cannot proceed."""


def evaluate_on_test(model, dataset: data.Dataset, loss: str, batch_size: int) -> scoring.Scores:
    """Test probabilities, loss and accuracy as a job's results get them
    (src/model/scoring.py), with the labels the model's loss takes (one-hot for categorical,
    class ids for sparse)."""
    labels = dataset.labels("test", one_hot=loss == "categorical")
    return scoring.score(model, dataset.x_test, labels, batch_size)


def export_champion(cfg) -> tracking.ModelVersion:
    """Choose the champion, score it, register it and write its files; prints the leaderboard."""
    cfg = plan(cfg).cfg  # checked and typed
    tracking.check_reachable(cfg.tracking.uri, must_exist=True)
    if cfg.tracking.uri.startswith(("http://", "https://")):  # it registers, tags, may refit
        tracking.check_write_access(cfg.tracking.uri, cfg.tracking.experiment)
    ex, batch = cfg.export, cfg.train.eval_batch_size
    everyone = rank(_candidates(cfg))
    bounds = constraints.limits(ex)
    ordered = constraints.keep_meeting(everyone, bounds) if bounds else everyone
    winner = ordered[0]
    job = tracking.job_of(cfg.tracking.uri, winner.run_id)
    dataset = _winner_data(cfg, job["params"])
    with tempfile.TemporaryDirectory() as tmp:
        model = _score_top(cfg, ordered[: ex.top], dataset, Path(tmp))
        test = evaluate_on_test(model, dataset, winner.loss, batch)
        winner.test_accuracy = test.accuracy
        print(leaderboard(ordered, ex.top))
        chosen_by = _chosen_by(everyone, ordered, bounds)
        print("\n".join(filter(None, [chosen_by, constraints.threads_note(everyone, bounds)])))
        source, refitted = winner.run_id, None
        if ex.refit:
            model, source = refit(cfg, winner, job, dataset)
            test = evaluate_on_test(model, dataset, winner.loss, batch)
            refitted = {
                "run_id": source,
                "epochs": winner.best_epoch + 1,
                "test_accuracy": test.accuracy,
            }
            print(
                f"refit on training + validation images: test_acc {test.accuracy:.4f} "
                f"(searched model {winner.test_accuracy:.4f})"
            )
        version = tracking.register_champion(
            cfg.tracking.uri,
            cfg.tracking.experiment,
            ex.name,
            ex.alias,
            source,
            model,
            dataset.x_test[:5],
            _version_tags(winner, refitted, bounds),
        )
        out = Path(ex.dir).expanduser()
        _write_files(out, model)
        predicted = test.probabilities.argmax(1)  # of the model registered (refitted or not)
        per_class = per_class_accuracy(dataset.y_test, predicted, dataset.class_names)
        card = model_card(winner, dataset, per_class, test.loss, version, job, out, refitted)
        card |= {"chosen_by": chosen_by, "constraints": bounds}
        card["files"] = sorted({*card["files"], "model_card.md", "model_card.json"})
        (out / "model_card.json").write_text(json.dumps(card, indent=2))
        (out / "model_card.md").write_text(card_markdown(card))
    address = tracking.model_address(cfg.tracking.uri, version.name, version.version)
    print(
        f"\nchampion: models:/{version.name}@{version.alias} (version {version.version}"
        f"{', already registered' if not version.created else ''}); files in {out}\n"
        f"in the model registry: {tracking.where_to_look(cfg.tracking.uri, address)}"
    )
    return version


def _candidates(cfg) -> list[Candidate]:
    """The FINISHED trials in scope; none is a one-line error saying where it looked."""
    ex = cfg.export
    rows = tracking.finished_trials(cfg.tracking.uri, cfg.tracking.experiment, ex.sweep_id, ex.loss)
    if rows:
        return [Candidate(**row) for row in rows]
    scope = " and ".join(
        filter(
            None,
            [f"sweep {ex.sweep_id}" if ex.sweep_id else "", f"loss {ex.loss}" if ex.loss else ""],
        )
    )
    raise ExportError(
        f"export: no FINISHED trial in experiment {cfg.tracking.experiment!r}"
        f"{' for ' + scope if scope else ''} of {cfg.tracking.uri}; run a "
        "sweep first (make sweep) or check export.sweep_id / export.loss"
    )


def _chosen_by(everyone: list[Candidate], kept: list[Candidate], bounds: dict) -> str:
    """How the champion was chosen: the constraints that chose it, and whom they passed over."""
    rule = f"highest {OBJECTIVE} (ties: lower val_loss); test metrics not used"
    if not bounds:
        return f"chosen by {rule}"
    text = f"chosen by {rule}, among the {len(kept)} of {len(everyone)} trials with "
    text += constraints.words(bounds)
    if everyone[0] is not kept[0]:
        best = everyone[0]
        text += (
            f"; the best without them, trial {best.trial_id} of {best.job} ({OBJECTIVE} "
            f"{best.val_accuracy:.4f}, {best.latency_ms or float('nan'):.3g} ms, "
            f"{best.n_parameters or 0:,.0f} parameters), does not meet them"
        )
    return text


def _winner_data(cfg, params: dict) -> data.Dataset:
    """The winner's own data set and split, as its job recorded them."""
    limit = None if params.get("data_limit", "all") == "all" else int(params["data_limit"])
    return data.load(
        params.get("data", cfg.data.name),
        int(params.get("seed", cfg.train.seed)),
        limit,
        float(params.get("val_fraction", cfg.data.val_fraction)),
        cfg.data.dir,
        cfg.data.system_dir,
        cfg.data.url,
    )


def _score_top(cfg, top: list[Candidate], dataset: data.Dataset, folder: Path):
    """Each top candidate's test accuracy, to show and never to choose; returns the winner's
    model (the first), its file left in `folder/<run id>/model.keras`."""
    import keras

    winner = None
    for c in top:
        path = tracking.download_artifact(
            cfg.tracking.uri, c.run_id, "model.keras", folder / c.run_id
        )
        candidate = keras.models.load_model(path)
        scores = evaluate_on_test(candidate, dataset, c.loss, cfg.train.eval_batch_size)
        c.test_accuracy = scores.accuracy
        winner = winner or candidate
    return winner


def _version_tags(winner: Candidate, refitted: dict | None, bounds: dict) -> dict:
    tags = {
        "job": winner.job,
        "loss": winner.loss,
        **winner.params,
        OBJECTIVE: winner.val_accuracy,
        "searched_test_accuracy": winner.test_accuracy,
        "test_accuracy": winner.test_accuracy,
    }
    if refitted is not None:
        tags.update(refit_of=winner.run_id, test_accuracy=refitted["test_accuracy"])
    if bounds:
        tags["constraints"] = constraints.words(bounds)
    return tags


def _write_files(out: Path, model) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    if (out / "saved_model").exists():
        shutil.rmtree(out / "saved_model")
    model.export(str(out / "saved_model"), verbose=False)
