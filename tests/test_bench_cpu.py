"""tools/bench_cpu.py: the CPU seconds of a running command's processes, by kind, from /proc."""

import subprocess
import sys

import pytest

from tools.bench_cpu import TreeCPU

pytestmark = pytest.mark.slow  # starts processes

# Burns `seconds` of CPU (whatever the machine's load), then idles: the last readings settle.
_BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {}: pass\n"


def test_each_process_cpu_goes_to_its_kind():
    child = _BURN.format(0.6) + "time.sleep(0.5)\n"
    parent = (
        "import subprocess, sys\n"
        f"c = subprocess.Popen([sys.executable, '-c', {child!r}, 'cpu-test-burner'])\n"
        + _BURN.format(0.2)
        + "c.wait()\ntime.sleep(0.3)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", parent])
    cpu = TreeCPU(proc.pid, {"burner": "cpu-test-burner"}, every=0.02).start()
    proc.wait()
    totals = cpu.stop()
    # The burn and the interpreter's start-up (~0.05 s); the child was "other" until it exec'd.
    assert 0.58 <= totals["burner"] <= 0.9, totals
    assert 0.18 <= totals["entry"] <= 0.5, totals
    assert totals.get("other", 0.0) < 0.05, totals


def test_a_command_without_that_kind_has_none():
    proc = subprocess.Popen([sys.executable, "-c", _BURN.format(0.1) + "time.sleep(0.2)"])
    cpu = TreeCPU(proc.pid, {"tracking": "src.tracking.service"}, every=0.02).start()
    proc.wait()
    totals = cpu.stop()
    assert "tracking" not in totals and totals["entry"] >= 0.08, totals
