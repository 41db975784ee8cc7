"""tuner.warm_start: a search starts from an earlier sweep's finished trials, trains none of
them again, and leaves out those outside its space (real keras-tuner, TensorFlow, MLflow)."""

from pathlib import Path

import pytest
from helpers import job_and_trial_runs, mlflow_client, one_line_error, run_cli

from src.job import JobContext, run_job

WIDTHS = "search.hidden_units=int 32..256 step 32"


def _trained(store: str, job_run_id: str) -> list[tuple[str, str]]:
    """(hidden_units, learning_rate) of each trial run under a job run, one per run."""
    _, trials = job_and_trial_runs(store)
    return [
        (t.data.params["hidden_units"], t.data.params["learning_rate"])
        for t in trials
        if t.data.tags["mlflow.parentRunId"] == job_run_id and t.info.status == "FINISHED"
    ]


def _best_score(store: str, *job_run_ids: str) -> float:
    _, trials = job_and_trial_runs(store)
    return max(
        t.data.metrics["best_val_accuracy"]
        for t in trials
        if t.data.tags["mlflow.parentRunId"] in job_run_ids
    )


@pytest.mark.slow
def test_a_warm_started_search_trains_no_trial_twice(tiny, store):
    first = run_job(tiny("tuner.max_trials=3", WIDTHS), JobContext(sweep_id="first"))
    # A wider space, Bayesian search, two more trials: the three known ones are not retrained.
    wider = ("tuner=bayesian", "tuner.max_trials=5", "search.hidden_units=int 32..512 step 32")
    second = run_job(tiny(*wider, "tuner.warm_start=first"), JobContext(sweep_id="second"))
    assert second.trials == 5 and len(second.warm_start["runs"]) == 3
    assert second.warm_start["outside"] == 0 and second.warm_start["unlike"] == 0
    reused = set(second.warm_start["runs"].values())
    first_runs = {r["reused_run"] for r in second.rows if "reused_run" in r}
    assert first_runs == reused
    trained_first = _trained(store, first.run_id)
    trained_second = _trained(store, second.run_id)
    assert len(trained_first) == 3 and len(trained_second) == 2
    assert len(set(trained_first + trained_second)) == 5  # no values trained twice
    jobs, _ = job_and_trial_runs(store)
    job = next(j for j in jobs if j.info.run_id == second.run_id)
    assert job.data.tags["warm_start_sweep"] == "first"
    summary = mlflow_client(store).download_artifacts(second.run_id, "summary.md")
    assert "Warm start from sweep first: 3 of its trials reused" in Path(summary).read_text()
    # The best of both searches' trials, wherever it was trained; its run is the job's best.
    assert second.best_val_accuracy == _best_score(store, first.run_id, second.run_id)
    best_run = job.data.tags["best_trial_run_id"]
    assert best_run in reused or best_run in {
        t.info.run_id
        for t in job_and_trial_runs(store)[1]
        if t.data.tags["mlflow.parentRunId"] == second.run_id
    }
    # Which earlier trials fit a narrower or another space: the unit test below.


@pytest.mark.slow
def test_a_grid_answers_its_known_points_from_the_earlier_sweep(tiny, store):
    grid = ("tuner=grid", "search.optimizer=adam", "search.hidden_units=64")
    first = run_job(
        tiny(*grid, "tuner.max_trials=2", "search.learning_rate={adam:[1e-3,3e-3]}"),
        JobContext(sweep_id="first"),
    )
    rates = "search.learning_rate={adam:[3e-4,1e-3,3e-3,1e-2]}"
    second = run_job(
        tiny(*grid, "tuner.max_trials=4", rates, "tuner.warm_start=latest"),
        JobContext(sweep_id="second"),
    )
    assert second.trials == 4 and len(second.warm_start["runs"]) == 2
    assert {r for _, r in _trained(store, second.run_id)} == {"0.0003", "0.01"}
    assert {r for _, r in _trained(store, first.run_id)} == {"0.001", "0.003"}


@pytest.mark.slow
def test_an_unknown_sweep_to_start_from_is_one_line_and_writes_nothing(tiny, store, tmp_path):
    run_job(tiny(), JobContext(sweep_id="only"))
    before = job_and_trial_runs(store)
    state = sorted(
        p.name for p in (Path(store.removeprefix("sqlite:///")).parent / "tuner").iterdir()
    )
    result = run_cli(
        "src.sweep",
        "data.limit=1500",
        "train.epochs=1",
        "tuner.max_trials=3",
        "tuner.warm_start=nope",
        f"tracking.uri={store}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    line = one_line_error(result)
    assert result.returncode == 2
    assert "tuner.warm_start" in line and "'nope'" in line and "only" in line
    assert [len(x) for x in job_and_trial_runs(store)] == [len(x) for x in before]
    tuner_dir = Path(store.removeprefix("sqlite:///")).parent / "tuner"
    assert sorted(p.name for p in tuner_dir.iterdir()) == state
    line = one_line_error(run_cli("src.sweep", "tuner=hyperband", "tuner.warm_start=latest"))
    assert "tuner.warm_start" in line and "hyperband" in line


def test_only_trials_trained_the_same_way_and_inside_the_space_are_reused():
    """`sort` on recorded trials: the real HyperModel's space, the params as runs record them."""
    import keras_tuner as kt

    from src.model import searchable
    from src.model.mlp import MLP
    from src.search import warm_start
    from src.search.hypermodel import SoftmaxHyperModel
    from src.search.space import parse_space

    entries = {"hidden_units": [64, 128], "optimizer": "adam", "learning_rate": 0.001}
    hypermodel = SoftmaxHyperModel(parse_space(entries, searchable(MLP, "mlp")), MLP, "sparse", 0)
    space = kt.HyperParameters()
    hypermodel.values(space)  # declares the space
    space.values["hidden_units"] = 64
    fixed = {
        "loss": "sparse",
        "model": "mlp",
        "data": "fashion_mnist",
        "data_limit": "all",
        "epochs": 8,
        "seed": 42,
        "precision": "float32",
    }
    recorded = {**space.values, **hypermodel.values(space.copy()), **fixed}
    params = {k: repr(v) if isinstance(v, float) else str(v) for k, v in recorded.items()}

    def trial(run_id, pruned=False, **changed):
        return {
            "run_id": run_id,
            "params": {**params, **changed},
            "val_fraction": "0.1",
            "metrics": {},
            "curves": {},
            "pruned": pruned,
        }

    earlier = {
        "sweep_id": "s",
        "trials": [
            trial("same"),
            trial("wider", hidden_units="96"),  # a width this space cannot draw
            trial("longer", epochs="6"),  # trained for other epochs
            trial("deeper", layers="2"),  # an argument this space leaves at its default, unlike
            trial("pruned", pruned=True),  # its score is a partial one
        ],
    }
    found = warm_start.sort(earlier, space, hypermodel, fixed, 0.1)
    assert [k["run_id"] for k in found.known] == ["same"]
    assert found.known[0]["values"]["hidden_units"] == 64
    assert (found.outside, found.unlike) == (1, 3)
    assert warm_start.sort(earlier, space, hypermodel, fixed, 0.2).unlike == 5
