"""Files replaced atomically: the old content or the new, never half, and no temporary left."""

import pytest

from src.runtime.atomic import replacing, write_atomically


def test_write_atomically_writes_text_and_bytes(tmp_path):
    path = tmp_path / "sub" / "state.json"
    write_atomically(path, "{}")
    assert path.read_text() == "{}"
    write_atomically(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "data.gz"
    write_atomically(path, "old")
    with pytest.raises(OSError), replacing(path) as tmp:
        tmp.write_text("half")
        raise OSError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["data.gz"]
