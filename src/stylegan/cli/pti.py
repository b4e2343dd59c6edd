"""stylegan pti: pivotal tuning inversion (project to a pivot w, then fine-tune the generator)."""

from __future__ import annotations

import click

from stylegan.cli.common import SEED, FiniteFloat, device_option, network_option, open_generator

PTI_FILES = ("projected_w.npz", "tuned.safetensors", "target.png", "pivot.png", "tuned.png", "side_by_side.png",
             "pti.json")


@click.command(name="pti")
@network_option
@click.option("--target", required=True, type=click.Path(), help="Target image (centre-cropped and resized).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the results.")
@click.option("--projected-w", default=None, type=click.Path(dir_okay=False), metavar="FILE.npz",
              help="Use this pivot (a w saved by `stylegan project`) instead of projecting first.")
@click.option("--project-steps", type=click.IntRange(1, 1_000_000), default=500, show_default=True,
              help="Steps of the W projection that finds the pivot.")
@click.option("--steps", "num_steps", type=click.IntRange(1, 1_000_000), default=350, show_default=True,
              help="Tuning steps.")
@click.option("--distance", "distance_name", type=click.Choice(["lpips", "probe", "mse"]), default="lpips",
              show_default=True, help="Image distance D of the projection and the tuning (plus L2).")
@click.option("--distance-weights", default=None, type=click.Path(),
              help="File of the distance's network (e.g. the official vgg16.pt); default: the usual cache.")
@click.option("--lr", "learning_rate", type=FiniteFloat(min=0, min_open=True, max=1), default=3e-4,
              show_default=True, help="Adam learning rate of the tuning.")
@click.option("--l2-weight", type=FiniteFloat(min=0, max=1e6), default=1.0, show_default=True)
@click.option("--locality-weight", type=FiniteFloat(min=0, max=1e6), default=0.1, show_default=True,
              help="Weight of each term (D and L2) of the locality regulariser; 0 turns it off.")
@click.option("--locality-alpha", type=FiniteFloat(min=0, max=1e6), default=30.0, show_default=True,
              help="Distance from the pivot of the regulariser's latents.")
@click.option("--w-avg-samples", type=click.IntRange(1, 10_000_000), default=10_000, show_default=True)
@click.option("--seed", type=SEED, default=303, show_default=True)
@device_option
def command(network, target, outdir, projected_w, project_steps, num_steps, distance_name, distance_weights,
            learning_rate, l2_weight, locality_weight, locality_alpha, w_avg_samples, seed, device):
    """Pivotal tuning inversion (Roich et al. 2021): find a pivot w by projection, then fine-tune the
    generator so that the pivot reconstructs the target, keeping it unchanged away from the pivot.

    Writes projected_w.npz (the pivot), tuned.safetensors (the tuned generator), target.png,
    pivot.png (the original network at the pivot), tuned.png, side_by_side.png (target | pivot |
    tuned) and pti.json (errors before and after). Edit the result with
    `stylegan edit --network DIR/tuned.safetensors --projected-w DIR/projected_w.npz --direction ...`."""
    import json
    from pathlib import Path

    import numpy as np
    from tqdm import tqdm

    import stylegan
    from stylegan.editing.directions import network_fingerprint
    from stylegan.editing.pti import pivotal_tuning, reconstruction_errors
    from stylegan.errors import UserError
    from stylegan.tools.generate import load_projected_ws, synthesize
    from stylegan.tools.media import save_json, save_npz
    from stylegan.tools.project import load_target, project, resolve_distance
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, make_folder, refuse_overwriting_inputs
    from stylegan.utils.images import save_png, to_uint8

    outdir_path = Path(outdir)
    refuse_overwriting_inputs({"--network": network, "--target": target, "--projected-w": projected_w,
                               "--distance-weights": distance_weights}, [outdir_path / n for n in PTI_FILES])
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
            result = project(G, target_image, distance=distance, num_steps=project_steps, w_avg_samples=w_avg_samples,
                             seed=seed, device=dev, progress=lambda *a: bar.update(1))
        finally:
            bar.close()
        pivot_w = result.w  # [1, w_dim]
    pivot_ws = pivot_w.reshape(1, -1, G.w_dim).expand(1, G.num_ws, G.w_dim)
    before = reconstruction_errors(G, pivot_ws, target_image, distance)
    bar = tqdm(total=num_steps, unit="step", desc="tune", leave=False)

    def progress(step, total, loss):
        bar.set_postfix_str(f"loss {loss:.4g}", refresh=False)
        bar.update(1)

    try:
        tuned = pivotal_tuning(G, target_image, pivot_ws, distance=distance, num_steps=num_steps,
                               learning_rate=learning_rate, l2_weight=l2_weight, locality_alpha=locality_alpha,
                               locality_distance_weight=locality_weight, locality_l2_weight=locality_weight,
                               seed=seed, device=dev, progress=progress)
    finally:
        bar.close()
    after = reconstruction_errors(tuned.G, pivot_ws, target_image, distance)
    out = make_folder(outdir)
    save_npz(out / "projected_w.npz", w=pivot_w.cpu().numpy().astype(np.float32))
    stylegan.save(tuned.G, out / "tuned.safetensors",
                  extra_metadata={"pti_of": network_fingerprint(G), "pti_target": str(target)})
    with torch_no_grad():
        pivot_img = to_uint8(synthesize(G, pivot_ws.to(dev)).cpu())[0]
        tuned_img = to_uint8(synthesize(tuned.G, pivot_ws.to(dev)).cpu())[0]
    save_png(target_image, out / "target.png")
    save_png(pivot_img, out / "pivot.png")
    save_png(tuned_img, out / "tuned.png")
    save_png(np.concatenate([target_image, pivot_img, tuned_img], axis=1), out / "side_by_side.png")
    summary = {"network": str(network), "target": str(target), "distance": distance_name,
               "pivot": "given" if projected_w else f"projected ({project_steps} steps)", "steps": num_steps,
               "lr": learning_rate, "l2_weight": l2_weight, "locality_weight": locality_weight,
               "locality_alpha": locality_alpha, "seconds": round(tuned.seconds, 3),
               "before": before, "after": after,
               "per_step": {"reconstruction": [float(f"{v:.6g}") for v in tuned.reconstruction],
                            "locality": [float(f"{v:.6g}") for v in tuned.locality]}}
    save_json(out / "pti.json", json.dumps(summary, indent=1) + "\n")
    click.echo(f"tuned in {tuned.seconds:.1f} s: {distance_name} distance {before.get('distance', 0):.4g} -> "
               f"{after.get('distance', 0):.4g}, MSE {before['mse']:.4g} -> {after['mse']:.4g}; wrote {out}")


def torch_no_grad():
    import torch

    return torch.no_grad()
