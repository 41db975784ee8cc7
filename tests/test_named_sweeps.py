"""Each named sweep in sweeps/ launched for real, on a tiny budget: the jobs it defines run and
record the study they belong to. Only non-search overrides, so the sweeps' own spaces stand."""

import pytest
from helpers import job_and_trial_runs, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# name -> the job override each of its jobs gets from the sweep's Hydra grid
SWEEPS = {
    "loss_comparison": {"loss=sparse", "loss=categorical"},
    "width_lr": {f"search.hidden_units={w}" for w in (64, 128, 256, 512)},
    # One job each: the sweep file is the job's only override that matters.
    "best_mlp": {"sweep=best_mlp"},
    "cnn": {"sweep=cnn"},
}


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_named_sweep_runs_its_jobs_and_records_its_study(name, store, tmp_path):
    result = run_cli(
        "src.sweep",
        f"sweep={name}",
        "data.limit=1500",
        "train.epochs=1",
        "tuner.max_trials=1",
        "study.repeats=0",  # loss_comparison's 5 repeats: tests/test_repeats.py runs repeats
        f"tracking.uri={store}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    expected = SWEEPS[name]
    assert f"sweep: {len(expected)} job(s), 0 failed, 0 interrupted" in result.stderr
    jobs, trials = job_and_trial_runs(store)
    assert len(jobs) == len(expected) and all(j.info.status == "FINISHED" for j in jobs)
    # One job per value of the sweep's grid, each recorded with the study's name.
    swept = [[o for o in j.data.tags["overrides"].split() if o in expected] for j in jobs]
    assert sorted(swept) == sorted([o] for o in expected)
    assert {j.data.tags["study"] for j in jobs} == {name}
    assert len({j.data.tags["sweep_id"] for j in jobs}) == 1  # one command, one sweep
    assert len(trials) == len(jobs) and all(t.info.status == "FINISHED" for t in trials)
    if name == "width_lr":  # the sweep picks keras-tuner's grid for the inner search
        assert {t.data.params["tuner"] for t in trials} == {"grid"}
