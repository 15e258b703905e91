import pytest

from visionlab.core import atomic


def test_write_replaces_whole_file(tmp_path):
    target = tmp_path / "runs" / "config.json"
    atomic.write_text(target, "first")
    atomic.write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["config.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "settings.ini"
    atomic.write_text(target, "good")
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(target, "w") as handle:
            handle.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.ini"]
