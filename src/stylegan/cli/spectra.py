"""stylegan spectra: average power spectra of generated and dataset images (StyleGAN3 analysis)."""

from __future__ import annotations

import click

from stylegan.cli.common import SEED, FiniteFloat, device_option


@click.command(name="spectra")
@click.option("--network", default=None, metavar="CKPT", help="Generator whose images to measure.")
@click.option("--data", default=None, metavar="PATH|toyfaces", help="Dataset whose images to measure.")
@click.option(
    "--resolution",
    type=int,
    default=None,
    help="Resolution of the dataset images (needed for --data toyfaces without --network).",
)
@click.option(
    "--num",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Images per source (the dataset may hold fewer).",
)
@click.option("--outdir", required=True, type=click.Path(file_okay=False))
@click.option("--window", type=click.Choice(["kaiser", "hann"]), default="kaiser", show_default=True)
@click.option("--beta", type=FiniteFloat(min=0), default=8.0, show_default=True, help="Kaiser window shape.")
@click.option(
    "--interp",
    type=click.IntRange(1, 16),
    default=4,
    show_default=True,
    help="Frequency-domain interpolation (zero-padding factor).",
)
@click.option(
    "--mean", type=FiniteFloat(), default=None, help="Whitening mean [default: the dataset's, else generated]."
)
@click.option("--std", type=FiniteFloat(min=0, min_open=True), default=None, help="Whitening std.")
@click.option(
    "--smooth", type=FiniteFloat(min=0), default=1.25, show_default=True, help="Heatmap smoothing, in image pixels."
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="First seed.")
@click.option("--trunc", "truncation_psi", type=FiniteFloat(), default=1.0, show_default=True)
@click.option(
    "--class",
    "class_idx",
    type=int,
    default=None,
    help="Class index (conditional networks; default: a random class per image).",
)
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="random", show_default=True)
@click.option("--batch", "batch_size", type=click.IntRange(1, 1024), default=8, show_default=True)
@device_option
def command(
    network,
    data,
    resolution,
    num,
    outdir,
    window,
    beta,
    interp,
    mean,
    std,
    smooth,
    seed,
    truncation_psi,
    class_idx,
    noise_mode,
    batch_size,
    device,
):
    """Average power spectrum (heatmap and 0/45 degree slices) of generated and/or dataset images."""
    from tqdm import tqdm

    from stylegan.cli.common import open_generator
    from stylegan.errors import UserError
    from stylegan.tools.spectra import average_spectra, dataset_batches, generated_batches, spectra_paths, write_spectra
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs

    if network is None and data is None:
        raise UserError("give --network, --data, or both")
    refuse_overwriting_inputs({"--network": network, "--data": data}, spectra_paths(outdir))
    check_writable_folder(outdir)
    dev = pick_device(device)
    sources, size, grayscale = {}, resolution, False
    if network is not None:
        G = open_generator(network, dev, nonfinite="error")
        if resolution is not None and resolution != G.img_resolution:
            raise UserError(f"--resolution {resolution} differs from the network's {G.img_resolution} px")
        size, grayscale = G.img_resolution, G.img_channels == 1
        batches = generated_batches(G, num, seed, batch_size, class_idx, truncation_psi, noise_mode, dev)
        sources["generated"] = tqdm(batches, total=-(-num // batch_size), desc="generated", leave=False)
    if data is not None:
        count, data_size, batches = dataset_batches(data, num, size, batch_size, grayscale)
        if size is not None and data_size != size:
            raise UserError(f"the dataset's images are {data_size} px but the network makes {size} px images")
        size = data_size
        sources["dataset"] = tqdm(batches, total=-(-count // batch_size), desc="dataset", leave=False)
    result = average_spectra(
        sources, size, window=window, beta=beta, interp=interp, mean=mean, std=std, reference="dataset", device=dev
    )
    files = write_spectra(result, outdir, smooth=smooth)
    counts = ", ".join(f"{n} {c}" for n, c in result.counts.items())
    click.echo(
        f"spectra of {counts} images (mean {result.mean:.4g}, std {result.std:.4g}); wrote {files.npz}, "
        f"{', '.join(p.name for p in files.heatmaps.values())}, {files.slices.name}"
    )
