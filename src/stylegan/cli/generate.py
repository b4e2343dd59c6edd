"""stylegan generate: one PNG per seed plus a grid."""

from __future__ import annotations

import click

from stylegan.cli.common import device_option, network_option, open_generator


@click.command(name="generate")
@network_option
@click.option("--seeds", required=True, help="Seeds, e.g. 0-7,12.")
@click.option("--trunc", "truncation_psi", type=float, default=1.0, show_default=True,
              help="Truncation psi, in [-2, 2].")
@click.option("--trunc-cutoff", "truncation_cutoff", type=int, default=None,
              help="Truncate only the first N ws (default: all).")
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the PNGs.")
@click.option("--batch", "batch_size", type=click.IntRange(1, 1024), default=8, show_default=True)
@device_option
def command(network, seeds, truncation_psi, truncation_cutoff, class_idx, noise_mode, outdir, batch_size, device):
    """Generate images for a list of seeds: one PNG per seed and grid.png."""
    from stylegan.tools.generate import check_truncation, generate_images, write_images
    from stylegan.utils.device import pick_device
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    check_truncation(truncation_psi, truncation_cutoff)
    dev = pick_device(device)
    G = open_generator(network, dev)
    images = generate_images(G, seed_list, truncation_psi, truncation_cutoff, class_idx, noise_mode,
                             batch_size=batch_size, device=dev)
    result = write_images(images, seed_list, outdir)
    click.echo(f"wrote {len(result.files)} images and {result.grid} ")
