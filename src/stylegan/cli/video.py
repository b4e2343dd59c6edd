"""stylegan video: latent interpolation video (and StyleGAN3 translate/rotate animations)."""

from __future__ import annotations

import click

from stylegan.cli.common import (
    FiniteFloat,
    device_option,
    force_option,
    network_option,
    open_generator,
    parse_float_pair,
    precision_option,
)


@click.command(name="video")
@network_option
@click.option(
    "--seeds", required=True, help="Keyframe seeds, cell by cell: W*H*K seeds give each grid cell K keyframes."
)
@click.option("--grid", "grid_text", default="1x1", show_default=True, help="Grid of videos, WxH.")
@click.option(
    "--frames-per-seed",
    type=click.IntRange(1, 100_000),
    default=60,
    show_default=True,
    help="Frames between one keyframe and the next.",
)
@click.option(
    "--space",
    type=click.Choice(["w", "z"]),
    default="w",
    show_default=True,
    help="Interpolate linearly in W or spherically in Z.",
)
@click.option("--trunc", "truncation_psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi.")
@click.option(
    "--trunc-cutoff", "truncation_cutoff", type=int, default=None, help="Truncate only the first N ws (default: all)."
)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option(
    "--translate",
    default=None,
    metavar="X,Y",
    help="StyleGAN3: swing the image by up to this offset (fractions of the image) over the loop.",
)
@click.option(
    "--rotate",
    type=FiniteFloat(),
    default=None,
    metavar="DEG",
    help="StyleGAN3: swing the image by up to this angle (degrees) over the loop.",
)
@click.option("--fps", type=FiniteFloat(min=0.1), default=30, show_default=True)
@click.option(
    "--output",
    default="video.mp4",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The .mp4 (or .gif) to write; a .gif beside it where ffmpeg is missing.",
)
@force_option
@precision_option
@device_option
def command(
    network,
    seeds,
    grid_text,
    frames_per_seed,
    space,
    truncation_psi,
    truncation_cutoff,
    class_idx,
    noise_mode,
    translate,
    rotate,
    fps,
    output,
    force,
    device,
    precision,
):
    """Looping interpolation video between keyframe seeds, lerp in W or slerp in Z."""
    from stylegan.tools.generate import check_truncation
    from stylegan.tools.media import check_video_path, video_path_written
    from stylegan.tools.video import parse_grid, write_interpolation_video
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_output_file, refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    grid_size = parse_grid(grid_text)
    offset = parse_float_pair(translate, "--translate")
    check_truncation(truncation_psi, truncation_cutoff)
    check_video_path(output)
    written = video_path_written(output)
    refuse_overwriting_inputs({"--network": network}, written)
    check_output_file(written, force)
    dev = pick_device(device)
    G = open_generator(network, dev, precision=precision)
    path = write_interpolation_video(
        G,
        seed_list,
        output,
        fps=fps,
        progress=True,
        notice=lambda m: click.echo(f"note: {m}", err=True),
        grid_size=grid_size,
        frames_per_seed=frames_per_seed,
        space=space,
        truncation_psi=truncation_psi,
        truncation_cutoff=truncation_cutoff,
        class_idx=class_idx,
        noise_mode=noise_mode,
        translate=offset,
        rotate=rotate,
        device=dev,
    )
    click.echo(f"wrote {path}")
