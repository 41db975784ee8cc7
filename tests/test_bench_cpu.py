"""tools/bench_cpu.py: the CPU seconds of a running command's processes, by kind, from /proc."""

import os
import subprocess
import sys

import pytest

from tools.bench_cpu import TreeCPU

pytestmark = pytest.mark.slow  # starts processes

# Burns `seconds` of CPU, says how much CPU its process has used, and waits to be released:
# the test reads the process table after that line, while the process is still there.
_BURN = "import sys, time\nt = time.process_time()\nwhile time.process_time() - t < {}: pass\n"
_CHILD = _BURN.format(0.3) + "print(time.process_time(), flush=True)\nsys.stdin.readline()\n"
_PARENT = (
    "import subprocess, sys\n"
    f"c = subprocess.Popen([sys.executable, '-c', {_CHILD!r}, 'cpu-test-burner'], "
    "stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
    + _BURN.format(0.1)
    + "child = c.stdout.readline().strip()\n"
    "print(time.process_time(), child, flush=True)\n"
    "sys.stdin.readline()\n"
    "c.communicate('\\n')\n"
)


# /proc counts user and system time in whole clock ticks, each rounded down; the process's own
# clock does not: what /proc says may be up to two ticks below what the process said.
TICKS = 2 / os.sysconf("SC_CLK_TCK")


def _run(script: str, kinds: dict) -> tuple[list[float], dict[str, float]]:
    """Run `script`, read its process tree once it has said what it used; returns what it
    said and the CPU seconds by kind."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    cpu = TreeCPU(proc.pid, kinds, every=0.02).start()
    said = [float(x) for x in proc.stdout.readline().split()]
    cpu.read()  # after the burns: every process is still there
    proc.communicate("\n", timeout=30)
    return said, cpu.stop()


def test_each_process_cpu_goes_to_its_kind():
    (entry, burner), totals = _run(_PARENT, {"burner": "cpu-test-burner"})
    assert burner >= 0.3 and entry >= 0.1
    # Each process's CPU under its kind (at least what it said it used), none unclassified.
    assert totals["burner"] >= burner - TICKS and totals["entry"] >= entry - TICKS, totals
    assert set(totals) == {"burner", "entry"}, totals


def test_a_command_without_that_kind_has_none():
    script = _BURN.format(0.1) + "print(time.process_time(), flush=True)\nsys.stdin.readline()\n"
    (entry,), totals = _run(script, {"tracking": "src.tracking.service"})
    assert set(totals) == {"entry"} and totals["entry"] >= entry - TICKS, totals
