"""stylegan analyze: the circular-artifact study of the PIN paper and the experiments of the
StyleGAN papers as commands (docs/pin.md, docs/experiments.md).

    stylegan analyze layers       --network CKPT
    stylegan analyze artifacts    --network CKPT --seeds 0-7 [--layer NAME] --outdir DIR
    stylegan analyze compare      A B [--seeds 0-99] [--layer NAME]
    stylegan analyze noise        --network CKPT [--layers all|coarse|fine|none|4,8] --outdir DIR
    stylegan analyze truncation   --network CKPT [--psis -1,...,1] --outdir DIR
    stylegan analyze contribution --network CKPT | --run RUN_DIR --outdir DIR
    stylegan analyze internals    --network CKPT [--layers A,B] [--channels 0,1,2] --outdir DIR
    stylegan analyze sticking     A [B ...] [--motion walk|translate] --outdir DIR
    stylegan analyze attribute    --network CKPT --images DIR --outdir DIR
    stylegan analyze ablation     --network CKPT --layer NAME [--mode sweep|zero|keep] [--units 5] --outdir DIR
    stylegan analyze amplification --network CKPT [--layer NAME] --outdir DIR
    stylegan analyze gates        --run RUN_DIR --outdir DIR
    stylegan analyze rates        --a CKPT [--a ...] --b CKPT [--b ...] --outdir DIR
    stylegan analyze over-training --run RUN_DIR [--run ...] --outdir DIR
"""

from __future__ import annotations

import click

from stylegan.cli.common import (
    FiniteFloat,
    device_option,
    distance_options,
    force_option,
    network_option,
    open_generator,
    precision_option,
)


def _criteria_options(f):
    f = click.option(
        "--threshold",
        "score_threshold",
        type=FiniteFloat(),
        default=4.0,
        show_default=True,
        help="Peak energy / object energy needed to count as an artifact.",
    )(f)
    f = click.option(
        "--max-area",
        "max_area_fraction",
        type=FiniteFloat(),
        default=0.05,
        show_default=True,
        help="Largest artifact region, as a fraction of the feature map.",
    )(f)
    f = click.option(
        "--min-consistency",
        "min_channel_consistency",
        type=FiniteFloat(),
        default=0.25,
        show_default=True,
        help="Fraction of channels in which the region must stand out.",
    )(f)
    f = click.option(
        "--center/--no-center",
        default=False,
        show_default=True,
        help="Subtract each channel's spatial median before measuring magnitudes.",
    )(f)
    return f


def _criteria(score_threshold, max_area_fraction, min_channel_consistency, center):
    from stylegan.analysis.artifacts import ArtifactCriteria

    return ArtifactCriteria(
        score_threshold=score_threshold,
        max_area_fraction=max_area_fraction,
        min_channel_consistency=min_channel_consistency,
        center=center,
    )


def _generation_options(f):
    f = click.option(
        "--trunc", "truncation_psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi."
    )(f)
    f = click.option(
        "--trunc-cutoff",
        "truncation_cutoff",
        type=int,
        default=None,
        help="Truncate only the first N ws (default: all).",
    )(f)
    f = click.option(
        "--noise-mode",
        type=click.Choice(["const", "random", "none"]),
        default="const",
        show_default=True,
        help="Noise inputs of the analysed images.",
    )(f)
    return f


@click.group(name="analyze")
def command():
    """Analyse circular artifacts (Tan, Wen, Yang 2021): feature maps, energy maps, artifact scores
    and rates, noise resampling, unit ablation, instance-norm amplification and PIN gates; and the
    experiments of the StyleGAN papers: stochastic variation, truncation, resolution contributions,
    attribution by projection, internal representations and texture sticking."""


@command.command(name="layers")
@network_option
@precision_option
@device_option
def layers_command(network, device, precision):
    """List the layers whose feature maps can be analysed, with their shapes."""
    from stylegan.analysis.features import default_analysis_layer, list_feature_layers
    from stylegan.utils.device import pick_device

    G = open_generator(network, pick_device(device), precision=precision)
    default = default_analysis_layer(G)
    for name, shape in list_feature_layers(G):
        mark = "  (default)" if name == default else ""
        click.echo(f"{name:<48} {'x'.join(str(s) for s in shape)}{mark}")


@command.command(name="artifacts")
@network_option
@click.option("--seeds", required=True, help="Seeds, e.g. 0-7,12.")
@click.option("--layer", default=None, help="Layer to analyse (default: the first AdaIN layer at 128x128).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write figures and JSON.")
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@_generation_options
@_criteria_options
@click.option("--noise-seeds", default=None, help="Noise-resampling experiment: new noise seeds, e.g. 1-4.")
@click.option(
    "--ablate",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Unit ablation: zero the N units most active in the artifact region.",
)
@click.option(
    "--ablation-mode",
    type=click.Choice(["top", "all-but-one"]),
    default="top",
    show_default=True,
    help="'top': zero the N most active units; 'all-but-one': zero every unit but the most active.",
)
@click.option(
    "--measure-layer",
    default=None,
    help="Where to locate the artifact after ablation (default: the last feature map before RGB).",
)
@click.option(
    "--channels",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Channels shown in the feature-map grids (the most active in the artifact region).",
)
@precision_option
@device_option
def artifacts_command(
    network,
    seeds,
    layer,
    outdir,
    class_idx,
    truncation_psi,
    truncation_cutoff,
    noise_mode,
    score_threshold,
    max_area_fraction,
    min_channel_consistency,
    center,
    noise_seeds,
    ablate,
    ablation_mode,
    measure_layer,
    channels,
    device,
    precision,
):
    """Feature-map grids, energy heatmaps, intensity plots and summary.json for each seed."""
    from stylegan.analysis.report import artifact_report, artifact_report_paths
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_int_list, parse_seeds

    seed_list = parse_seeds(seeds)
    refuse_overwriting_inputs({"--network": network}, artifact_report_paths(outdir, seed_list))
    check_writable_folder(outdir)
    noise_list = parse_int_list(noise_seeds, "noise seed list") if noise_seeds else []
    criteria = _criteria(score_threshold, max_area_fraction, min_channel_consistency, center)
    G = open_generator(network, pick_device(device), nonfinite="error", precision=precision)
    summary = artifact_report(
        G,
        seed_list,
        outdir,
        layer=layer,
        truncation_psi=truncation_psi,
        truncation_cutoff=truncation_cutoff,
        class_idx=class_idx,
        noise_mode=noise_mode,
        criteria=criteria,
        noise_seeds=noise_list,
        ablate=ablate,
        ablation_mode=ablation_mode,
        measure_layer=measure_layer,
        channels=channels,
    )
    click.echo(
        f"layer {summary['layer']} {'x'.join(map(str, summary['feature_shape']))}: "
        f"{summary['artifacts']}/{summary['samples']} images with an artifact "
        f"(rate {summary['rate']:.3f}, mean score {summary['mean_score']:.2f})"
    )
    for entry in summary["seeds"]:
        flag = "artifact" if entry["is_artifact"] else "-"
        click.echo(f"  seed {entry['seed']:<6} score {entry['score']:7.2f}  peak (y, x) {tuple(entry['peak'])}  {flag}")
    click.echo(f"wrote figures and summary.json to {outdir}")


@command.command(name="compare")
@click.argument("network_a", metavar="A")
@click.argument("network_b", metavar="B")
@click.option("--seeds", default="0-99", show_default=True, help="Seeds of the samples.")
@click.option("--layer", default=None, help="Layer to analyse in both (default: each network's first AdaIN at 128).")
@_generation_options
@_criteria_options
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the table as JSON."
)
@click.option(
    "--figures",
    "figures_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write, for the first --figure-seeds seeds, both networks' energy figures one above the "
    "other (seedNNNN_compare.png).",
)
@click.option(
    "--figure-seeds", type=click.IntRange(1, 1000), default=4, show_default=True, help="How many seeds get a figure."
)
@force_option
@precision_option
@device_option
def compare_command(
    network_a,
    network_b,
    seeds,
    layer,
    truncation_psi,
    truncation_cutoff,
    noise_mode,
    score_threshold,
    max_area_fraction,
    min_channel_consistency,
    center,
    json_path,
    figures_dir,
    figure_seeds,
    force,
    device,
    precision,
):
    """Artifact rate of two networks side by side, on the same seeds (and, with --figures, their
    energy maps side by side: e.g. the droplets of a StyleGAN and a StyleGAN2 trained alike)."""
    from pathlib import Path

    from stylegan.analysis.report import artifact_statistics, write_json
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_output_file, check_writable_folder, refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    if json_path:
        refuse_overwriting_inputs({"A": network_a, "B": network_b}, json_path)
        check_output_file(json_path, force)
        check_writable_folder(Path(json_path).parent)
    if figures_dir:
        from stylegan.analysis.report import comparison_figure_paths

        refuse_overwriting_inputs(
            {"A": network_a, "B": network_b}, comparison_figure_paths(figures_dir, seed_list[:figure_seeds])
        )
        check_writable_folder(figures_dir)
    criteria = _criteria(score_threshold, max_area_fraction, min_channel_consistency, center)
    dev = pick_device(device)
    rows, networks = [], {}
    for path in (network_a, network_b):
        G = open_generator(path, dev, nonfinite="error", precision=precision)
        stats = artifact_statistics(G, seed_list, layer, truncation_psi, truncation_cutoff, noise_mode, criteria)
        rows.append({"network": str(path), **stats})
        networks[f"{'AB'[len(networks)]}: {Path(path).stem}"] = G
    width = max(len(r["network"]) for r in rows)
    click.echo(f"{'network':<{width}}  {'layer':<28} {'samples':>7} {'artifacts':>9} {'rate':>6} {'mean score':>10}")
    for r in rows:
        click.echo(
            f"{r['network']:<{width}}  {r['layer']:<28} {r['samples']:>7} {r['artifacts']:>9} "
            f"{r['rate']:>6.3f} {r['mean_score']:>10.2f}"
        )
    if json_path:
        write_json({"seeds": seed_list, "networks": rows}, json_path)
    if figures_dir:
        from stylegan.analysis.report import comparison_figures

        paths = comparison_figures(
            networks,
            seed_list[:figure_seeds],
            figures_dir,
            layer,
            truncation_psi,
            truncation_cutoff,
            noise_mode,
            criteria,
        )
        click.echo(f"wrote {len(paths)} figures to {figures_dir}")


def _prepare_outdir(outdir, network, paths):
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs

    refuse_overwriting_inputs({"--network": network}, paths)
    check_writable_folder(outdir)


def _parse_floats(text: str, name: str) -> list[float]:
    import math

    from stylegan.errors import UserError

    try:
        values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise UserError(f"{name} must be numbers separated by commas, like -1,-0.5,0,0.5,1; got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise UserError(f"{name} must be finite numbers separated by commas; got {text!r}")
    return values


@command.command(name="noise")
@network_option
@click.option("--seeds", default="0-3", show_default=True, help="Seeds (one w each), e.g. 0-3.")
@click.option(
    "--layers",
    default="all",
    show_default=True,
    help="Noise inputs that vary: all, none, coarse, fine, or resolutions/layers like 4,8 or b16.conv0.",
)
@click.option(
    "--draws",
    type=click.IntRange(2, 1024),
    default=16,
    show_default=True,
    help="Noise draws per seed for the standard-deviation map.",
)
@click.option("--samples", type=click.IntRange(1), default=4, show_default=True, help="Draws shown per seed.")
@click.option("--noise-seed", type=click.IntRange(0), default=0, show_default=True, help="Seed of the noise draws.")
@click.option(
    "--trunc", "truncation_psi", type=FiniteFloat(-2, 2), default=1.0, show_default=True, help="Truncation psi."
)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write figures and JSON.")
@precision_option
@device_option
def noise_command(
    network, seeds, layers, draws, samples, noise_seed, truncation_psi, class_idx, outdir, device, precision
):
    """Stochastic variation (StyleGAN Figures 4-5): noise draws for a fixed w, the per-pixel standard
    deviation map, and the noise restricted to all / coarse / fine / no layers."""
    from stylegan.analysis.variation import noise_report, noise_report_paths
    from stylegan.utils.device import pick_device
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    _prepare_outdir(outdir, network, noise_report_paths(outdir))
    G = open_generator(network, pick_device(device), nonfinite="error", precision=precision)
    summary = noise_report(
        G,
        seed_list,
        outdir,
        layers=layers,
        draws=draws,
        noise_seed=noise_seed,
        samples=samples,
        truncation_psi=truncation_psi,
        class_idx=class_idx,
    )
    click.echo(
        f"mean per-pixel std over {draws} noise draws (8-bit levels), noise in {layers}: "
        + ", ".join(f"seed {s} {v:.2f}" for s, v in zip(seed_list, summary["layers"]["mean_std"]))
    )
    for name, group in summary["groups"].items():
        mean = sum(group["mean_std"]) / len(group["mean_std"])
        click.echo(f"  noise in {name:<6} ({len(group['inputs'])} inputs): mean std {mean:.2f}")
    click.echo(f"wrote variation.png, noise_layers.png and summary.json to {outdir}")


@command.command(name="truncation")
@network_option
@click.option("--seeds", default="0-3", show_default=True, help="Seeds, one row each.")
@click.option(
    "--psis",
    default="-1,-0.75,-0.5,-0.25,0,0.25,0.5,0.75,1",
    show_default=True,
    help="Truncation psi of each column, within [-2, 2].",
)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write figures and JSON.")
@precision_option
@device_option
def truncation_command(network, seeds, psis, class_idx, noise_mode, outdir, device, precision):
    """Truncation sweep (StyleGAN Figure 8, Eq. 3): a row of images per seed over psi, the w_avg
    image (psi 0) framed."""
    from stylegan.analysis.variation import truncation_report, truncation_report_paths
    from stylegan.utils.device import pick_device
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    psi_list = _parse_floats(psis, "--psis")
    _prepare_outdir(outdir, network, truncation_report_paths(outdir))
    G = open_generator(network, pick_device(device), nonfinite="error", precision=precision)
    summary = truncation_report(G, seed_list, outdir, psi_list, class_idx=class_idx, noise_mode=noise_mode)
    for psi, d in summary["mean_abs_difference_from_w_avg_image"].items():
        click.echo(f"psi {psi:>6}: mean |image - w_avg image| {d:6.2f} (8-bit levels)")
    click.echo(f"wrote truncation.png and summary.json to {outdir}")


@command.command(name="contribution")
@click.option("--network", default=None, metavar="CKPT", help="One network (a skip generator).")
@click.option(
    "--run",
    "run_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="A training run directory: every network snapshot, plotted over kimg.",
)
@click.option("--seeds", default="0-15", show_default=True, help="Seeds of the images measured.")
@click.option(
    "--trunc",
    "truncation_psi",
    type=FiniteFloat(-2, 2),
    default=1.0,
    show_default=True,
    help="Truncation psi (--network only).",
)
@click.option(
    "--class", "class_idx", type=int, default=None, help="Class index (conditional networks; --network only)."
)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write figures and JSON.")
@precision_option
@device_option
def contribution_command(network, run_dir, seeds, truncation_psi, class_idx, outdir, device, precision):
    """Share of each resolution's tRGB output in the image of a skip generator (StyleGAN2 Figure 8),
    for one network or across the snapshots of a run."""
    from stylegan.analysis.contribution import (
        contribution_over_training,
        contribution_over_training_paths,
        contribution_report,
        contribution_report_paths,
        run_snapshots,
    )
    from stylegan.errors import UserError
    from stylegan.utils.device import pick_device
    from stylegan.utils.seeds import parse_seeds

    if (network is None) == (run_dir is None):
        raise UserError("give either --network or --run (one of them)")
    seed_list = parse_seeds(seeds)
    dev = pick_device(device)
    if network is not None:
        _prepare_outdir(outdir, network, contribution_report_paths(outdir))
        G = open_generator(network, dev, nonfinite="error", precision=precision)
        summary = contribution_report(G, seed_list, outdir, truncation_psi=truncation_psi, class_idx=class_idx)
        click.echo(
            "contribution of each resolution: "
            + ", ".join(f"{r}px {p:.1f}%" for r, p in summary["shares_percent"].items())
        )
        click.echo(f"wrote contribution.png and summary.json to {outdir}")
        return
    from tqdm import tqdm

    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs

    snapshots = run_snapshots(run_dir)
    refuse_overwriting_inputs({f"snapshot {p.name}": p for _, p in snapshots}, contribution_over_training_paths(outdir))
    check_writable_folder(outdir)
    with tqdm(total=len(snapshots), unit="snapshot", leave=False) as bar:
        summary = contribution_over_training(
            run_dir, outdir, seed_list, dev, progress=lambda n, total: bar.update(n - bar.n)
        )
    for row in summary["snapshots"]:
        click.echo(
            f"{row['kimg']:9.1f} kimg: " + ", ".join(f"{r}px {p:5.1f}%" for r, p in row["shares_percent"].items())
        )
    click.echo(f"wrote contribution_over_training.png and .json to {outdir}")


@command.command(name="internals")
@network_option
@click.option("--seeds", default="0-3", show_default=True, help="Seeds, one row each.")
@click.option(
    "--layers",
    default=None,
    help="Layers, comma separated (default: a few from first to last; list them with `stylegan analyze layers`).",
)
@click.option("--channels", default="0,1,2", show_default=True, help="The three channels shown as R,G,B.")
@click.option(
    "--trunc", "truncation_psi", type=FiniteFloat(-2, 2), default=1.0, show_default=True, help="Truncation psi."
)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write figures and JSON.")
@precision_option
@device_option
def internals_command(network, seeds, layers, channels, truncation_psi, class_idx, outdir, device, precision):
    """Internal representations (StyleGAN3 Figure 6): feature maps of chosen layers, three channels as RGB."""
    from stylegan.analysis.representations import internals_report, internals_report_paths
    from stylegan.errors import UserError
    from stylegan.utils.device import pick_device
    from stylegan.utils.seeds import parse_int_list, parse_seeds

    seed_list = parse_seeds(seeds)
    channel_list = parse_int_list(channels, "channel list")
    if len(channel_list) != 3 or min(channel_list) < 0:
        raise UserError(f"--channels must be three channel indices like 0,1,2; got {channels!r}")
    layer_list = [n.strip() for n in layers.split(",") if n.strip()] if layers else None
    _prepare_outdir(outdir, network, internals_report_paths(outdir))
    G = open_generator(network, pick_device(device), nonfinite="error", precision=precision)
    summary = internals_report(
        G, seed_list, outdir, layer_list, tuple(channel_list), truncation_psi, class_idx=class_idx
    )
    for name, shape in summary["layers"].items():
        click.echo(f"{name:<40} {'x'.join(map(str, shape))}")
    click.echo(f"wrote internals.png and summary.json to {outdir}")


@command.command(name="sticking")
@click.argument("networks", nargs=-1, required=True, metavar="NETWORK...")
@click.option("--seeds", default="0-3", show_default=True, help="Seeds: one walk each.")
@click.option("--frames", type=click.IntRange(2, 4096), default=64, show_default=True, help="Frames per walk.")
@click.option(
    "--motion",
    type=click.Choice(["walk", "translate"]),
    default="walk",
    show_default=True,
    help="walk: a slow loop in z around each seed; translate: shift the input (StyleGAN3 only).",
)
@click.option(
    "--radius",
    type=FiniteFloat(0, 10),
    default=0.3,
    show_default=True,
    help="Radius of the loop in z, in units of sqrt(z_dim) (motion walk).",
)
@click.option(
    "--distance",
    type=FiniteFloat(-100, 100),
    default=1.0,
    show_default=True,
    help="How far the content moves, in image widths (motion translate).",
)
@click.option(
    "--sigma",
    type=FiniteFloat(),
    default=1.0,
    show_default=True,
    help="Fine detail: the image minus its Gaussian blur of this many pixels.",
)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write figures and JSON.")
@precision_option
@device_option
def sticking_command(networks, seeds, frames, motion, radius, distance, sigma, class_idx, outdir, device, precision):
    """Texture sticking (StyleGAN3 Figure 1) of one or more networks side by side: average of the
    frames of a slow latent walk, space-time slice, and a sticking score (1 = every detail sticks)."""
    from pathlib import Path

    from stylegan.analysis.sticking import sticking_report, sticking_report_paths
    from stylegan.errors import UserError
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    labels = [Path(n).stem for n in networks]
    if len(set(labels)) != len(labels):
        labels = [f"{k}:{label}" for k, label in enumerate(labels)]
    refuse_overwriting_inputs({f"network {n}": n for n in networks}, sticking_report_paths(outdir))
    check_writable_folder(outdir)
    dev = pick_device(device)
    loaded = {
        label: open_generator(n, dev, nonfinite="error", precision=precision) for label, n in zip(labels, networks)
    }
    if not loaded:
        raise UserError("give at least one network")
    from tqdm import tqdm

    with tqdm(total=len(loaded) * len(seed_list), unit="walk", leave=False) as bar:
        summary = sticking_report(
            loaded,
            seed_list,
            outdir,
            frames=frames,
            radius=radius,
            motion=motion,
            distance=distance,
            sigma=sigma,
            progress=lambda n, total: bar.update(n - bar.n),
            class_idx=class_idx,
        )
    for label, result in summary["networks"].items():
        click.echo(
            f"{label:<32} sticking score {result['mean_score']:.3f}  ("
            + ", ".join(f"seed {s['seed']} {s['score']:.3f}" for s in result["seeds"])
            + f"); high-frequency energy of a frame {result['mean_frame_hf_energy']:.3g}"
        )
    click.echo(f"wrote sticking.png and summary.json to {outdir}")


@command.command(name="gates")
@click.option(
    "--run",
    "run_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="A stylegan1-pin training run directory (its stats.jsonl).",
)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the plot and JSON.")
def gates_command(run_dir, outdir):
    """PIN gate of every layer over training (0 = instance norm, 1 = pixel norm), with the bounds of
    --pin-schedule."""
    from pathlib import Path

    from stylegan.analysis.gates import gates_report, gates_report_paths
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs

    refuse_overwriting_inputs({"stats.jsonl": Path(run_dir) / "stats.jsonl"}, gates_report_paths(outdir))
    check_writable_folder(outdir)
    summary = gates_report(run_dir, outdir)
    last = {name: v["mean"][-1] for name, v in summary["layers"].items()}
    click.echo(
        f"{len(summary['kimg'])} ticks up to {summary['kimg'][-1]:g} kimg; last mean gate per layer: "
        + ", ".join(f"{n} {g:.3f}" for n, g in last.items())
    )
    click.echo(f"wrote gates.png and gates.json to {outdir}")


@command.command(name="attribute")
@network_option
@click.option(
    "--images",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder of real images (not made by the network), centre-cropped and resized.",
)
@click.option("--seeds", default="0-15", show_default=True, help="Seeds of the network's own images.")
@click.option("--max-images", type=click.IntRange(1), default=None, help="Use at most this many real images.")
@click.option(
    "--steps",
    "num_steps",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="Projection steps per image.",
)
@distance_options()
@click.option(
    "--w-avg-samples",
    type=click.IntRange(1, 10_000_000),
    default=2000,
    show_default=True,
    help="Samples for the projection's starting w_avg.",
)
@click.option(
    "--threshold",
    type=FiniteFloat(0),
    default=None,
    help="Distance at or below which an image counts as generated (default: the one maximising TPR - FPR).",
)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write figures and JSON.")
@precision_option
@device_option
def attribute_command(
    network,
    images,
    seeds,
    max_images,
    num_steps,
    distance_name,
    distance_weights,
    w_avg_samples,
    threshold,
    outdir,
    device,
    precision,
):
    """Attribution by projection (StyleGAN2 Section 5): project the network's own images and real
    ones, and tell them apart by the distance to their reprojection (histograms, ROC, AUC, a
    decision per image)."""
    from tqdm import tqdm

    from stylegan.analysis.attribution import attribution_report, attribution_report_paths, folder_images
    from stylegan.tools.project import resolve_distance
    from stylegan.utils.device import pick_device
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    _prepare_outdir(outdir, network, attribution_report_paths(outdir))
    dev = pick_device(device)
    G = open_generator(network, dev, nonfinite="error", precision=precision)
    real = folder_images(images, G.img_resolution, G.img_channels, max_images)
    distance = resolve_distance(distance_name, dev, path=distance_weights)
    with tqdm(total=len(seed_list) + len(real), unit="img", leave=False) as bar:
        summary = attribution_report(
            G,
            real,
            outdir,
            seed_list,
            distance,
            distance_name,
            num_steps,
            w_avg_samples,
            threshold,
            dev,
            progress=lambda n, total: bar.update(n - bar.n),
        )
    g, r = summary["generated"], summary["real"]
    click.echo(
        f"AUC {summary['auc']:.3f}; threshold {summary['threshold']:.4g} ({summary['threshold_rule']}): "
        f"{100 * g['called_generated']:.0f}% of {g['count']} generated and {100 * r['called_generated']:.0f}% "
        f"of {r['count']} real images called generated; mean {distance_name} distance "
        f"{g['mean_distance']:.4g} (generated) vs {r['mean_distance']:.4g} (real)"
    )
    click.echo(f"wrote distances.png, roc.png and summary.json to {outdir}")


@command.command(name="ablation")
@network_option
@click.option("--seeds", default="0-31", show_default=True, help="Seeds of the images.")
@click.option("--layer", required=True, help="Layer whose units are zeroed (see `stylegan analyze layers`).")
@click.option(
    "--mode",
    type=click.Choice(["sweep", "zero", "keep"]),
    default="sweep",
    show_default=True,
    help="sweep: zero each unit alone in turn; zero: zero --units; keep: zero every unit but --units.",
)
@click.option("--units", default=None, help="Unit (channel) indices, e.g. 5 or 0-7 (sweep: default all).")
@click.option(
    "--measure-layer", default=None, help="Where to locate the artifact (default: the last feature map before RGB)."
)
@click.option(
    "--trunc", "truncation_psi", type=FiniteFloat(-2, 2), default=1.0, show_default=True, help="Truncation psi."
)
@click.option(
    "--noise-mode",
    type=click.Choice(["const", "none"]),
    default="const",
    show_default=True,
    help="Noise inputs (the same before and after the ablation).",
)
@_criteria_options
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the figure and JSON.")
@precision_option
@device_option
def ablation_command(
    network,
    seeds,
    layer,
    mode,
    units,
    measure_layer,
    truncation_psi,
    noise_mode,
    score_threshold,
    max_area_fraction,
    min_channel_consistency,
    center,
    outdir,
    device,
    precision,
):
    """Unit ablation by index (PIN paper, Claim 2): zero one fixed unit across many images, every unit
    in turn, or all but one, and measure the artifacts again."""
    from stylegan.analysis.ablation import ablation_report, ablation_report_paths
    from stylegan.utils.device import pick_device
    from stylegan.utils.seeds import parse_int_list, parse_seeds

    seed_list = parse_seeds(seeds)
    unit_list = parse_int_list(units, "unit list") if units else None
    criteria = _criteria(score_threshold, max_area_fraction, min_channel_consistency, center)
    _prepare_outdir(outdir, network, ablation_report_paths(outdir))
    G = open_generator(network, pick_device(device), nonfinite="error", precision=precision)
    from tqdm import tqdm

    with tqdm(unit="unit", leave=False, disable=mode != "sweep") as bar:

        def progress(n, total):
            bar.total = total
            bar.update(n - bar.n)

        summary = ablation_report(
            G, seed_list, outdir, layer, unit_list, mode, measure_layer, truncation_psi, noise_mode, criteria, progress
        )
    if mode == "sweep":
        base = summary["baseline"]
        click.echo(
            f"{summary['layer']} -> {summary['measure_layer']}: none zeroed: rate {base['rate']:.3f}, "
            f"mean score {base['mean_score']:.2f}"
        )
        for row in sorted(summary["units"], key=lambda r: r["mean_score"])[:8]:
            click.echo(f"  unit {row['unit']:>4} zeroed: rate {row['rate']:.3f}, mean score {row['mean_score']:.2f}")
    else:
        b, a = summary["before"], summary["after"]
        click.echo(
            f"{summary['layer']} ({summary['mode']} {summary['units']}, {summary['zeroed']} of "
            f"{summary['channels']} units zeroed) -> {summary['measure_layer']}: rate {b['rate']:.3f} -> "
            f"{a['rate']:.3f}, mean score {b['mean_score']:.2f} -> {a['mean_score']:.2f}, artifacts moved "
            f"{summary['mean_moved']:.2f} px on average"
        )
    click.echo(f"wrote ablation.png and summary.json to {outdir}")


@command.command(name="amplification")
@network_option
@click.option("--seeds", default="0-31", show_default=True, help="Seeds of the images.")
@click.option("--layer", default=None, help="StyleGAN (v1) or PIN layer (default: the first AdaIN layer at 128x128).")
@click.option(
    "--trunc", "truncation_psi", type=FiniteFloat(-2, 2), default=1.0, show_default=True, help="Truncation psi."
)
@click.option(
    "--noise-mode",
    type=click.Choice(["const", "random", "none"]),
    default="const",
    show_default=True,
    help="Noise inputs of the analysed images.",
)
@_criteria_options
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the figure and JSON.")
@precision_option
@device_option
def amplification_command(
    network,
    seeds,
    layer,
    truncation_psi,
    noise_mode,
    score_threshold,
    max_area_fraction,
    min_channel_consistency,
    center,
    outdir,
    device,
    precision,
):
    """Instance-norm amplification (PIN paper, Claim 3) on the network's real feature maps: the value IN
    gives each image's strongest spot against sqrt((1 - a) / a)."""
    from stylegan.analysis.amplification import amplification_report, amplification_report_paths
    from stylegan.analysis.features import default_analysis_layer
    from stylegan.utils.device import pick_device
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    criteria = _criteria(score_threshold, max_area_fraction, min_channel_consistency, center)
    _prepare_outdir(outdir, network, amplification_report_paths(outdir))
    G = open_generator(network, pick_device(device), nonfinite="error", precision=precision)
    summary = amplification_report(
        G, seed_list, outdir, layer or default_analysis_layer(G), truncation_psi, noise_mode, criteria
    )
    ratio, ratio_art = summary["median_measured_over_predicted"], summary["median_measured_over_predicted_artifacts"]
    shown = f"{ratio:.3f}" if ratio is not None else "n/a"
    click.echo(
        f"{summary['layer']}: median measured / predicted {shown} over {len(seed_list)} images"
        + (
            f", {ratio_art:.3f} over the {summary['artifacts']} with an artifact"
            if ratio_art is not None
            else "; no image has an artifact there"
        )
    )
    click.echo(f"wrote amplification.png and summary.json to {outdir}")


@command.command(name="rates")
@click.option(
    "--a",
    "group_a",
    multiple=True,
    required=True,
    metavar="CKPT",
    help="A network of group A (repeat for each training run).",
)
@click.option(
    "--b",
    "group_b",
    multiple=True,
    required=True,
    metavar="CKPT",
    help="A network of group B (repeat for each training run).",
)
@click.option("--labels", default="A,B", show_default=True, help="Names of the two groups, e.g. stylegan1,pin.")
@click.option("--seeds", default="0-99", show_default=True, help="Seeds of the images (the same for every network).")
@click.option("--layer", default=None, help="Layer to analyse (default: each network's first AdaIN at 128x128).")
@click.option(
    "--trunc", "truncation_psi", type=FiniteFloat(-2, 2), default=1.0, show_default=True, help="Truncation psi."
)
@click.option(
    "--noise-mode",
    type=click.Choice(["const", "random", "none"]),
    default="const",
    show_default=True,
    help="Noise inputs of the analysed images.",
)
@_criteria_options
@click.option(
    "--level",
    type=FiniteFloat(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="Confidence level of the intervals.",
)
@click.option(
    "--samples", type=click.IntRange(100, 1_000_000), default=2000, show_default=True, help="Bootstrap replicates."
)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the figure and JSON.")
@precision_option
@device_option
def rates_command(
    group_a,
    group_b,
    labels,
    seeds,
    layer,
    truncation_psi,
    noise_mode,
    score_threshold,
    max_area_fraction,
    min_channel_consistency,
    center,
    level,
    samples,
    outdir,
    device,
    precision,
):
    """Artifact rates of two groups of networks (e.g. StyleGAN and PIN, several training seeds each)
    with bootstrap intervals over runs and images, and the difference of the rates."""
    from pathlib import Path

    from tqdm import tqdm

    from stylegan.analysis.rates import rates_report, rates_report_paths
    from stylegan.errors import UserError
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    names = [n.strip() for n in labels.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise UserError(f"--labels must be two different names like stylegan1,pin; got {labels!r}")
    criteria = _criteria(score_threshold, max_area_fraction, min_channel_consistency, center)
    refuse_overwriting_inputs({f"network {n}": n for n in (*group_a, *group_b)}, rates_report_paths(outdir))
    check_writable_folder(outdir)
    dev = pick_device(device)

    def load(paths):
        return {
            f"{k}:{Path(p).name}": open_generator(p, dev, nonfinite="error", precision=precision)
            for k, p in enumerate(paths)
        }

    a, b = load(group_a), load(group_b)
    with tqdm(total=len(a) + len(b), unit="net", leave=False) as bar:
        summary = rates_report(
            a,
            b,
            seed_list,
            outdir,
            (names[0], names[1]),
            layer,
            truncation_psi,
            noise_mode,
            criteria,
            level,
            samples,
            progress=lambda n, total: bar.update(n - bar.n),
        )
    for run in summary["runs"]:
        click.echo(
            f"{run['group']:<12} {run['network']:<40} rate {run['rate']:.3f}  mean score {run['mean_score']:.2f}"
        )
    pct = int(round(level * 100))
    for key, name in (("a", names[0]), ("b", names[1])):
        est = summary[key]
        click.echo(
            f"{name}: rate {est['rate']:.3f}, {pct}% interval [{est['ci_low']:.3f}, {est['ci_high']:.3f}] "
            f"over {len(est['per_run'])} run(s) x {len(seed_list)} images"
        )
    d = summary["difference_b_minus_a"]
    click.echo(f"{names[1]} - {names[0]}: {d['value']:+.3f}, {pct}% interval [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]")
    click.echo(f"wrote rates.png and summary.json to {outdir}")


@command.command(name="over-training")
@click.option(
    "--run",
    "runs",
    multiple=True,
    required=True,
    type=click.Path(file_okay=False),
    help="A training run directory (repeat to overlay several runs).",
)
@click.option("--seeds", default="0-99", show_default=True, help="Seeds of the images (the same for every snapshot).")
@click.option("--layer", default=None, help="Layer to analyse (default: each network's first AdaIN at 128x128).")
@click.option(
    "--noise-mode",
    type=click.Choice(["const", "random", "none"]),
    default="const",
    show_default=True,
    help="Noise inputs of the analysed images.",
)
@_criteria_options
@click.option(
    "--onset",
    "onset_level",
    type=FiniteFloat(0, 1, min_open=True),
    default=0.1,
    show_default=True,
    help="Artifacts 'appear' at the first snapshot from which the rate stays at or above this.",
)
@click.option("--outdir", required=True, type=click.Path(file_okay=False), help="Where to write the plot and JSON.")
@device_option
def over_training_command(
    runs,
    seeds,
    layer,
    noise_mode,
    score_threshold,
    max_area_fraction,
    min_channel_consistency,
    center,
    onset_level,
    outdir,
    device,
):
    """Artifact rate and score of every snapshot of one or more runs over kimg, and when the artifacts
    appear."""
    from tqdm import tqdm

    from stylegan.analysis.contribution import run_snapshots
    from stylegan.analysis.training_runs import artifacts_over_training, over_training_paths
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_writable_folder, refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    criteria = _criteria(score_threshold, max_area_fraction, min_channel_consistency, center)
    snapshots = [p for run in runs for _, p in run_snapshots(run)]
    refuse_overwriting_inputs({f"snapshot {p.name}": p for p in snapshots}, over_training_paths(outdir))
    check_writable_folder(outdir)
    with tqdm(total=len(snapshots), unit="snapshot", leave=False) as bar:
        summary = artifacts_over_training(
            runs,
            outdir,
            seed_list,
            layer,
            noise_mode,
            criteria,
            onset_level,
            pick_device(device),
            progress=lambda n, total: bar.update(n - bar.n),
        )
    for run in summary["runs"]:
        last = run["snapshots"][-1]
        onset = f"{run['onset_kimg']:g} kimg" if run["onset_kimg"] is not None else "not (yet)"
        click.echo(
            f"{run['run']}: {len(run['snapshots'])} snapshots; at {last['kimg']:g} kimg rate "
            f"{last['rate']:.3f}, mean score {last['mean_score']:.2f}; artifacts appear "
            f"(rate >= {onset_level:g} from then on): {onset}"
        )
    click.echo(f"wrote artifacts_over_training.png and .json to {outdir}")
