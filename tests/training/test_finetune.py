"""Fine-tuning from a network file: the discriminator too where the file has one, Freeze-D, other
resolutions and capacities; a run's training state exported for the official code."""

import pytest
import torch

from stylegan.cli.main import main
from stylegan.errors import UserError
from stylegan.io import load_networks
from stylegan.io.export_official import write_official_snapshot
from stylegan.training import snapshot as snap
from stylegan.training.build import build_networks, model_spec
from tests.training.tiny import final_state, run, tiny_options


def trained_file(tmp_path, **changes):
    """A tiny run's training state exported as an official snapshot (``stylegan export``), and its networks."""
    opts = tiny_options(tmp_path / "a", kimg=0.004, **changes)
    run_dir = run(opts)
    state = snap.training_states(run_dir)[-1]
    pkl = tmp_path / "network-snapshot.pkl"
    assert main(["export", str(state), "--format", "official-pytorch", "--out", str(pkl)]) == 0
    nets = load_networks(pkl)
    saved = final_state(run_dir)
    for name in ("G", "D", "G_ema"):  # the state's own networks, rebuilt from its options
        assert nets[name].state_dict().keys() == saved[name].keys()
        assert all(torch.equal(nets[name].state_dict()[k], v) for k, v in saved[name].items())
    return pkl, nets


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


def parse_table(text: str) -> dict:
    """{(network, tensor): (status, detail)} of a transfer.txt."""
    rows, net = {}, None
    for line in text.splitlines():
        if not line.startswith(" "):
            net = line.split(":")[0]
            continue
        name, status, *detail = line.split(maxsplit=2)
        rows[net, name] = (status, detail[0] if detail else "")
    return rows


def test_other_capacity_and_resolution_copy_what_fits_and_report_it(tmp_path):
    _, nets = trained_file(tmp_path)  # 8 px, 16 channels
    _, D8 = build_networks(model_spec(tiny_options(tmp_path / "x", cmax=8), 3, 0))
    pkl = write_official_snapshot({"G_ema": nets["G_ema"], "D": D8}, tmp_path / "mixed.pkl")
    run_dir = run(tiny_options(tmp_path / "c", kimg=0.004, resolution=16), resume=str(pkl))
    rows = parse_table((run_dir / "transfer.txt").read_text())
    log = (run_dir / "log.txt").read_text()
    # G at 16 px (16, 16, 8 channels at 4, 8, 16 px): the 4 and 8 px blocks and the mapping are the file's.
    assert rows["G", "synthesis.b8.conv1.weight"] == ("copied", "")
    assert rows["G", "mapping.fc0.weight"] == ("copied", "")
    assert rows["G", "synthesis.b16.conv0.weight"] == ("new", "not in the file")
    # D of the file has 8 channels, the run's 16 (at 8 px) or 8 (at 16 px): what fits is copied.
    assert rows["D", "b8.conv1.weight"] == ("new", "file [8, 8, 3, 3], run [16, 16, 3, 3]")
    assert rows["D", "b8.fromrgb.weight"] == ("unused", "not in the run's network")  # the file's top block
    assert rows["D", "b4.out.bias"] == ("copied", "")
    summary = [line for line in log.splitlines() if line.startswith(("G:", "D:"))]
    assert len(summary) == 2 and "tensors copied" in summary[0]


def test_a_network_that_computes_differently_is_refused_before_training(tmp_path):
    import dataclasses

    import stylegan

    opts = tiny_options(tmp_path / "x")
    G, _ = build_networks(model_spec(opts, 3, 0))
    relu = type(G)(dataclasses.replace(G.config, activation="relu", resample_filter=(1, 1)))
    stylegan.save(relu, tmp_path / "relu.safetensors")
    with pytest.raises(
        UserError,
        match=r"computes differently from --cfg stylegan2's: resample_filter: file "
        r"\(1, 1\), run \(1, 3, 3, 1\); activation: file 'relu', run 'lrelu'",
    ):
        run(tiny_options(tmp_path / "c", kimg=0.004), resume=str(tmp_path / "relu.safetensors"))
    assert not any((tmp_path / "c").iterdir())  # the run directory of the failed start is removed
    with pytest.raises(UserError, match="is a stylegan2.generator; --cfg stylegan3-t trains a stylegan3.generator"):
        run(
            tiny_options(tmp_path / "d", kimg=0.004, cfg="stylegan3-t", resolution=16),
            resume=str(tmp_path / "relu.safetensors"),
        )


def test_convert_takes_the_discriminator_out_of_a_training_state(tmp_path):
    import stylegan

    run_dir = run(tiny_options(tmp_path / "a", kimg=0.004))
    state = snap.training_states(run_dir)[-1]
    assert main(["convert", str(state), str(tmp_path / "D.safetensors"), "--which", "D"]) == 0
    assert main(["convert", str(state), str(tmp_path / "all"), "--which", "all"]) == 0
    saved = final_state(run_dir)
    D = stylegan.load(tmp_path / "D.safetensors")
    assert all(torch.equal(D.state_dict()[k], v) for k, v in saved["D"].items())
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        "D.safetensors",
        "G.safetensors",
        "G_ema.safetensors",
    ]
