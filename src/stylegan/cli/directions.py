"""stylegan directions: find edit directions (InterFaceGAN, GANSpace, SeFa, StyleSpace) and save them."""

from __future__ import annotations

import click

from stylegan.cli.common import SEED, FiniteFloat, device_option, force_option, network_option, open_generator


@click.command(name="directions")
@network_option
@click.option("--method", required=True, type=click.Choice(["interfacegan", "ganspace", "sefa", "stylespace"]))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE.safetensors",
    help="Where to write the direction file.",
)
@click.option(
    "--attribute",
    default=None,
    metavar="FACTOR[=VALUE]",
    help="interfacegan, stylespace: score samples with the toyfaces probe: a binary or continuous "
    "factor (smile, glasses, yaw, ...) or one class of a categorical one (hair_color=grey).",
)
@click.option(
    "--scores",
    "scores_file",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE.npz",
    help="interfacegan: your own labelled latents instead of --attribute: arrays 'scores' [N] and "
    "'z', 'w' [N, w_dim] or 'ws' [N, num_ws, w_dim] (e.g. projected images with their labels).",
)
@click.option(
    "--space",
    type=click.Choice(["z", "w", "w+"]),
    default="w",
    show_default=True,
    help="interfacegan: the latent space of the boundary.",
)
@click.option(
    "--samples",
    type=click.IntRange(0, 10_000_000),
    default=None,
    help="Samples drawn [default: 10000; stylespace, ganspace --activations 2000; sefa: only to measure "
    "each direction's spread, 0 for scale 1].",
)
@click.option(
    "--keep",
    type=FiniteFloat(min=0, max=0.5, min_open=True),
    default=0.02,
    show_default=True,
    help="interfacegan: fraction of highest and of lowest scored samples the SVM sees.",
)
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="interfacegan: remove this direction's component (conditional editing; at most twice).",
)
@click.option(
    "--components",
    type=click.IntRange(1, 100_000),
    default=10,
    show_default=True,
    help="ganspace, sefa: number of directions.",
)
@click.option(
    "--layers",
    default=None,
    metavar="RANGE",
    help="The ws the directions act on, e.g. 0-3 (sefa: also the layers it factorises; stylespace: "
    "the layers it searches) [default: all].",
)
@click.option(
    "--activations",
    default=None,
    metavar="LAYER",
    help="ganspace: PCA of this synthesis layer's activations (e.g. b16.conv0; `stylegan analyze layers` "
    "lists them), regressed back to W, instead of PCA of w.",
)
@click.option(
    "--examples",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="stylespace: positive and negative examples each (the samples of highest and lowest score).",
)
@click.option(
    "--channels", type=click.IntRange(1, 100_000), default=5, show_default=True, help="stylespace: style channels kept."
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the sampled latents.")
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@force_option
@device_option
def command(
    network,
    method,
    out,
    attribute,
    scores_file,
    space,
    samples,
    keep,
    conditions,
    components,
    layers,
    activations,
    examples,
    channels,
    seed,
    class_idx,
    force,
    device,
):
    """Find edit directions of a network and write them to one safetensors file.

    \b
    interfacegan  linear boundary of an attribute (--attribute, or --scores for your own labels)
    ganspace      principal components of sampled w (or of a layer's activations)
    sefa          eigenvectors of the style affine weights (closed form, no sampling)
    stylespace    style channels that control an attribute (--attribute)

    Edit with `stylegan edit --direction FILE`."""
    from tqdm import tqdm

    from stylegan.editing import directions as D
    from stylegan.errors import UserError
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_output_file, refuse_overwriting_inputs
    from stylegan.utils.seeds import parse_int_list

    if method == "interfacegan" and (attribute is None) == (scores_file is None):
        raise UserError("interfacegan needs --attribute or --scores (one of them)")
    if method == "stylespace" and (attribute is None or scores_file):
        raise UserError("stylespace needs --attribute (and takes no --scores)")
    if method in ("ganspace", "sefa") and (attribute or scores_file):
        raise UserError(f"{method} is unsupervised: it takes no --attribute or --scores")
    if samples is not None and samples < 2 and method != "sefa":
        raise UserError(f"--samples must be at least 2 for {method}, got {samples}")
    if activations and method != "ganspace":
        raise UserError("--activations applies to ganspace")
    if conditions and method != "interfacegan":
        raise UserError("--condition applies to interfacegan")
    if len(conditions) > 2:
        raise UserError(f"condition on at most two directions, got {len(conditions)}")
    inputs = {"--network": network, "--scores": scores_file}
    inputs.update({f"--condition {i + 1}": c for i, c in enumerate(conditions)})
    refuse_overwriting_inputs(inputs, [out])
    check_output_file(out, force)
    layer_list = parse_int_list(layers, "layer list") if layers is not None else None
    condition_dirs = [D.load_direction(c) for c in conditions]
    dev = pick_device(device)
    G = open_generator(network, dev, nonfinite="error")
    if layer_list is not None and any(i >= G.num_ws for i in layer_list):
        raise UserError(f"--layers must be within [0, {G.num_ws}) for this network, got {layers}")

    def bar(iterable):
        return tqdm(iterable, unit="batch", leave=False)

    if method == "interfacegan" and scores_file:
        direction = D.interfacegan_from_file(G, scores_file, keep, layer_list)
        if condition_dirs:
            direction = D.conditioned(direction, condition_dirs)
    elif method == "interfacegan":
        direction = D.find_interfacegan(
            G,
            D.probe_classifier(attribute, dev),
            samples or 10_000,
            space,
            keep,
            seed,
            attribute,
            layer_list,
            class_idx,
            condition_dirs,
            progress=bar,
        )
    elif method == "ganspace" and activations:
        direction = D.find_ganspace_activations(
            G, activations, samples or 2000, components, layer_list, seed, class_idx
        )
    elif method == "ganspace":
        direction = D.find_ganspace(G, samples or 10_000, components, layer_list, seed, class_idx)
    elif method == "sefa":
        direction = D.sefa(G, layer_list, components, scale_samples=samples if samples is not None else 1000)
    else:
        direction = D.find_stylespace(
            G,
            D.probe_classifier(attribute, dev),
            samples or 2000,
            examples,
            channels,
            seed,
            attribute,
            layer_list,
            class_idx,
            progress=bar,
        )
    direction.info["network"] = str(network)
    path = D.save_direction(direction, out)
    scales = ", ".join(f"{n} (sd {float(s):.3g})" for n, s in zip(direction.names[:6], direction.scales[:6]))
    more = f", ... ({len(direction)} in all)" if len(direction) > 6 else ""
    click.echo(f"wrote {path}: {direction.method} in {direction.space}: {scales}{more}")
