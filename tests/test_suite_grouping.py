"""The suite's own assumption: `--dist loadgroup` keeps an `xdist_group` on one worker, so a
group's shared server (tests/test_auth_server.py, tests/test_distributed_server.py) starts
once. pytest 9.2 broke it silently (pytest-xdist issue 1386); this fails instead."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # starts pytest with two workers

GROUPED = """
import os, pytest
pytestmark = pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("i", range(6))
def test_where(i, tmp_path_factory):
    print(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-v",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    workers = {line.split("]")[0] for line in result.stdout.splitlines() if "PASSED" in line}
    assert len(workers) == 1, result.stdout[-2000:]
