"""The live progress display: a line per job, redrawn on a terminal, plain lines otherwise."""

import io
import json

from src.reporting import display as rendering
from src.reporting import progress

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
    line = progress.describe(state)
    assert line.startswith("trial  1/3") and "best val_accuracy 0.8700 (hidden_units=64)" in line
    assert "left" in line


def test_the_repeats_after_the_search_show_as_such(tmp_path):
    job = _job(tmp_path / "0", "loss=sparse", trials=1)
    job.trial_ended(failed=False, best_val_accuracy=0.87, best="hidden_units=64")
    job.repeat_started(2, 5)
    job.epoch_ended(0)
    line = progress.describe(json.loads((tmp_path / "0" / progress.PROGRESS_FILE).read_text()))
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
