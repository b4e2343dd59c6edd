"""stylegan metrics: FID, KID, precision/recall, PPL, linear separability and equivariance of a network."""

from __future__ import annotations

import click

from stylegan.cli.common import SEED, device_option, network_option, precision_option


@click.command(name="metrics")
@network_option
@click.option(
    "--data",
    default=None,
    metavar="PATH|toyfaces",
    help="Real images to compare with (FID, KID, PR): a dataset folder/zip or the built-in 'toyfaces'.",
)
@click.option(
    "--metrics",
    "metric_list",
    default="fid50k_full",
    show_default=True,
    help="Comma-separated official metric names, e.g. fid50k_full,kid50k_full,pr50k3_full,ppl_wend,ls.",
)
@click.option(
    "--detector",
    type=click.Choice(["inception", "probe"]),
    default="inception",
    show_default=True,
    help="inception: the official Inception-v3/VGG16 files; probe: the built-in toyfaces probe (offline; "
    "its numbers are not comparable with Inception numbers).",
)
@click.option(
    "--num",
    "num_gen",
    type=click.IntRange(min=1),
    default=None,
    help="Override every metric's sample count (e.g. for quick runs).",
)
@click.option("--max-real", type=click.IntRange(min=1), default=None, help="Use at most this many dataset images.")
@click.option(
    "--results",
    "results_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Append the results as JSON lines to this file.",
)
@click.option("--batch", "batch_size", type=click.IntRange(1, 4096), default=32, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option(
    "--ppl-crop/--no-ppl-crop",
    default=None,
    help="Crop the face region for PPL (default: as the official metric, off for toyfaces).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Detector files and dataset statistics (default $STYLEGAN_CACHE or ~/.cache/stylegan).",
)
@click.option(
    "--inception-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path to inception-2015-12-05.pt/.pkl (otherwise the cache, then a download).",
)
@click.option(
    "--vgg16-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path to vgg16.pt/.pkl, the LPIPS VGG16 (otherwise the cache, then a download).",
)
@click.option("--offline", is_flag=True, help="Never download; fail with a message where a file is missing.")
@click.option("--no-cache", is_flag=True, help="Recompute dataset statistics instead of using the cache.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@precision_option
@device_option
def command(
    network,
    data,
    metric_list,
    detector,
    num_gen,
    max_real,
    results_file,
    batch_size,
    seed,
    ppl_crop,
    cache_dir,
    inception_file,
    vgg16_file,
    offline,
    no_cache,
    quiet,
    device,
    precision,
):
    """Measure a network with the official metrics; print the results and append them to --results."""
    from pathlib import Path

    from stylegan.cli.common import open_generator
    from stylegan.metrics.runner import append_results, describe, parse_metric_list, run_metrics
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs
    from stylegan.utils.precision import resolve_inference_precision

    names = parse_metric_list(metric_list)
    if results_file:
        refuse_overwriting_inputs(
            {"--network": network, "--data": data, "--inception-file": inception_file, "--vgg16-file": vgg16_file},
            results_file,
        )
        check_writable_folder(Path(results_file).parent)  # before the measuring, not after
    dev = pick_device(device)
    G = open_generator(network, dev, nonfinite="error", precision=precision)
    files = {k: v for k, v in (("inception", inception_file), ("vgg16_lpips", vgg16_file)) if v}
    results = run_metrics(
        G,
        names,
        data=data,
        detector=detector,
        num_gen=num_gen,
        max_real=max_real,
        device=dev,
        batch_size=batch_size,
        progress=not quiet,
        seed=seed,
        ppl_crop=ppl_crop,
        cache=not no_cache,
        cache_dir=cache_dir,
        detector_files=files,
        allow_download=not offline,
    )
    click.echo(describe(results))
    if results_file:
        append_results(
            results_file,
            results,
            network=str(network),
            data=None if data is None else str(data),
            seed=seed,
            precision=resolve_inference_precision(precision, dev.type, G),
        )
        click.echo(f"appended {len(results)} result line(s) to {results_file}")
