"""The start-up breakdown counts from the process's real start: a fresh process reports an origin
between the moment its parent started it and the moment it printed it."""

import subprocess
import sys
import time

from helpers import ROOT


def test_a_process_start_is_known_to_the_clock_tick():
    code = "import time; from src.runtime import timings; print(timings._origin, time.time())"
    before = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    origin, printed = map(float, out.stdout.split())
    # One clock tick (10 ms) of rounding either way; psutil's create_time was up to 1 s off.
    assert before - 0.02 <= origin <= printed
    assert printed - origin < time.time() - before + 0.02
