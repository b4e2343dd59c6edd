"""stylegan generate: one PNG per seed (or per saved w) plus a grid."""

from __future__ import annotations

import click

from stylegan.cli.common import (
    FiniteFloat,
    device_option,
    network_option,
    open_generator,
    parse_float_pair,
    precision_option,
)


@click.command(name="generate")
@network_option
@click.option("--seeds", default=None, help="Seeds, e.g. 0-7,12.")
@click.option(
    "--projected-w",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE.npz",
    help="Render the ws saved by `stylegan project` (key w: [1, w_dim], [num_ws, w_dim] or "
    "[N, num_ws, w_dim]) instead of seeds.",
)
@click.option(
    "--trunc", "truncation_psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi, in [-2, 2]."
)
@click.option(
    "--trunc-cutoff", "truncation_cutoff", type=int, default=None, help="Truncate only the first N ws (default: all)."
)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option(
    "--noise-seed",
    type=click.IntRange(0),
    default=None,
    help="Fix the noise inputs: every image takes the noise maps drawn from this seed (mode const).",
)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the PNGs.")
@click.option("--batch", "batch_size", type=click.IntRange(1, 1024), default=8, show_default=True)
@click.option(
    "--translate",
    default=None,
    metavar="X,Y",
    help="StyleGAN3 only: move the image content by X,Y image sizes (x right, y down).",
)
@click.option(
    "--rotate",
    type=FiniteFloat(),
    default=None,
    metavar="DEG",
    help="StyleGAN3 only: rotate the image content by DEG degrees counter-clockwise.",
)
@click.option(
    "--compile/--no-compile",
    "compile_",
    default=False,
    show_default=True,
    help="Run the generator through torch.compile (falls back to eager where that fails).",
)
@precision_option
@device_option
def command(
    network,
    seeds,
    projected_w,
    truncation_psi,
    truncation_cutoff,
    class_idx,
    noise_mode,
    noise_seed,
    outdir,
    batch_size,
    translate,
    rotate,
    compile_,
    device,
    precision,
):
    """Generate images for a list of seeds (seedNNNN.png) or for saved ws (projNNNN.png), and grid.png.

    Each image is written as soon as it is made; grid.png (of the first images, up to 4096x4096
    pixels) comes at the end. Files of these names in OUTDIR are replaced."""
    from tqdm import tqdm

    from stylegan.errors import UserError
    from stylegan.tools.generate import (
        check_truncation,
        image_paths,
        iter_generated_images,
        iter_rendered_ws,
        load_projected_ws,
        write_images,
    )
    from stylegan.utils.compile import maybe_compile
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_seeds

    if (seeds is None) == (projected_w is None):
        raise UserError("give either --seeds or --projected-w (one of them)")
    if projected_w is not None and (truncation_psi != 1.0 or truncation_cutoff is not None or class_idx is not None):
        raise UserError("--trunc, --trunc-cutoff and --class apply to seeds; a projected w is rendered as saved")
    seed_list = parse_seeds(seeds) if seeds is not None else None
    translate = parse_float_pair(translate, "--translate")
    check_truncation(truncation_psi, truncation_cutoff)
    dev = pick_device(device)
    G = maybe_compile(open_generator(network, dev, precision=precision), enabled=compile_, device=dev)
    if projected_w is not None:
        ws = load_projected_ws(projected_w, G.num_ws, G.w_dim)
        keys, prefix = list(range(ws.shape[0])), "proj"
        batches = iter_rendered_ws(
            G,
            ws,
            noise_mode,
            batch_size=batch_size,
            device=dev,
            translate=translate,
            rotate=rotate,
            noise_seed=noise_seed,
        )
    else:
        keys, prefix = seed_list, "seed"
        batches = iter_generated_images(
            G,
            seed_list,
            truncation_psi,
            truncation_cutoff,
            class_idx,
            noise_mode,
            batch_size=batch_size,
            device=dev,
            translate=translate,
            rotate=rotate,
            noise_seed=noise_seed,
        )
    refuse_overwriting_inputs({"--network": network, "--projected-w": projected_w}, image_paths(outdir, keys, prefix))
    with tqdm(total=len(keys), unit="img", leave=False) as bar:  # each image is on disk as soon as it is made
        result = write_images(batches, keys, outdir, prefix=prefix, progress=lambda n: bar.update(n - bar.n))
    click.echo(f"wrote {len(result.files)} images and {result.grid} ")
