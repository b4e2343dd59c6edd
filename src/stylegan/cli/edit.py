"""stylegan edit: move seeds or projected ws along a direction, one strip of strengths per input."""

from __future__ import annotations

import click

from stylegan.cli.common import FiniteFloat, device_option, network_option, open_generator


@click.command(name="edit")
@network_option
@click.option("--seeds", default=None, help="Seeds to edit, e.g. 0-7,12.")
@click.option(
    "--projected-w",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE.npz",
    help="Edit the ws saved by `stylegan project` (or `stylegan pti`) instead of seeds.",
)
@click.option(
    "--direction",
    "direction_file",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="A direction file written by `stylegan directions`.",
)
@click.option(
    "--vector",
    default="0",
    show_default=True,
    help="Which of the file's vectors: its name (pc3, smile, ...) or position.",
)
@click.option(
    "--strength",
    default="-3..3",
    show_default=True,
    help="Strengths in standard deviations of the latents along the direction: A..B (with --steps), "
    "A (meaning -A..A) or a list A,B,C.",
)
@click.option(
    "--steps", type=click.IntRange(1, 1000), default=7, show_default=True, help="Images per strip for a range A..B."
)
@click.option(
    "--layers",
    default=None,
    metavar="RANGE",
    help="Edit only these ws, e.g. 0-3 [default: the direction's own layers, else all].",
)
@click.option(
    "--trunc",
    "truncation_psi",
    type=FiniteFloat(),
    default=1.0,
    show_default=True,
    help="Truncation psi of the seeds, in [-2, 2].",
)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option(
    "--video",
    "video_frames",
    type=click.IntRange(0, 10_000),
    default=0,
    show_default=True,
    help="Also write edit.mp4 sweeping the strengths with this many frames (0: no video).",
)
@click.option("--fps", type=FiniteFloat(min=0.1, max=240), default=15, show_default=True)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the results.")
@device_option
def command(
    network,
    seeds,
    projected_w,
    direction_file,
    vector,
    strength,
    steps,
    layers,
    truncation_psi,
    class_idx,
    noise_mode,
    video_frames,
    fps,
    outdir,
    device,
):
    """Edit images along a direction: one strip per seed (seedNNNN.png) or saved w (projNNNN.png), the
    strengths left to right, plus grid.png (all strips), edit.json and, with --video, edit.mp4.

    An edit adds strength x (the latents' standard deviation along the direction) x the direction's
    unit vector to z, the chosen ws, or the style coordinates, by the direction's space."""
    from stylegan.editing.directions import load_direction
    from stylegan.editing.edit import (
        EditInputs,
        edit_paths,
        inputs_from_seeds,
        parse_strengths,
        render_edits,
        write_edits,
    )
    from stylegan.errors import UserError
    from stylegan.tools.generate import check_truncation, load_projected_ws
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_int_list, parse_seeds

    if (seeds is None) == (projected_w is None):
        raise UserError("give either --seeds or --projected-w (one of them)")
    if projected_w is not None and (truncation_psi != 1.0 or class_idx is not None):
        raise UserError("--trunc and --class apply to seeds; a projected w is edited as saved")
    seed_list = parse_seeds(seeds, limit=10_000) if seeds is not None else None
    strengths = parse_strengths(strength, steps)
    layer_list = parse_int_list(layers, "layer list") if layers is not None else None
    check_truncation(truncation_psi, None)
    direction = load_direction(direction_file)
    index = direction.index(vector)
    dev = pick_device(device)
    G = open_generator(network, dev)
    if seed_list is not None:
        inputs = inputs_from_seeds(G, seed_list, class_idx, truncation_psi, device=dev)
        names = [f"seed{s:04d}" for s in seed_list]
    else:
        ws = load_projected_ws(projected_w, G.num_ws, G.w_dim)
        inputs = EditInputs(ws.to(dev))
        names = [f"proj{i:04d}" for i in range(ws.shape[0])]
    refuse_overwriting_inputs(
        {"--network": network, "--projected-w": projected_w, "--direction": direction_file},
        edit_paths(outdir, names, video_frames > 0),
    )
    check_writable_folder(outdir)
    origins = _origins(network)
    images = render_edits(G, inputs, direction, index, strengths, layer_list, noise_mode, origins=origins)
    video = None
    if video_frames > 0:
        lo, hi = min(strengths), max(strengths)
        sweep = [lo + (hi - lo) * i / max(1, video_frames - 1) for i in range(video_frames)]
        video = render_edits(G, inputs, direction, index, sweep, layer_list, noise_mode, origins=origins)
    info = {
        "network": str(network),
        "direction": str(direction_file),
        "method": direction.method,
        "space": direction.space,
        "vector": direction.names[index],
        "scale": float(direction.scales[index]),
        "layers": layer_list if layer_list is not None else direction.layers,
        "noise_mode": noise_mode,
    }
    files = write_edits(
        images, names, strengths, outdir, info, video, fps, notice=lambda m: click.echo(f"note: {m}", err=True)
    )
    click.echo(
        f"edited {len(names)} input(s) along {direction.names[index]} ({direction.method}, "
        f"{direction.space}) at {len(strengths)} strengths; wrote {files.grid}"
        + (f", {files.video.name}" if files.video else "")
    )


def _origins(network: str) -> tuple[str, ...]:
    """The fingerprint of the network a `stylegan pti` result was tuned from (its 'pti_of' metadata)."""
    from pathlib import Path

    from stylegan.errors import UserError
    from stylegan.io.checkpoint import read_metadata

    if not str(network).endswith(".safetensors") or not Path(network).is_file():
        return ()
    try:
        origin = read_metadata(network).get("pti_of")
    except UserError:
        return ()
    return (origin,) if origin else ()
