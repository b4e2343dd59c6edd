"""stylegan export: a network -> the official PyTorch pickle, a rosinality checkpoint, ONNX or TorchScript."""

from __future__ import annotations

from pathlib import Path

import click

from stylegan.cli.common import FiniteFloat, force_option
from stylegan.errors import UserError

FORMATS = ("official-pytorch", "rosinality", "onnx", "torchscript")


def gather_networks(src: str | Path, d: str | Path | None = None) -> dict:
    """The networks to export by name (``G``, ``G_ema``, ``D``): every network of ``src`` (any
    format ``load_network`` reads, or a ``training-state-*.pt`` of a run), and the discriminator of
    ``d`` where given."""
    from stylegan.io.loading import load_network, load_networks

    state = training_state(src)
    if state is not None:
        from stylegan.training.build import networks_from_state

        networks = networks_from_state(state, str(src))
    else:
        networks = load_networks(src)
    if d is not None:
        if "D" in networks:
            raise UserError(f"{src} already holds a discriminator; --d is for sources without one")
        networks["D"] = load_network(d, which="D")
    return networks


def training_state(src: str | Path) -> dict | None:
    """The training state in ``src``, or None if it is not one (then ``load_networks`` says what it is)."""
    from stylegan.errors import CheckpointError
    from stylegan.io.loading import detect_format
    from stylegan.training.snapshot import load_state

    path = Path(src)
    try:
        if not path.is_file() or detect_format(path) != "torch":
            return None
        return load_state(path)
    except CheckpointError:
        return None


def export(
    src: str | Path,
    fmt: str,
    out: str | Path,
    d: str | Path | None = None,
    truncation_psi: float = 1.0,
    truncation_cutoff: int | None = None,
    noise_mode: str = "const",
    drop_conv_clamp: bool = False,
    overwrite: bool = False,
) -> dict:
    """Export ``src`` (and the discriminator of ``d``) to ``out`` in ``fmt``; returns a report:
    ``networks`` written, and for onnx/torchscript ``max_abs_diff`` against our own output."""
    from stylegan.io.zoo import resolve_network
    from stylegan.utils.files import check_output_file, refuse_overwriting_inputs

    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r} (choose one of {', '.join(FORMATS)})")
    out = Path(out)
    if out.is_dir():
        raise UserError(f"--out {out} is a directory; give a file name")
    refuse_overwriting_inputs({"N": resolve_network(src), "--d": d}, [out])
    check_output_file(out, overwrite)
    networks = gather_networks(src, d)
    if fmt == "official-pytorch":
        from stylegan.io.export_official import write_official_snapshot

        write_official_snapshot(networks, out)
        return {"networks": sorted(networks)}
    if fmt == "rosinality":
        from stylegan.io.export_rosinality import rosinality_checkpoint
        from stylegan.utils.files import atomic_write

        ckpt = rosinality_checkpoint(networks, drop_conv_clamp=drop_conv_clamp)

        def write(tmp: str) -> None:
            import torch

            with open(tmp, "wb") as f:
                torch.save(ckpt, f)

        atomic_write(out, write)
        return {"networks": sorted(k for k in ("g", "g_ema", "d") if k in ckpt)}
    from stylegan.io import export_inference as ei

    G = networks.get("G_ema", networks.get("G"))
    if G is None:
        raise UserError(f"{src} holds no generator to export")
    net = ei.InferenceGenerator(G, truncation_psi, truncation_cutoff, noise_mode)
    if fmt == "onnx":
        ei.export_onnx(net, out)
        diff = ei.verify_onnx(net, out) if ei.onnxruntime_available() else None
    else:
        ei.export_torchscript(net, out)
        diff = ei.verify_torchscript(net, out)
    return {"networks": ["G_ema" if "G_ema" in networks else "G"], "max_abs_diff": diff}


# Options that only some formats use -> those formats.
FORMAT_OPTIONS = {
    "d": ("official-pytorch", "rosinality"),
    "truncation_psi": ("onnx", "torchscript"),
    "truncation_cutoff": ("onnx", "torchscript"),
    "noise_mode": ("onnx", "torchscript"),
    "drop_conv_clamp": ("rosinality",),
}


def _refuse_options_of_other_formats(ctx: click.Context, fmt: str) -> None:
    from click.core import ParameterSource

    for name, formats in FORMAT_OPTIONS.items():
        if fmt not in formats and ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE:
            flag = next(p.opts[0] for p in ctx.command.params if p.name == name)
            raise UserError(f"{flag} applies to --format {' and '.join(formats)}, not {fmt}")


@click.command(name="export")
@click.argument("network", metavar="N")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="official-pytorch: a network-snapshot pickle for the official StyleGAN2-ADA-PyTorch / StyleGAN3 "
    "code; rosinality: a rosinality/stylegan2-pytorch .pt; onnx / torchscript: the generator for "
    "inference.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output file.")
@click.option(
    "--d",
    "d",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A network file whose discriminator goes along (official-pytorch, rosinality), for a source "
    "that has none (a native generator checkpoint).",
)
@click.option(
    "--trunc",
    "truncation_psi",
    type=FiniteFloat(),
    default=1.0,
    show_default=True,
    help="onnx/torchscript: truncation psi built into the graph.",
)
@click.option(
    "--trunc-cutoff",
    "truncation_cutoff",
    type=click.IntRange(min=0),
    default=None,
    help="onnx/torchscript: truncate only the first N ws.",
)
@click.option(
    "--noise-mode",
    type=click.Choice(["const", "none"]),
    default="const",
    show_default=True,
    help="onnx/torchscript: the stored noise maps (const) or no noise.",
)
@click.option(
    "--drop-conv-clamp",
    is_flag=True,
    help="rosinality: write a network trained with conv_clamp without it (rosinality has no clamp).",
)
@force_option
@click.pass_context
def command(ctx, network, fmt, out, d, truncation_psi, truncation_cutoff, noise_mode, drop_conv_clamp, force):
    """Export the network N (any network file, shipped name, or a run's training-state-*.pt) to
    another tool's format.

    \b
      stylegan export run/network-snapshot-000200.safetensors --format onnx --out G.onnx --trunc 0.7
      stylegan export G.safetensors --d D.safetensors --format official-pytorch --out network-snapshot.pkl
      stylegan export ffhq.pkl --format rosinality --out ffhq.pt --drop-conv-clamp
      stylegan export run/training-state-000200.pt --format official-pytorch --out network-snapshot-000200.pkl

    official-pytorch pickles load with the official code's legacy.load_network_pkl (the official
    training/ package must be on the Python path); a source without a discriminator gets an empty
    placeholder D. onnx/torchscript exports are checked against this package's own output.
    """
    _refuse_options_of_other_formats(ctx, fmt)
    report = export(
        network, fmt, out, d, truncation_psi, truncation_cutoff, noise_mode, drop_conv_clamp, overwrite=force
    )
    click.echo(f"{', '.join(report['networks'])} -> {out}")
    if "max_abs_diff" in report:
        diff = report["max_abs_diff"]
        if diff is None:
            click.echo("not verified: onnxruntime is not installed")
        else:
            click.echo(f"verified: max abs difference to this package's output {diff:.3g}")
