"""The notebook (notebooks/sweep.ipynb) executed headless, as a reader would run it, on a tiny
budget: a two-job sweep through the Python API, its plots and the champion's predictions."""

import os

import pytest
from helpers import ROOT, job_and_trial_runs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]


def test_the_notebook_runs_a_sweep_plots_it_and_loads_the_champion(tmp_path, monkeypatch):
    reason = (
        "the notebook extra is not installed: `make test` installs it (pip install -e '.[dev]')"
    )
    nbformat = pytest.importorskip("nbformat", reason=reason)
    NotebookClient = pytest.importorskip("nbclient", reason=reason).NotebookClient

    store = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    # The kernel imports this tree's code (not another checkout's), and the notebook reads its
    # store and budget from the environment (defaults: its own store, a 2-minute sweep).
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("NOTEBOOK_TRACKING_URI", store)
    monkeypatch.setenv("NOTEBOOK_BUDGET", "data.limit=600 train.epochs=2 tuner.max_trials=1")
    notebook = nbformat.read(ROOT / "notebooks" / "sweep.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) == 3  # hyperparameters, learning curves, test images
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "2 trials of sweep" in text and "version 1:" in text, text
    leaderboard = next(o for o in outputs if "text/html" in o.get("data", {}))
    assert "best_val_accuracy" in leaderboard["data"]["text/html"]
    jobs, trials = job_and_trial_runs(store)
    assert len(jobs) == 2 and len(trials) == 2
    exported = tmp_path / "notebook-exports"  # the notebook's export.dir, in its folder
    assert (exported / "model.keras").is_file() and (exported / "model_card.md").is_file()
