"""The Python API, for notebooks and scripts: the functions the command line runs.

    from src import api

    sweep = api.run_sweep(["loss=sparse,categorical", "train.epochs=3"], multirun=True)
    trials = sweep.results()                  # a pandas DataFrame, one row per trial
    trials.nlargest(5, "best_val_accuracy")   # the leaderboard

    cfg = api.compose(["train.epochs=1"])     # a config object: change it, then run it here
    cfg.tuner.max_trials = 2
    api.run_sweep(cfg)

    api.load_results("sqlite:///mlruns/mlflow.db", sweep_id="latest")   # an existing store
    api.export(["tracking.uri=..."]); api.load_champion("sqlite:///mlruns/mlflow.db")

Overrides are the command line's (`python -m src.sweep ...`, README "Overriding"), run by the
same command in a child process: Hydra, its launcher and signal handling work as they do from a
terminal. A config object (from `compose`) runs one job in this process through the function
the command's jobs run (`src.job.run.run_job`). Bad input raises `UserError` with the command
line's one-line message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from omegaconf import DictConfig

from src import cli
from src.config import ROOT
from src.errors import JobFailed, UserError
from src.job.context import SWEEP_ID_ENV, JobContext, new_sweep_id
from src.tracking import frames, registry

# Imported inside functions: the API imports in a notebook at once; the job (TensorFlow), the
# export, the comparison and the store's readers load when called.

DEFAULT_URI = "sqlite:///mlruns/mlflow.db"
learning_curves = frames.learning_curves


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The project's config with command-line overrides applied, as Hydra composes it."""
    return cli.compose(list(overrides))


@dataclass(frozen=True)
class Sweep:
    """A sweep that ran: where its runs are, and its id (a tag on each of its job runs)."""

    sweep_id: str
    tracking_uri: str
    experiment: str
    output: str = field(default="", repr=False)  # the command's closing summary (overrides)

    def results(self):
        """Its trials as a DataFrame (`load_results`)."""
        return load_results(self.tracking_uri, self.experiment, self.sweep_id)


def run_sweep(
    config: DictConfig | Sequence[str] = (), multirun: bool = False, name: str = "api"
) -> Sweep:
    """Run a sweep from overrides (`-m` with `multirun`) or one job from a config object
    (`name`: its job run's name). Returns the `Sweep` once it ended.

    Raises:
        UserError: bad input, with the command line's one-line message (nothing ran).
        JobFailed: a job failed or was interrupted (its runs are recorded as such).
    """
    sweep_id = new_sweep_id()
    if isinstance(config, DictConfig):
        from src.job.run import run_job

        run_job(config, JobContext(overrides=(name,), sweep_id=sweep_id))
        return Sweep(sweep_id, config.tracking.uri, config.tracking.experiment)
    overrides = list(config)
    cfg = compose(_single(overrides))  # where the runs go (bad overrides: refused here)
    command = [sys.executable, "-m", "src.sweep", *(["-m"] if multirun else []), *overrides]
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    # In the caller's folder, as from a terminal there: relative paths (tracking.uri's
    # mlruns/, Hydra's outputs/) mean the same to the sweep and to the caller.
    env = {**os.environ, SWEEP_ID_ENV: sweep_id, "PYTHONPATH": path}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        if done.returncode == cli.USER_ERROR_EXIT and errors:
            raise UserError(errors[-1].removeprefix("error: "))
        out = done.stderr.strip().splitlines()
        # The closing summary's count ("sweep: 2 job(s), 1 failed, ..."), else the last line.
        lines = [line for line in out if line.startswith("sweep: ")] or errors or out or ["?"]
        raise JobFailed(
            f"sweep {sweep_id} ended with exit code {done.returncode} ({lines[-1]}); what it "
            f"recorded: load_results({cfg.tracking.uri!r}, sweep_id={sweep_id!r})"
        )
    return Sweep(sweep_id, cfg.tracking.uri, cfg.tracking.experiment, done.stderr)


def _single(overrides: list[str]) -> list[str]:
    """The overrides without a multirun's sweeps (`loss=sparse,categorical`)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return [text for text, o in zip(overrides, parsed, strict=True) if not o.is_sweep_override()]


def load_results(
    tracking_uri: str = DEFAULT_URI, experiment: str = "fashion_mnist", sweep_id: str | None = None
):
    """Every trial of an experiment as a pandas DataFrame, one row per trial: sweep_id, job,
    overrides, trial_id, status, error, the hyperparameters and the job's settings, the metrics
    (`best_val_accuracy`: what trials are ranked by), run ids. `sweep_id`: one sweep's trials
    ("latest": the newest sweep's)."""
    return frames.load_results(tracking_uri, experiment, sweep_id)


@dataclass(frozen=True)
class Comparison:
    """Two sweeps compared (`compare`): the Markdown, its file, its run's address, its figures."""

    text: str
    path: str
    run: str
    figures: dict = field(default_factory=dict)


def compare(
    sweep_a: str,
    sweep_b: str,
    tracking_uri: str = DEFAULT_URI,
    experiment: str = "fashion_mnist",
    folder: str = "outputs/compare",
) -> Comparison:
    """`python -m src.compare SWEEP_A SWEEP_B`: two sweeps (ids, "latest", "latest~1") side by
    side, with a verdict paired by seed where their best jobs have repeats of the same seeds
    (else unpaired, saying so). Written to `<folder>/<A>_vs_<B>/compare.md` and logged to a
    run of its own (`run_kind=comparison`).

    Raises:
        TrackingError: no such store, experiment or sweep (naming the sweeps there are).
    """
    from pathlib import Path

    from src.reporting.comparison import markdown
    from src.tracking.store import check_reachable
    from src.tracking.sweeps import log_comparison, read_sweeps

    check_reachable(tracking_uri, must_exist=True)
    sweeps = read_sweeps(tracking_uri, experiment, [sweep_a, sweep_b])
    text, figures = markdown(sweeps)
    ids = [s["sweep_id"] for s in sweeps]
    out = Path(folder) / "_vs_".join(ids) / "compare.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    run = log_comparison(tracking_uri, experiment, ids, out, figures)
    return Comparison(text, str(out), run, figures)


def export(overrides: Sequence[str] = ()):
    """`python -m src.export [overrides]`: the best trial into the Model Registry and files."""
    from src.runtime import import_tensorflow

    cfg = compose(overrides)  # refused before TensorFlow loads
    import_tensorflow()
    import keras

    from src.serving.champion import export_champion

    keras.utils.disable_interactive_logging()  # MLflow's input-example check would draw bars
    return export_champion(cfg)


def load_champion(tracking_uri: str = DEFAULT_URI, name: str = "fashion_mnist_softmax"):
    """The registered champion as a Keras model: raw uint8 images in, probabilities out."""
    return registry.load_champion(tracking_uri, name)


def load_data(overrides: Sequence[str] = ()):
    """The data set as a job sees it (`data.*`, `train.seed`): a `src.data.Dataset`."""
    from src import data

    cfg = compose(overrides)
    return data.load_from_config(cfg.data, cfg.train.seed)
