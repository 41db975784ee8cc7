"""The study's statistics and its verdict, on numbers made up here (nothing trains): means and
intervals against scipy, paired differences, and the sentences, identical seeds included."""

import math

import numpy as np
import pytest
from helpers import svg_picture
from scipy import stats as scipy_stats

from src.reporting import stats, study, verdict
from src.reporting.outcome import JobResult, Repeat

SEEDS = [1000, 1001, 1002, 1003, 1004]


def job(name, studied, test, seconds, memory=None, val=None, best=None) -> JobResult:
    """A finished job with one repeat per seed of SEEDS."""
    memory = memory or [900.0] * len(test)
    val = val or test
    repeats = [
        Repeat(s, v, t, e, m)
        for s, v, t, e, m in zip(SEEDS, val, test, seconds, memory, strict=False)
    ]
    return JobResult(
        job=name,
        loss="sparse",
        run_id=None,
        best_trial_id="0",
        best_hyperparameters=best or {},
        best_val_accuracy=0.9,
        best_val_loss=0.3,
        test_accuracy=0.88,
        test_loss=0.35,
        trials=2,
        failed=0,
        trial_epochs=2,
        train_images=100,
        mean_val_accuracy=0.9,
        mean_epoch_time=1.0,
        peak_memory_mb=900.0,
        searched=list(best or {}),
        studied=studied,
        repeats=repeats,
    )


def t_interval(values):
    x = np.asarray(values)
    return scipy_stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=scipy_stats.sem(x))


def test_a_mean_has_the_t_interval_scipy_gives():
    values = [0.881, 0.884, 0.879, 0.886, 0.882]
    e = stats.describe(values)
    assert e.n == 5 and e.mean == pytest.approx(np.mean(values))
    assert e.sd == pytest.approx(np.std(values, ddof=1))
    assert (e.low, e.high) == pytest.approx(t_interval(values))


def test_one_value_has_no_interval_and_constant_values_a_zero_width_one():
    one = stats.describe([0.5])
    assert one.mean == 0.5 and not one.has_interval and one.sd is None
    flat = stats.describe([0.1, 0.1, 0.1])  # exactly 0 spread, not rounding noise
    assert flat.sd == 0 and flat.low == flat.high == 0.1


def test_a_paired_difference_matches_scipys_paired_t_test():
    a, b = [0.88, 0.87, 0.89, 0.90, 0.88], [0.86, 0.86, 0.88, 0.87, 0.87]
    diff = stats.paired(a, b)
    d = np.subtract(a, b)
    assert diff.estimate.mean == pytest.approx(d.mean())
    assert (diff.estimate.low, diff.estimate.high) == pytest.approx(t_interval(d))
    assert diff.p == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)
    assert diff.significant and not diff.identical


def test_identical_seeds_are_identical_not_nan():
    a = [0.88, 0.87, 0.89]
    diff = stats.paired(a, list(a))
    assert diff.identical and not diff.significant
    assert diff.p == 1.0 and diff.estimate.low == diff.estimate.high == 0.0
    shifted = stats.paired([x + 0.25 for x in [1.0, 2.0, 3.0]], [1.0, 2.0, 3.0])
    assert shifted.p == 0.0 and shifted.significant and shifted.estimate.sd == 0


def test_a_ratio_reads_as_a_relative_difference():
    faster = [1.0, 1.1, 0.9, 1.05]
    slower = [x * 1.1 for x in faster]
    diff = stats.paired_ratio(faster, slower)
    assert stats.relative(diff.estimate.mean) == pytest.approx(1 / 1.1 - 1)


def test_the_verdict_says_identical_seeds_are_identical():
    test = [0.881, 0.884, 0.879, 0.886, 0.882]
    sparse = job("loss=sparse", {"loss": "sparse"}, test, [1.10, 1.12, 1.09, 1.11, 1.10])
    categorical = job("loss=categorical", {"loss": "categorical"}, test, [1.18] * 5)
    (sentence,) = verdict.sentences(verdict.study_of([sparse, categorical]))
    spread = np.std(test, ddof=1)  # the same in both jobs
    assert sentence.startswith(
        "sparse and categorical reach identical test accuracy in every one of the 5 seeds "
        f"(difference 0; seed-to-seed spread {spread:.4f}); sparse is "
    )
    log_ratio = np.log(np.array([1.10, 1.12, 1.09, 1.11, 1.10]) / 1.18)
    low, high = t_interval(log_ratio)
    assert (
        f"sparse is {-math.expm1(log_ratio.mean()):.1%} faster per epoch "
        f"(95% CI [{-math.expm1(high):.1%}, {-math.expm1(low):.1%}])"
    ) in sentence
    assert "the same peak memory" in sentence and "nan" not in sentence
    report = study.markdown([sparse, categorical])
    assert "| categorical − sparse | identical in every seed | identical in every seed |" in report
    assert "nan" not in report and report.rstrip().endswith(sentence)


def test_the_verdict_tells_a_real_accuracy_difference_from_noise():
    a = job("a", {"loss": "sparse"}, [0.90, 0.91, 0.90, 0.92, 0.91], [1.0] * 5)
    b = job("b", {"loss": "categorical"}, [0.88, 0.88, 0.89, 0.89, 0.88], [1.0] * 5)
    (sentence,) = verdict.sentences(verdict.study_of([a, b]))
    d = np.subtract([0.90, 0.91, 0.90, 0.92, 0.91], [0.88, 0.88, 0.89, 0.89, 0.88])
    low, high = t_interval(d)
    assert sentence.startswith(
        f"sparse reaches a higher test accuracy than categorical (difference {d.mean():+.4f}, "
        f"95% CI [{low:+.4f}, {high:+.4f}], paired t-test p = "
    )
    assert "sparse and categorical take the same time per epoch (sparse +0.0%" in sentence
    noisy = job("c", {"loss": "categorical"}, [0.91, 0.90, 0.92, 0.90, 0.91], [1.0] * 5)
    (same,) = verdict.sentences(verdict.study_of([a, noisy]))
    assert same.startswith("sparse and categorical reach the same test accuracy (difference ")


def test_one_job_reports_its_own_statistics():
    test = [0.881, 0.884, 0.879]
    alone = job("defaults", {}, test, [1.1, 1.2, 1.0], val=[0.89, 0.9, 0.88])
    (sentence,) = verdict.sentences(verdict.study_of([alone]))
    low, high = t_interval(test)
    assert sentence.startswith(
        f"defaults: test accuracy {np.mean(test):.4f} (95% CI [{low:.4f}, {high:.4f}], 3 seeds; "
        f"seed-to-seed spread {np.std(test, ddof=1):.4f}), val_accuracy 0.8900"
    )
    assert "1.100 s per epoch" in sentence and "peak memory 900.0 MB" in sentence
    assert verdict.study_of([job("x", {}, [], [])]) is None  # no repeats: no verdict


def test_a_width_study_orders_jobs_by_width_and_reports_each_best_rate():
    jobs = [
        job(
            f"w{w}",
            {"search.hidden_units": str(w), "search.learning_rate": "{}"},
            acc,
            [1.0] * 3,
            best={"learning_rate": lr},
        )
        for w, acc, lr in [
            (256, [0.86, 0.87, 0.86], 0.001),
            (64, [0.84, 0.85, 0.84], 0.003),
            (128, [0.85, 0.86, 0.86], 0.003),
        ]
    ]
    found = verdict.study_of(jobs)
    assert found.labels == ["64", "128", "256"] and found.within == ["search.learning_rate"]
    trend, best = verdict.sentences(found)
    assert trend.startswith("Test accuracy by hidden_units: 0.8433 at 64 (95% CI [")
    assert "from 64 to 256 it rises by +0.0200" in trend
    assert best.startswith("The best learning_rate moves: 0.003 at 64, 0.003 at 128, 0.001 at 256")


def test_the_study_plot_is_drawn(tmp_path):
    a = job("a", {"loss": "sparse"}, [0.9, 0.91, 0.9], [1.0, 1.1, 1.0])
    b = job("b", {"loss": "categorical"}, [0.9, 0.91, 0.9], [1.2, 1.1, 1.3])
    picture, csv = study.files([a, b], tmp_path)
    assert svg_picture(picture)
    assert len(csv.read_text().splitlines()) == 1 + 6


def test_jobs_without_a_common_seed_are_not_paired():
    a = job("a", {"loss": "sparse"}, [0.9, 0.91], [1.0, 1.1])
    b = job("b", {"loss": "categorical"}, [0.9, 0.91], [1.2, 1.1])
    b.repeats[:] = [Repeat(r.seed + 10, *list(vars(r).values())[1:]) for r in b.repeats]
    (sentence,) = verdict.sentences(verdict.study_of([a, b]))
    assert sentence.startswith("sparse and categorical share no seed")
    assert "| categorical − sparse | no common seed |" in study.markdown([a, b])
