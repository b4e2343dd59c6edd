"""stylegan project: find the w (or w+) whose image matches a target image."""

from __future__ import annotations

import click

from stylegan.cli.common import (
    SEED,
    FiniteFloat,
    device_option,
    distance_options,
    network_option,
    open_generator,
    precision_option,
)


@click.command(name="project")
@network_option
@click.option("--target", required=True, type=click.Path(), help="Target image (centre-cropped and resized).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the results.")
@click.option("--steps", "num_steps", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--w-plus", is_flag=True, help="Optimise one w per layer (W+) instead of one shared w.")
@distance_options()
@click.option(
    "--w-avg-samples",
    type=click.IntRange(1, 10_000_000),
    default=10_000,
    show_default=True,
    help="Mapped latents used for the starting w_avg and w_std.",
)
@click.option("--lr", "initial_learning_rate", type=FiniteFloat(min=0, min_open=True), default=0.1, show_default=True)
@click.option(
    "--noise-weight",
    "regularize_noise_weight",
    type=FiniteFloat(min=0),
    default=1e5,
    show_default=True,
    help="Weight of the noise regularisation.",
)
@click.option("--seed", type=SEED, default=303, show_default=True)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--save-video", is_flag=True, help="Also write proj.mp4: target | projection at every step.")
@click.option("--fps", type=FiniteFloat(min=0.1), default=10, show_default=True)
@precision_option
@device_option
def command(
    network,
    target,
    outdir,
    num_steps,
    w_plus,
    distance_name,
    distance_weights,
    w_avg_samples,
    initial_learning_rate,
    regularize_noise_weight,
    seed,
    class_idx,
    save_video,
    fps,
    device,
    precision,
):
    """Project a target image into the network's latent space (the StyleGAN2 projector).

    Writes projected_w.npz (key w: [1, w_dim], or [num_ws, w_dim] with --w-plus), proj.png,
    target.png, side_by_side.png, projection.json and, with --save-video, proj.mp4.
    Render the result again with `stylegan generate --projected-w DIR/projected_w.npz`."""
    from tqdm import tqdm

    from stylegan.tools.project import load_target, project, projection_paths, resolve_distance, write_projection
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs

    refuse_overwriting_inputs(
        {"--network": network, "--target": target, "--distance-weights": distance_weights},
        projection_paths(outdir, save_video),
    )
    check_writable_folder(outdir)
    dev = pick_device(device)
    G = open_generator(network, dev, nonfinite="error", precision=precision)
    target_image = load_target(target, G.img_resolution, G.img_channels)
    distance = resolve_distance(distance_name, dev, path=distance_weights)
    bar = tqdm(total=num_steps, unit="step", leave=False)

    def progress(step, total, dist, loss):
        bar.set_postfix_str(f"dist {dist:.4g} loss {loss:.4g}", refresh=False)
        bar.update(1)

    try:
        result = project(
            G,
            target_image,
            distance=distance,
            num_steps=num_steps,
            w_plus=w_plus,
            w_avg_samples=w_avg_samples,
            initial_learning_rate=initial_learning_rate,
            regularize_noise_weight=regularize_noise_weight,
            class_idx=class_idx,
            seed=seed,
            record_steps=save_video,
            device=dev,
            progress=progress,
        )
    finally:
        bar.close()
    files = write_projection(
        G,
        result,
        target_image,
        outdir,
        distance=distance,
        distance_name=distance_name,
        save_video=save_video,
        fps=fps,
        device=dev,
        notice=lambda m: click.echo(f"note: {m}", err=True),
        info={"network": str(network), "target": str(target), "seed": seed, "w_avg_samples": w_avg_samples},
    )
    click.echo(
        f"projected in {result.seconds:.1f} s: final {distance_name} distance {result.distances[-1]:.4g}; "
        f"wrote {files.w}, {files.proj.name}, {files.side_by_side.name}"
        + (f", {files.video.name}" if files.video else "")
    )
