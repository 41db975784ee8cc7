"""`make bench` runs end to end on a tiny budget and prints its table (no timing assertions)."""

import pytest
from helpers import run_cli

pytestmark = pytest.mark.slow


def test_bench_runs_and_prints_its_table():
    result = run_cli(
        "tools.bench", "--trials", "1", "--epochs", "1", "--limit", "1000", "--quick", timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    header = next(line for line in out.splitlines() if line.startswith("arm "))
    for column in ("wall s", "s/trial-epoch", "images/s", "best val_acc", "peak MB"):
        assert column in header
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.split() and line.split()[0] in ("plain", "sweep", "untracked")
    }
    assert set(rows) == {"plain", "sweep", "untracked"}
    for row in rows.values():
        assert float(row[1]) > 0 and 0 < float(row[4]) <= 1  # wall time, best val_accuracy
        assert int(row[5]) == 2  # 1 trial x 1 epoch x 2 losses
    assert "(a)/(b) plain / median sweep wall time" in out and "(b)/(c) tracking overhead" in out
    # The tracked sweep's tracking process, read from /proc: it did work (its figure printed).
    cpu = next(line for line in out.splitlines() if line.startswith("(b) tracking process CPU"))
    assert float(cpu[40:].split()[0]) > 0, cpu
