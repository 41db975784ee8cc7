"""`collection_paused`: Python's cyclic collector off during a large import, every object alive
frozen after it, the collector back as it was. Run in a fresh interpreter: freezing is for the
rest of a process's life."""

import subprocess
import sys

from helpers import ROOT

CODE = """
import gc, threading
from src.runtime.imports import collection_paused

assert gc.isenabled() and gc.get_freeze_count() == 0
inner_started, outer_may_end = threading.Event(), threading.Event()
made = []

def other_thread():
    with collection_paused():
        inner_started.set()
        outer_may_end.wait()
    print("after-threads", gc.isenabled())

with collection_paused():
    made.extend([i] for i in range(50_000))  # tracked objects, made while paused
    print("paused", gc.isenabled())
    with collection_paused():  # nested
        pass
    print("after-nested", gc.isenabled())
    thread = threading.Thread(target=other_thread)
    thread.start()
    inner_started.wait()
print("other-still-open", gc.isenabled())
outer_may_end.set()
thread.join()
print("frozen", gc.get_freeze_count() >= 50_000)
gc.disable()
with collection_paused():
    pass
print("off-stays-off", gc.isenabled())
"""


def test_collection_paused_pauses_until_the_last_block_ends_then_freezes_and_restores():
    out = subprocess.run(
        [sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:-1] == [
        "paused False",
        "after-nested False",
        "other-still-open False",  # the other thread's block is still open
        "after-threads True",
        "frozen True",
        "off-stays-off False",
    ]
