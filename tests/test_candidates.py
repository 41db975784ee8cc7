"""The export's choice among trials, as a unit: best validation accuracy first, ties to the
lower validation loss, then to the earlier run; test accuracy never plays a part."""

import itertools

from src.serving.candidates import Candidate, rank


def candidate(name, val_accuracy, val_loss, started, test_accuracy=None):
    return Candidate(
        run_id=name,
        job="loss=sparse",
        loss="sparse",
        trial_id=name,
        params={},
        val_accuracy=val_accuracy,
        val_loss=val_loss,
        started=started,
        test_accuracy=test_accuracy,
    )


def names(candidates):
    return [c.run_id for c in candidates]


def test_highest_val_accuracy_first_whatever_the_loss_or_start():
    best = candidate("best", 0.90, 0.90, started=300)
    worse = candidate("worse", 0.80, 0.10, started=100)
    worst = candidate("worst", 0.70, 0.05, started=50)
    for order in itertools.permutations([worst, best, worse]):
        assert names(rank(list(order))) == ["best", "worse", "worst"]


def test_a_tie_on_val_accuracy_goes_to_the_lower_val_loss():
    low = candidate("low", 0.85, 0.30, started=200)
    high = candidate("high", 0.85, 0.40, started=100)  # earlier, but the loss decides first
    for order in itertools.permutations([low, high]):
        assert names(rank(list(order))) == ["low", "high"]


def test_a_tie_on_both_goes_to_the_earlier_run():
    early = candidate("early", 0.85, 0.30, started=100)
    late = candidate("late", 0.85, 0.30, started=200)
    for order in itertools.permutations([late, early]):
        assert names(rank(list(order))) == ["early", "late"]


def test_test_accuracy_never_changes_the_order():
    pool = [
        candidate("a", 0.85, 0.30, started=100),
        candidate("b", 0.85, 0.30, started=200),
        candidate("c", 0.85, 0.20, started=300),
        candidate("d", 0.90, 0.50, started=400),
        candidate("e", 0.60, 0.10, started=50),
    ]
    expected = ["d", "c", "a", "b", "e"]
    assert names(rank(pool)) == expected
    # Any test accuracies, including the reverse of the validation order and missing ones.
    for tests in itertools.permutations([0.99, 0.10, 0.50, None, 0.75]):
        with_tests = [
            candidate(c.run_id, c.val_accuracy, c.val_loss, c.started, t)
            for c, t in zip(pool, tests, strict=True)
        ]
        for order in (with_tests, with_tests[::-1]):
            assert names(rank(list(order))) == expected


def test_rank_leaves_its_input_alone():
    pool = [candidate("x", 0.5, 1.0, 2), candidate("y", 0.9, 1.0, 1)]
    assert names(rank(pool)) == ["y", "x"] and names(pool) == ["x", "y"]
