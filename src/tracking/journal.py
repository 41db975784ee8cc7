"""Records on their way to the tracking store, on disk: every record a tracker's background
writer is handed is written here first, so that nothing handed over is lost if the job or its
tracking process is killed, however long the store is away.

A journal is a folder under the store's spill folder: `records.jsonl` (one record a line, in
the order they were handed over), `cursor` (the byte offset of the first record not yet
stored), `files/` (the artifacts its upload records name, linked or copied there) and `lock`,
held by the process that writes and delivers it. A journal whose lock is free belongs to a
process that ended: the next tracker opened on the same store delivers it (`orphans`), before
anything of its own; one whose process is ending (`finishing`) is waited for. The folder is
removed once everything in it is stored. Written without fsync: a killed process's writes are
in the kernel's cache; a power cut may lose the last ones.

Records are `[op, args]` lists of plain JSON values (src/tracking/writes.py performs them); a
line cut short by a kill is the last one and is skipped. Delivering a record twice is harmless
(metrics keep their timestamps, tags and params are upserts, a creation looks for its
`creation_id` first), so the cursor is advanced after each record is stored.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

# Imported inside functions: the store's helpers load only where a spill folder is found.

UPLOAD = "upload"  # the op whose second argument is a file to keep in the journal
_FINISHING = "finishing"  # a file: the journal's process is ending


def spill_folder(uri: str, configured: str | None = None) -> Path:
    """`tracking.spill_dir`, else `spill/` beside a SQLite store's database, else
    `./tracking-spill/<the server's address, hashed>`."""
    if configured:
        return Path(configured).expanduser().resolve()
    from src.tracking.store import sqlite_path

    path = sqlite_path(uri)
    if path is not None:
        return path.resolve().parent / "spill"
    return Path("tracking-spill", hashlib.sha1(uri.encode()).hexdigest()[:12]).resolve()


class Journal:
    """One folder of records, appended by its owner and read back in order."""

    def __init__(self, folder: Path, lock_fd: int):
        self.folder = folder
        self._lock_fd = lock_fd
        self._records = folder / "records.jsonl"
        self._cursor_file = folder / "cursor"
        self._out = open(self._records, "ab")  # noqa: SIM115 - kept open
        self._in = open(self._records, "rb")  # noqa: SIM115
        self._cursor = os.open(self._cursor_file, os.O_RDWR | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError, ValueError):
            self._in.seek(int(os.pread(self._cursor, 20, 0) or b"0"))
        self.unread = sum(1 for _ in self._lines())

    @classmethod
    def create(cls, root: Path) -> Journal:
        folder = root / uuid.uuid4().hex
        (folder / "files").mkdir(parents=True)
        return cls(folder, _locked(folder))

    def append(self, record: list) -> None:
        """Write `record` to disk (an upload's file linked into the journal first: its
        caller may delete its own copy at once)."""
        op, args = record
        if op == UPLOAD:
            source = Path(args[1])
            kept = self.folder / "files" / uuid.uuid4().hex / source.name
            kept.parent.mkdir()
            try:
                os.link(source, kept)  # no copy: the upload reads the same bytes
            except OSError:
                shutil.copyfile(source, kept)
            record = [op, [args[0], str(kept), *args[2:]]]
        self._out.write(json.dumps(record).encode() + b"\n")
        self._out.flush()
        self.unread += 1

    def mark_finishing(self) -> None:
        (self.folder / _FINISHING).touch()

    def peek(self) -> list | None:
        """The first record not yet stored (None: none)."""
        at = self._in.tell()
        line = self._in.readline()
        self._in.seek(at)
        if not line.endswith(b"\n"):
            return None  # none, or the last one cut short by a kill
        return json.loads(line)

    def advance(self) -> None:
        """The record `peek` gave is stored."""
        self._in.readline()
        self.unread = max(self.unread - 1, 0)
        # 20 bytes in place: one sector, not torn by a kill (delivering a record twice is
        # harmless anyway).
        os.pwrite(self._cursor, b"%20d" % self._in.tell(), 0)

    def remove(self) -> None:
        """All stored: the folder goes, and its lock with it."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.close()

    def close(self) -> None:
        """Left for another process to deliver: the lock is released."""
        self._out.close()
        self._in.close()
        os.close(self._cursor)
        os.close(self._lock_fd)

    def _lines(self) -> Iterator[bytes]:
        at = self._in.tell()
        try:
            yield from (line for line in self._in if line.endswith(b"\n"))
        finally:
            self._in.seek(at)


def _locked(folder: Path, block: bool = True) -> int:
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        raise
    return fd


def orphans(root: Path, wait: float) -> Iterator[Journal]:
    """The journals under `root` that no living process holds, oldest first, each locked;
    one whose process is ending is waited for (at most `wait` seconds)."""
    if not root.is_dir():
        return
    folders = [f for f in root.iterdir() if (f / "records.jsonl").is_file()]
    for folder in sorted(folders, key=lambda f: f.stat().st_mtime):
        deadline = time.monotonic() + wait
        while True:
            try:
                fd = _locked(folder, block=False)
                break
            except OSError:
                if not (folder / _FINISHING).exists() or time.monotonic() > deadline:
                    fd = None  # its process is alive, and delivers it
                    break
                time.sleep(0.1)
        if fd is None:
            continue
        if not (folder / "records.jsonl").is_file():
            os.close(fd)  # delivered and removed meanwhile
            continue
        yield Journal(folder, fd)
