"""Where a search keeps its keras-tuner state, keyed by everything that defines the search.

Rerunning a command resumes its own search; changing the data, loss, space, tuner, budget or
tracking store gives a different key and so a fresh folder, never someone else's stale state.
State files are written atomically, a search is locked against a second process, and state that
cannot be read is reported by file name.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import OmegaConf

from src.errors import StateError

if TYPE_CHECKING:
    from src.config.schema import Config
    from src.search.space import Space
from src.runtime.atomic import write_atomically
from src.tracking import store_dir

# Imported inside functions: the search space's parser and the model families load only where a
# search key is computed; keras-tuner's state-file hook only where it is installed.

log = logging.getLogger(__name__)

# What a resumed job does with the trials an interruption cut short (src/search/resume.py).
CONTINUED = "each continues from its last completed epoch"

# Settings that change what a search finds. Where the data came from is not among them: every
# source is checked against the same content checksums.
_DATA_KEYS = ("name", "limit", "val_fraction")
_TRAIN_KEYS = ("epochs", "seed")


def search_definition(cfg: Config, space: Space | None = None) -> dict:
    """The parts of the typed config that define the search; `space` is its parsed search space
    when the caller has it (else it is parsed here)."""
    container = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)
    tuner = {k: v for k, v in container["tuner"].items() if k != "dir"}
    return {
        "data": {k: container["data"][k] for k in _DATA_KEYS},
        "loss": container["loss"]["name"],
        "model": container["model"],
        "search": _canonical(space or _parse(container["search"], container["model"])),
        "tuner": tuner,
        "train": {k: container["train"][k] for k in _TRAIN_KEYS},
        "tracking": {
            "uri": container["tracking"]["uri"],
            "experiment": container["tracking"]["experiment"],
            "enabled": container["tracking"]["enabled"],
        },
    }


def _parse(search: dict, model: dict) -> Space:
    from src.model import family_class, searchable
    from src.search.space import parse_space

    return parse_space(search, searchable(family_class(model["_target_"]), model["name"]))


def _canonical(space: Space) -> dict:
    """The search space as parsed, not as spelt: `l2=0` and `l2=0.0`, a range as text or as a
    mapping, a table's rows in any order define the same search."""
    from src.search.space import Table

    return {
        name: {"by": spec.by, **{k: repr(v) for k, v in sorted(spec.specs.items())}}
        if isinstance(spec, Table)
        else repr(spec)
        for name, spec in sorted(space.entries.items())
    }


def search_key(cfg: Config, space: Space | None = None) -> str:
    """A short, stable hash of `search_definition`."""
    text = json.dumps(search_definition(cfg, space), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def tuner_root(tuner_dir: str | None, uri: str) -> Path:
    """`tuner.dir`, else `<store>/tuner` for a SQLite store at `uri`, else `./tuner`."""
    if tuner_dir:
        return Path(tuner_dir).expanduser().resolve()
    folder = store_dir(uri)
    return (folder / "tuner") if folder is not None else Path("tuner").resolve()


def project_name(cfg: Config, key: str) -> str:
    return f"{cfg.data.name}-{cfg.loss.name}-{cfg.tuner.name}-{key}"


def has_state(root: Path, project: str) -> bool:
    return (root / project / "oracle.json").is_file()


@contextmanager
def search_lock(root: Path, project: str) -> Iterator[None]:
    """Hold the search's lock: a second process running the same search waits for the first,
    then resumes it (finding it done), instead of both writing the same state."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{project}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            log.warning(
                "another process (pid %s) is running this search; waiting for it",
                handle.read().strip() or "?",
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_json_atomically(path: str | os.PathLike, obj) -> str:
    """Write JSON so that a reader sees the old file or the new one, never half of one."""
    text = json.dumps(obj)
    write_atomically(path, text)
    return text


def read_json_naming_the_file(path: str | os.PathLike):
    """Read JSON; unreadable state is a one-line error naming the file and the way out."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise StateError(
            f"tuner state {path} is unreadable ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0][:80]}); rerun with train.resume=false to start this "
            "search afresh"
        ) from None


def install_safe_state_io() -> None:
    """Route keras-tuner's state files (oracle, trials, tuner) through the functions above.

    keras-tuner writes every state file with `keras_tuner.src.utils.save_json` in place, so a
    kill during a write leaves a truncated file that breaks the next start.
    """
    from src.search import kt_private

    kt_private.route_state_files(write_json_atomically, read_json_naming_the_file)
