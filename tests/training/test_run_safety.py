"""A run directory has one writer, keeps no stale temporaries, and a failed start leaves none behind."""

from __future__ import annotations

import pytest

from stylegan.errors import UserError
from stylegan.training import snapshot as snap
from stylegan.training.launch import train
from stylegan.training.options import TrainingOptions
from tests.training.tiny import TinyDataset, replace, run, tiny_options


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A finished 8-image run with a training state to resume from."""
    outdir = tmp_path_factory.mktemp("runs")
    opts = tiny_options(outdir, kimg=0.008, tick=0.004)
    return outdir, run(opts)


def test_second_writer_is_refused(trained_run):
    outdir, run_dir = trained_run
    with snap.run_lock(run_dir):  # another process training this run holds its lock
        with pytest.raises(UserError, match="being trained by another process"):
            train(
                TrainingOptions(outdir=str(outdir)),
                resume="latest",
                overrides={"kimg": 0.012},
                dataset=TinyDataset(32, 8),
                verbose=False,
            )
        assert snap.tag_nimg(snap.training_states(run_dir)[-1].name) == 8  # it did not train
    # The lock went with its holder: the run continues now.
    train(
        TrainingOptions(outdir=str(outdir)),
        resume=str(run_dir),
        overrides={"kimg": 0.012},
        dataset=TinyDataset(32, 8),
        verbose=False,
    )
    assert snap.tag_nimg(snap.training_states(run_dir)[-1].name) == 12


def test_resume_removes_stale_temporaries(trained_run):
    outdir, run_dir = trained_run
    stale = [run_dir / ".training-state-000000.016.pt.x1y2z3w4.tmp", run_dir / ".fakes000000.016.png.abcdefgh.tmp"]
    for path in stale:
        path.write_bytes(b"left by kill -9")
    nimg = snap.tag_nimg(snap.training_states(run_dir)[-1].name)
    train(
        TrainingOptions(outdir=str(outdir)),
        resume=str(run_dir),
        overrides={"kimg": (nimg + 4) / 1000},
        dataset=TinyDataset(32, 8),
        verbose=False,
    )
    assert not any(p.exists() for p in stale)
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


class StartFails(Exception):
    pass


@pytest.mark.parametrize(
    "failure", ["bad augpipe", "no channels", "network does not fit", "trainer fails", "interrupted"]
)
def test_failed_start_leaves_no_run_directory(tmp_path, monkeypatch, failure):
    import stylegan
    from stylegan.models import build_preset
    from stylegan.training import loop

    opts = tiny_options(tmp_path / "runs")
    kwargs = {}
    if failure == "bad augpipe":
        opts = replace(opts, aug="ada", augpipe="bogus", resolved=False)
    elif failure == "no channels":  # --cbase 3: the networks refuse the capacity
        opts = replace(opts, cbase=3)
    elif failure == "network does not fit":  # found only when the trainer loads it into G: another architecture
        import dataclasses

        from stylegan.models.registry import build

        spec = build_preset("stylegan2", 8, channel_base=64, channel_max=8, map_layers=1, z_dim=8, w_dim=8)
        G = build(spec.G_kind, dataclasses.replace(spec.G, architecture="resnet"))
        kwargs["resume"] = str(stylegan.save(G, tmp_path / "other.safetensors"))
    else:
        error = StartFails if failure == "trainer fails" else KeyboardInterrupt

        def fail(self, *args, **kwargs):
            raise error

        monkeypatch.setattr(loop.Trainer, "_write_initial_images", fail)
    with pytest.raises((UserError, StartFails, KeyboardInterrupt)):
        run(opts, **kwargs)
    assert not list((tmp_path / "runs").glob("0*"))


def test_a_run_that_trained_is_kept_after_a_failure(tmp_path):
    from tests.training.tiny import Crash, crash_at

    with pytest.raises(Crash):
        run(tiny_options(tmp_path), hooks={"after_step": crash_at(8)})
    (run_dir,) = tmp_path.glob("0*")
    assert (run_dir / "stats.jsonl").exists()


def test_run_numbers_taken_meanwhile_are_skipped(tmp_path, monkeypatch):
    """Two trainings starting together: a number another process took after the scan is skipped."""
    real_mkdir = type(tmp_path).mkdir
    taken = []

    def racing_mkdir(self, *args, **kwargs):
        if self.name.startswith("00000-") and not taken:
            taken.append(real_mkdir(self.parent / "00000-other"))  # the other training, same number
            raise FileExistsError(self)
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "mkdir", racing_mkdir)
    assert snap.new_run_dir(tmp_path, "mine").name == "00001-mine"
