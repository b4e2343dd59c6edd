"""stylegan analyze: the circular-artifact study of the PIN paper as commands.

    stylegan analyze layers    --network CKPT
    stylegan analyze artifacts --network CKPT --seeds 0-7 [--layer NAME] --outdir DIR
    stylegan analyze compare   A B [--seeds 0-99] [--layer NAME]
"""

from __future__ import annotations

import click

from stylegan.cli.common import FiniteFloat, device_option, force_option, network_option, open_generator


def _criteria_options(f):
    f = click.option("--threshold", "score_threshold", type=FiniteFloat(), default=4.0, show_default=True,
                     help="Peak energy / object energy needed to count as an artifact.")(f)
    f = click.option("--max-area", "max_area_fraction", type=FiniteFloat(), default=0.05, show_default=True,
                     help="Largest artifact region, as a fraction of the feature map.")(f)
    f = click.option("--min-consistency", "min_channel_consistency", type=FiniteFloat(), default=0.25,
                     show_default=True, help="Fraction of channels in which the region must stand out.")(f)
    f = click.option("--center/--no-center", default=False, show_default=True,
                     help="Subtract each channel's spatial median before measuring magnitudes.")(f)
    return f


def _criteria(score_threshold, max_area_fraction, min_channel_consistency, center):
    from stylegan.analysis.artifacts import ArtifactCriteria

    return ArtifactCriteria(score_threshold=score_threshold, max_area_fraction=max_area_fraction,
                            min_channel_consistency=min_channel_consistency, center=center)


def _generation_options(f):
    f = click.option("--trunc", "truncation_psi", type=FiniteFloat(), default=1.0, show_default=True,
                     help="Truncation psi.")(f)
    f = click.option("--trunc-cutoff", "truncation_cutoff", type=int, default=None,
                     help="Truncate only the first N ws (default: all).")(f)
    f = click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const",
                     show_default=True, help="Noise inputs of the analysed images.")(f)
    return f


@click.group(name="analyze")
def command():
    """Analyse circular artifacts (Tan, Wen, Yang 2021): feature maps, energy maps, artifact scores
    and rates, noise resampling and unit ablation."""


@command.command(name="layers")
@network_option
@device_option
def layers_command(network, device):
    """List the layers whose feature maps can be analysed, with their shapes."""
    from stylegan.analysis.features import default_analysis_layer, list_feature_layers
    from stylegan.utils.device import pick_device

    G = open_generator(network, pick_device(device))
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
@click.option("--ablate", type=click.IntRange(0), default=0, show_default=True,
              help="Unit ablation: zero the N units most active in the artifact region.")
@click.option("--ablation-mode", type=click.Choice(["top", "all-but-one"]), default="top", show_default=True,
              help="'top': zero the N most active units; 'all-but-one': zero every unit but the most active.")
@click.option("--measure-layer", default=None,
              help="Where to locate the artifact after ablation (default: the last feature map before RGB).")
@click.option("--channels", type=click.IntRange(1, 256), default=16, show_default=True,
              help="Channels shown in the feature-map grids (the most active in the artifact region).")
@device_option
def artifacts_command(network, seeds, layer, outdir, class_idx, truncation_psi, truncation_cutoff, noise_mode,
                      score_threshold, max_area_fraction, min_channel_consistency, center, noise_seeds, ablate,
                      ablation_mode, measure_layer, channels, device):
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
    G = open_generator(network, pick_device(device), nonfinite="error")
    summary = artifact_report(
        G, seed_list, outdir, layer=layer, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff,
        class_idx=class_idx, noise_mode=noise_mode, criteria=criteria, noise_seeds=noise_list, ablate=ablate,
        ablation_mode=ablation_mode, measure_layer=measure_layer, channels=channels,
    )
    click.echo(f"layer {summary['layer']} {'x'.join(map(str, summary['feature_shape']))}: "
               f"{summary['artifacts']}/{summary['samples']} images with an artifact "
               f"(rate {summary['rate']:.3f}, mean score {summary['mean_score']:.2f})")
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
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the table as JSON.")
@force_option
@device_option
def compare_command(network_a, network_b, seeds, layer, truncation_psi, truncation_cutoff, noise_mode,
                    score_threshold, max_area_fraction, min_channel_consistency, center, json_path, force, device):
    """Artifact rate of two networks side by side, on the same seeds."""
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
    criteria = _criteria(score_threshold, max_area_fraction, min_channel_consistency, center)
    dev = pick_device(device)
    rows = []
    for path in (network_a, network_b):
        G = open_generator(path, dev, nonfinite="error")
        stats = artifact_statistics(G, seed_list, layer, truncation_psi, truncation_cutoff, noise_mode, criteria)
        rows.append({"network": str(path), **stats})
    width = max(len(r["network"]) for r in rows)
    click.echo(f"{'network':<{width}}  {'layer':<28} {'samples':>7} {'artifacts':>9} {'rate':>6} {'mean score':>10}")
    for r in rows:
        click.echo(f"{r['network']:<{width}}  {r['layer']:<28} {r['samples']:>7} {r['artifacts']:>9} "
                   f"{r['rate']:>6.3f} {r['mean_score']:>10.2f}")
    if json_path:
        write_json({"seeds": seed_list, "networks": rows}, json_path)
