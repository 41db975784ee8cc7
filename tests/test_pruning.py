"""Pruning: the rules on plain curves, then real searches (random, grid, distributed workers) in
which a hopeless trial is stopped, recorded FINISHED with its tags, and counted."""

from pathlib import Path

import pytest
from helpers import TINY, job_and_trial_runs, mlflow_client, one_line_error, run_cli

from src.job import JobContext, run_job
from src.reporting import display
from src.search import progress
from src.search.pruning import Pruner

MEDIAN = Pruner("median", warmup=2, min_trials=3)
ASHA = Pruner("asha", warmup=1, min_trials=2, reduction=3)
GOOD = [[0.70, 0.80, 0.82, 0.85], [0.60, 0.78, 0.83, 0.84], [0.65, 0.75, 0.80, 0.81]]


def test_median_stops_a_trial_below_the_others_median_after_the_warm_up():
    assert not MEDIAN.should_stop([0.1], GOOD)  # warm-up: one epoch is never judged
    assert MEDIAN.should_stop([0.1, 0.2], GOOD)  # median of 0.80, 0.78, 0.75 is 0.78
    assert not MEDIAN.should_stop([0.1, 0.79], GOOD)
    # The best so far counts, not the epoch's own value: one bad epoch does not condemn.
    assert not MEDIAN.should_stop([0.1, 0.83, 0.5], GOOD)


def test_median_waits_for_enough_trials_at_that_epoch():
    assert not MEDIAN.should_stop([0.1, 0.2], GOOD[:2])
    assert not MEDIAN.should_stop([0.1, 0.2, 0.2], [*GOOD[:2], [0.9, 0.9]])  # one stopped at 2


def test_asha_judges_only_at_its_rungs_and_keeps_the_top_third():
    assert [e for e in range(1, 12) if ASHA.rung(e)] == [1, 3, 9]
    assert not ASHA.should_stop([0.1, 0.1], GOOD)  # epoch 2 is no rung
    assert ASHA.should_stop([0.62], GOOD)  # 4 at rung 1: only the best goes on
    assert not ASHA.should_stop([0.71], GOOD)
    six = [*GOOD, [0.7], [0.69], [0.1]]  # 7 at rung 1: the top 2 go on
    assert not ASHA.should_stop([0.70], six) and ASHA.should_stop([0.69], six)


def test_the_progress_line_and_the_summary_count_pruned_trials(tmp_path):
    job = progress.JobProgress(tmp_path, "job", max_trials=3, epochs=4)
    for pruned in (True, False, True):
        job.trial_started("0", 1)
        job.trial_ended(failed=False, best_val_accuracy=0.8, best="", pruned=pruned)
    assert "2 pruned" in display.describe(job.state.__dict__)


def test_pruning_with_hyperband_is_refused_in_one_line():
    result = run_cli("src.sweep", "tuner=hyperband", "tuner.pruner=median")
    assert "tuner.pruner" in one_line_error(result)


# A grid whose last learning rate cannot learn: val_accuracy stays near chance, far below the
# others' after one epoch, so the pruner stops it there, whatever the machine's speed.
HOPELESS_LAST = (
    "tuner=grid",
    "search.hidden_units=32",
    "search.optimizer=sgd",
    "search.learning_rate.sgd=[0.3,0.2,0.1,1e-9]",
    "tuner.max_trials=4",
    "train.epochs=3",
    "tuner.pruner_warmup=1",
    "tuner.pruner_min_trials=2",
)


def assert_pruned_after_first_epoch(store: str, lr: str = "1e-09") -> None:
    (job,), trials = job_and_trial_runs(store)
    assert len(trials) == 4 and {t.info.status for t in trials} == {"FINISHED"}
    client = mlflow_client(store)
    for trial in trials:
        steps = [m.step for m in client.get_metric_history(trial.info.run_id, "val_accuracy")]
        if trial.data.params["learning_rate"] == lr:
            assert trial.data.tags["pruned"] == "true"
            assert trial.data.tags["pruned_at_epoch"] == "0" and steps == [0]
        else:
            assert "pruned" not in trial.data.tags and steps == [0, 1, 2]
    assert job.data.metrics["trials_pruned"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("pruner", ["median", "asha"])
def test_a_hopeless_trial_is_pruned_finished_tagged_and_counted(pruner, tiny, store):
    result = run_job(tiny(*HOPELESS_LAST, f"tuner.pruner={pruner}"), JobContext(sweep_id="p"))
    assert_pruned_after_first_epoch(store)
    assert result.trials == 4 and result.pruned == 1
    (job,), _ = job_and_trial_runs(store)
    summary = Path(mlflow_client(store).download_artifacts(job.info.run_id, "summary.md"))
    assert "4 trials (0 failed, 1 pruned)" in summary.read_text()


@pytest.mark.slow
def test_distributed_workers_are_pruned_by_the_chiefs_record_of_every_trial(store, tmp_path):
    result = run_cli(
        "src.sweep",
        *TINY,
        *HOPELESS_LAST,
        "tuner.pruner=median",
        "distributed.workers=2",
        f"tracking.uri={store}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert_pruned_after_first_epoch(store)
    _, trials = job_and_trial_runs(store)
    assert {t.data.tags["tuner_id"] for t in trials} == {"worker-0", "worker-1"}
    assert "1 pruned" in result.stderr + result.stdout
