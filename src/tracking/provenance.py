"""Which code produced a run: the git commit and whether the work tree had local changes."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_state(repo: Path) -> tuple[str, bool | None]:
    """(commit, dirty) of the repository holding the code, or ("unknown", None)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
