"""The live progress display: a line per job, redrawn on a terminal, plain lines otherwise."""

import io
import json

import pytest

from src.reporting import display as rendering
from src.search import progress

# The display's own thread would draw at moments of its choosing; this interval keeps it
# waiting until `stop`, so every drawing is one the test asked for.
NEVER = 3600.0


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _job(folder, name, trials=3, epochs=2):
    folder.mkdir(parents=True)
    job = progress.JobProgress(folder, name, trials, epochs)
    job.trial_started("0", 1)
    job.epoch_ended(0)
    return job


def test_job_progress_file_tracks_trials_and_epochs(tmp_path):
    job = _job(tmp_path / "0", "loss=sparse")
    job.epoch_ended(1)
    job.trial_ended(failed=False, best_val_accuracy=0.87, best="hidden_units=64")
    state = json.loads((tmp_path / "0" / progress.PROGRESS_FILE).read_text())
    assert state["trials_done"] == 1 and state["epoch"] == 2 and state["epochs_run"] == 2
    line = rendering.describe(state)
    assert line.startswith("trial  1/3") and "best val_accuracy 0.8700 (hidden_units=64)" in line
    assert "left" in line


def test_the_repeats_after_the_search_show_as_such(tmp_path):
    job = _job(tmp_path / "0", "loss=sparse", trials=1)
    job.trial_ended(failed=False, best_val_accuracy=0.87, best="hidden_units=64")
    job.repeat_started(2, 5)
    job.epoch_ended(0)
    line = rendering.describe(json.loads((tmp_path / "0" / progress.PROGRESS_FILE).read_text()))
    assert line.startswith("repeat 2/5  epoch 1/2") and "left" not in line
    assert "best val_accuracy 0.8700" in line


def test_plain_lines_when_not_a_terminal(tmp_path):
    _job(tmp_path / "0", "loss=sparse")
    second = _job(tmp_path / "1", "loss=categorical")
    out = io.StringIO()
    display = rendering.Display("auto", stream=out, interval=NEVER)
    assert display.mode == "lines"
    display.watch(tmp_path)
    display.render()
    display.render()  # nothing changed: no new lines
    assert len(out.getvalue().splitlines()) == 2
    second.trial_ended(failed=True, best_val_accuracy=None, best="")
    display.stop()  # draws the final state once
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith("[progress] ") for line in lines)
    assert "1 failed" in lines[-1] and "\x1b[" not in out.getvalue()


def test_live_redraws_one_line_per_job_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")  # rich redraws on any terminal but a dumb one
    _job(tmp_path / "0", "loss=sparse")
    _job(tmp_path / "1", "loss=categorical")
    out = Terminal()
    display = rendering.Display("auto", stream=out, interval=NEVER)
    assert display.live
    display.watch(tmp_path)
    display.render()
    display.render()
    display.stop()  # a third, final drawing
    text = out.getvalue()
    # Every drawing shows both jobs once; each one after the first backs up over the two job
    # lines first (rich: erase, one line up, erase), so the lines are redrawn in place.
    drawings = text.count("loss=sparse")
    assert drawings == text.count("loss=categorical") >= 3
    assert text.count("\x1b[2K\x1b[1A\x1b[2K") == drawings - 1


def test_off_is_quiet(tmp_path):
    _job(tmp_path / "0", "loss=sparse")
    out = Terminal()
    display = rendering.Display("off", stream=out)
    display.watch(tmp_path)
    assert display._thread is None  # nothing runs to draw
    display.stop()
    assert out.getvalue() == ""


def _state(**changes) -> dict:
    """A job 100 s in, 10 trial-epochs trained (10 s each): 12 trials x 10 epochs planned."""
    now = 1000.0
    state = {
        "started": now - 100,
        "epochs_run": 10,
        "max_trials": 12,
        "epochs": 10,
        "trials_done": 2,
        "trial_epochs": 3,
        "ended_here": 0,
        "epochs_ended_here": 0,
    }
    return {**state, **changes}


def test_time_left_counts_the_trials_left_as_long_as_those_that_ended():
    # As planned: the trial in progress has 7 epochs left, 9 trials 10 each: 97 x 10 s.
    assert rendering.time_left(_state(), 1000.0) == (970.0, False)
    # Early stopping or pruning ended the 2 trials after 3 epochs each: the others will be
    # about as short.
    shorter = _state(ended_here=2, epochs_ended_here=6, trial_epochs=1)
    assert rendering.time_left(shorter, 1000.0) == ((2 + 9 * 3) * 10.0, False)


def test_time_left_under_a_budget_is_bounded_by_it():
    """No trial starts after tuner.max_minutes: what is left is the budget's rest and the trial
    then in progress, whichever end comes first, and the line says "budget"."""
    for now in (1000.0, 1030.0, 1100.0, 1300.0):
        state = _state(deadline=1060.0)
        seconds, budget = rendering.time_left(state, now)
        per_epoch = (now - state["started"]) / state["epochs_run"]
        # 97 trial-epochs are left by the plan; the budget leaves its rest and the 7 epochs of
        # the trial in progress, fewer in every case here.
        assert budget is True
        assert seconds == pytest.approx(max(1060.0 - now, 0) + 7 * per_epoch)
        assert seconds < 97 * per_epoch
        assert "left (budget)" in rendering.describe(
            {**state, "trial_number": 3, "epoch": 3, "finished": False, "best_val_accuracy": None},
            now,
        )
    # A budget that ends after the trials do does not decide.
    assert rendering.time_left(_state(deadline=10_000.0), 1000.0) == (970.0, False)


def test_hyperband_plan_is_the_trials_its_oracle_runs(tmp_path):
    """keras-tuner's Hyperband runs its own number of trials: its plan (the progress line's
    trials and trial-epochs) is what the oracle then creates, each from its initial epoch."""
    import keras
    import keras_tuner as kt

    from src.search import kt_private

    def build(hp):
        hp.Float("x", 0.0, 1.0)
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])

    tuner = kt.Hyperband(
        build, objective="val_accuracy", max_epochs=9, factor=3, directory=tmp_path, seed=1
    )
    oracle, trials, epochs = tuner.oracle, 0, 0
    while (trial := oracle.create_trial("t")).status == "RUNNING":
        values = trial.hyperparameters.values
        trials, epochs = trials + 1, epochs + values["tuner/epochs"] - values["tuner/initial_epoch"]
        oracle.update_trial(trial.trial_id, {"val_accuracy": values["x"]})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert kt_private.hyperband_plan(oracle) == (trials, epochs)
    assert trials > 9  # several brackets: not one per epoch
