"""Fine-tuning from a network file: the discriminator too where the file has one, and Freeze-D."""

import pytest
import torch

from stylegan.errors import UserError
from stylegan.io.export_official import write_official_snapshot
from stylegan.training.build import build_networks, model_spec
from tests.training.tiny import final_state, run, tiny_options


def trained_file(tmp_path, **changes):
    """A tiny run's networks written as an official snapshot (G, G_ema and D), and those networks."""
    opts = tiny_options(tmp_path / "a", kimg=0.004, **changes)
    state = final_state(run(opts))
    nets = {}
    for name in ("G", "D", "G_ema"):
        G, D = build_networks(model_spec(opts, 3, 0))
        module = D if name == "D" else G
        module.load_state_dict(state[name])
        nets[name] = module.eval()
    return write_official_snapshot(nets, tmp_path / "network-snapshot.pkl"), nets


def test_fine_tuning_starts_from_the_files_discriminator_and_freeze_d_keeps_its_first_layers(tmp_path):
    pkl, nets = trained_file(tmp_path)
    run_dir = run(tiny_options(tmp_path / "b", kimg=0.008, freeze_d=1), resume=str(pkl))
    assert "Generator and discriminator initialised from" in (run_dir / "log.txt").read_text()
    D = final_state(run_dir)["D"]
    start = nets["D"].state_dict()
    frozen = [k for k in D if k.startswith("b8.fromrgb.")]  # layer 0 of D
    assert frozen and all(torch.equal(D[k], start[k]) for k in frozen)
    trained = [k for k in D if k.startswith(("b8.conv", "b4.")) and not k.endswith("resample_filter")]
    assert trained and all(not torch.equal(D[k], start[k]) for k in trained)


def test_freeze_d_is_checked_before_training(tmp_path):
    with pytest.raises(UserError, match="--freeze-d 9: the discriminator has 4 layers"):
        run(tiny_options(tmp_path / "x", freeze_d=9))
    with pytest.raises(UserError, match="--freeze-d: the stylegan1.discriminator .* has no frozen layers"):
        model_spec(tiny_options(tmp_path / "y", cfg="stylegan1", freeze_d=1), 3, 0)


def test_a_discriminator_that_does_not_fit_is_refused(tmp_path):
    _, nets = trained_file(tmp_path)
    _, D8 = build_networks(model_spec(tiny_options(tmp_path / "x", cmax=8), 3, 0))
    pkl = write_official_snapshot({"G_ema": nets["G_ema"], "D": D8}, tmp_path / "mixed.pkl")
    with pytest.raises(UserError, match="the discriminator to start from does not fit --cfg stylegan2"):
        run(tiny_options(tmp_path / "c", kimg=0.004), resume=str(pkl))
    assert not any((tmp_path / "c").iterdir())  # the run directory of the failed start is removed
