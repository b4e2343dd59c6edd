"""stylegan pti: pivotal tuning inversion (project to a pivot w, then fine-tune the generator)."""

from __future__ import annotations

import click

from stylegan.cli.common import SEED, FiniteFloat, device_option, distance_options, network_option, open_generator


@click.command(name="pti")
@network_option
@click.option("--target", required=True, type=click.Path(), help="Target image (centre-cropped and resized).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the results.")
@click.option(
    "--projected-w",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE.npz",
    help="Use this pivot (a w saved by `stylegan project`) instead of projecting first.",
)
@click.option(
    "--project-steps",
    type=click.IntRange(1, 1_000_000),
    default=500,
    show_default=True,
    help="Steps of the W projection that finds the pivot.",
)
@click.option(
    "--steps", "num_steps", type=click.IntRange(1, 1_000_000), default=350, show_default=True, help="Tuning steps."
)
@distance_options("Image distance D of the projection and the tuning (plus L2).")
@click.option(
    "--lr",
    "learning_rate",
    type=FiniteFloat(min=0, min_open=True, max=1),
    default=3e-4,
    show_default=True,
    help="Adam learning rate of the tuning.",
)
@click.option("--l2-weight", type=FiniteFloat(min=0, max=1e6), default=1.0, show_default=True)
@click.option(
    "--locality-weight",
    type=FiniteFloat(min=0, max=1e6),
    default=0.1,
    show_default=True,
    help="Weight of each term (D and L2) of the locality regulariser; 0 turns it off.",
)
@click.option(
    "--locality-alpha",
    type=FiniteFloat(min=0, max=1e6),
    default=30.0,
    show_default=True,
    help="Distance from the pivot of the regulariser's latents.",
)
@click.option("--w-avg-samples", type=click.IntRange(1, 10_000_000), default=10_000, show_default=True)
@click.option("--seed", type=SEED, default=303, show_default=True)
@device_option
def command(
    network,
    target,
    outdir,
    projected_w,
    project_steps,
    num_steps,
    distance_name,
    distance_weights,
    learning_rate,
    l2_weight,
    locality_weight,
    locality_alpha,
    w_avg_samples,
    seed,
    device,
):
    """Pivotal tuning inversion (Roich et al. 2021): find a pivot w by projection, then fine-tune the
    generator so that the pivot reconstructs the target, keeping it unchanged away from the pivot.

    Writes projected_w.npz (the pivot), tuned.safetensors (the tuned generator), target.png,
    pivot.png (the original network at the pivot), tuned.png, side_by_side.png (target | pivot |
    tuned) and pti.json (errors before and after). Edit the result with
    `stylegan edit --network DIR/tuned.safetensors --projected-w DIR/projected_w.npz --direction ...`."""
    from tqdm import tqdm

    from stylegan.editing.pti import pivotal_tuning, pti_paths, write_pti
    from stylegan.errors import UserError
    from stylegan.tools.generate import load_projected_ws
    from stylegan.tools.project import load_target, project, resolve_distance
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs

    refuse_overwriting_inputs(
        {
            "--network": network,
            "--target": target,
            "--projected-w": projected_w,
            "--distance-weights": distance_weights,
        },
        pti_paths(outdir),
    )
    check_writable_folder(outdir)
    dev = pick_device(device)
    G = open_generator(network, dev, nonfinite="error")
    if G.c_dim:
        raise UserError("pti supports unconditional networks")
    target_image = load_target(target, G.img_resolution, G.img_channels)
    distance = resolve_distance(distance_name, dev, path=distance_weights)
    if projected_w is not None:
        pivot = load_projected_ws(projected_w, G.num_ws, G.w_dim)
        if pivot.shape[0] != 1:
            raise UserError(f"{projected_w} holds {pivot.shape[0]} ws; the pivot is one")
        pivot_w = pivot[0, 0:1] if bool((pivot[0] == pivot[0, :1]).all()) else pivot[0]
    else:
        bar = tqdm(total=project_steps, unit="step", desc="pivot", leave=False)
        try:
            result = project(
                G,
                target_image,
                distance=distance,
                num_steps=project_steps,
                w_avg_samples=w_avg_samples,
                seed=seed,
                device=dev,
                progress=lambda *a: bar.update(1),
            )
        finally:
            bar.close()
        pivot_w = result.w  # [1, w_dim]
    pivot_ws = pivot_w.reshape(1, -1, G.w_dim).expand(1, G.num_ws, G.w_dim)
    bar = tqdm(total=num_steps, unit="step", desc="tune", leave=False)

    def progress(step, total, loss):
        bar.set_postfix_str(f"loss {loss:.4g}", refresh=False)
        bar.update(1)

    try:
        tuned = pivotal_tuning(
            G,
            target_image,
            pivot_ws,
            distance=distance,
            num_steps=num_steps,
            learning_rate=learning_rate,
            l2_weight=l2_weight,
            locality_alpha=locality_alpha,
            locality_distance_weight=locality_weight,
            locality_l2_weight=locality_weight,
            seed=seed,
            device=dev,
            progress=progress,
        )
    finally:
        bar.close()
    info = {
        "network": str(network),
        "target": str(target),
        "distance": distance_name,
        "pivot": "given" if projected_w else f"projected ({project_steps} steps)",
        "steps": num_steps,
        "lr": learning_rate,
        "l2_weight": l2_weight,
        "locality_weight": locality_weight,
        "locality_alpha": locality_alpha,
    }
    summary = write_pti(G, tuned, pivot_w, target_image, outdir, distance, info)
    before, after = summary["before"], summary["after"]
    click.echo(
        f"tuned in {tuned.seconds:.1f} s: {distance_name} distance {before['distance']:.4g} -> "
        f"{after['distance']:.4g}, MSE {before['mse']:.4g} -> {after['mse']:.4g}; wrote {outdir}"
    )
