"""The shared output helpers: atomic writes, the inputs-vs-outputs guard, stale temporaries."""

from __future__ import annotations

import errno
import os

import pytest
import torch

from stylegan.errors import UserError, WriteError
from stylegan.utils import files
from stylegan.utils.files import atomic_write, refuse_overwriting_inputs, remove_stale_temporaries


def test_atomic_write_replaces_and_honours_umask(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    old = os.umask(0o027)
    try:
        atomic_write(path, lambda tmp: open(tmp, "w").write("one"))
        atomic_write(path, lambda tmp: open(tmp, "w").write("two"))
    finally:
        os.umask(old)
    assert path.read_text() == "two"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(path.parent) == ["a.txt"]


def _full_disk(tmp):
    raise OSError(errno.ENOSPC, "No space left on device")


def _torch_full_disk(tmp):  # torch.save to a file object: RuntimeError with the OSError as its context
    try:
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError:
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598") from None


def _safetensors_full_disk(tmp):
    from safetensors import SafetensorError

    raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")


@pytest.mark.parametrize("write", [_full_disk, _torch_full_disk, _safetensors_full_disk])
def test_failed_write_leaves_old_file_and_no_temporary(tmp_path, write):
    path = tmp_path / "net.safetensors"
    path.write_text("old")

    def partial_then_fail(tmp):
        open(tmp, "w").write("partial")
        write(tmp)

    with pytest.raises(WriteError) as info:
        atomic_write(path, partial_then_fail)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    assert str(info.value) == f"cannot write {path}: No space left on device"
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["net.safetensors"]


def test_unwritable_folder_is_a_write_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(WriteError, match="file.txt"):
        atomic_write(blocker / "sub" / "a.png", lambda tmp: None)
    with pytest.raises(WriteError, match="not a folder"):
        files.make_folder(blocker)


def test_other_errors_pass_through(tmp_path):
    def bug(tmp):
        raise ValueError("a bug, not the disk")

    def input_missing(tmp):
        open(tmp_path / "missing-input.png")

    with pytest.raises(ValueError):
        atomic_write(tmp_path / "a", bug)
    with pytest.raises(FileNotFoundError) as info:  # about another file: not reported as a write error
        atomic_write(tmp_path / "a", input_missing)
    assert not isinstance(info.value, WriteError)
    assert os.listdir(tmp_path) == []


def test_training_state_on_a_full_disk(tmp_path, monkeypatch):
    """torch.save hides the OSError in a RuntimeError ('basic_ios::clear'/'unexpected pos'); the
    training state is written through a Python file so that the error names the state file."""
    from stylegan.training.snapshot import save_state

    real_open = open

    def failing_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        if "w" in mode and str(file).endswith(".tmp"):

            class Full:
                def __getattr__(self, name):
                    return getattr(f, name)

                def write(self, data):
                    raise OSError(errno.ENOSPC, "No space left on device")

                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    f.close()

            return Full()
        return f

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(WriteError, match="state.pt: No space left"):
        save_state(tmp_path / "state.pt", {"x": torch.zeros(3)})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_guard_refuses_outputs_that_are_inputs(tmp_path):
    net = tmp_path / "n.safetensors"
    net.write_text("net")
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "link.safetensors").symlink_to(net)
    inputs = {"--network": net, "--data": data, "--missing": tmp_path / "nothing", "--none": None}
    refuse_overwriting_inputs(inputs, [tmp_path / "out.json", tmp_path / "out" / "n.safetensors"])
    for out in (net, tmp_path / "sub" / ".." / "n.safetensors", data, data / "x" / "stats.json"):
        with pytest.raises(UserError, match="--network|--data"):
            refuse_overwriting_inputs(inputs, [tmp_path / "ok.png", out])
    with pytest.raises(UserError, match="--network"):  # given through a link: protected under both names
        refuse_overwriting_inputs({"--network": tmp_path / "link.safetensors"}, net)
    with pytest.raises(UserError, match="--network"):
        refuse_overwriting_inputs({"--network": net}, tmp_path / "link.safetensors")


def test_remove_stale_temporaries(tmp_path):
    keep = ["training-state-000001.pt", ".hidden.tmp", "notes.tmp", ".lock"]
    stale = [".training-state-000001.pt.ab_c12x9.tmp", ".fakes000001.png.k2j3h4g5.tmp"]
    for name in keep + stale:
        (tmp_path / name).write_text("x")
    assert sorted(p.name for p in remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert sorted(os.listdir(tmp_path)) == sorted(keep)
    assert remove_stale_temporaries(tmp_path / "missing") == []
