"""stylegan mix: the style-mixing figure of the StyleGAN paper."""

from __future__ import annotations

import click

from stylegan.cli.common import (
    FiniteFloat,
    device_option,
    force_option,
    network_option,
    open_generator,
    precision_option,
)


@click.command(name="mix")
@network_option
@click.option("--rows", "row_seeds", required=True, help="Seeds of the rows (their ws are kept), e.g. 85,100,75.")
@click.option("--cols", "col_seeds", required=True, help="Seeds of the columns (their styles are copied in).")
@click.option(
    "--styles",
    default=None,
    help="ws layers taken from the column seeds, e.g. 0-6 [default: 0-6, within the network's ws].",
)
@click.option("--coarse", is_flag=True, help="Copy the coarse styles (ws 0-3 of an 18-ws network).")
@click.option("--middle", is_flag=True, help="Copy the middle styles (ws 4-7 of an 18-ws network).")
@click.option("--fine", is_flag=True, help="Copy the fine styles (ws 8+ of an 18-ws network).")
@click.option("--trunc", "truncation_psi", type=FiniteFloat(), default=1.0, show_default=True, help="Truncation psi.")
@click.option(
    "--trunc-cutoff", "truncation_cutoff", type=int, default=None, help="Truncate only the first N ws (default: all)."
)
@click.option("--class", "class_idx", type=int, default=None, help="Class index (conditional networks).")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True)
@click.option(
    "--output", default="stylemix.png", show_default=True, type=click.Path(dir_okay=False), help="The PNG to write."
)
@force_option
@click.option("--batch", "batch_size", type=click.IntRange(1, 1024), default=8, show_default=True)
@precision_option
@device_option
def command(
    network,
    row_seeds,
    col_seeds,
    styles,
    coarse,
    middle,
    fine,
    truncation_psi,
    truncation_cutoff,
    class_idx,
    noise_mode,
    output,
    force,
    batch_size,
    device,
    precision,
):
    """Style mixing figure: column images on top, row images on the left, and in cell (r, c) row r's
    image with column c's styles at the chosen layers (StyleGAN, Figure 3)."""
    from stylegan.errors import UserError
    from stylegan.tools.generate import check_truncation
    from stylegan.tools.mix import mix_figure, resolve_styles, style_mix
    from stylegan.utils.device import pick_device
    from stylegan.utils.files import check_output_file, refuse_overwriting_inputs
    from stylegan.utils.images import save_png
    from stylegan.utils.seeds import parse_seeds

    if not output.lower().endswith(".png"):
        raise UserError(f"--output must be a .png file, got {output!r}")
    refuse_overwriting_inputs({"--network": network}, output)
    check_output_file(output, force)
    rows, cols = parse_seeds(row_seeds), parse_seeds(col_seeds)
    check_truncation(truncation_psi, truncation_cutoff)
    dev = pick_device(device)
    G = open_generator(network, dev, precision=precision)
    presets = [name for name, on in (("coarse", coarse), ("middle", middle), ("fine", fine)) if on]
    layers = resolve_styles(G.num_ws, styles, presets)
    result = style_mix(
        G,
        rows,
        cols,
        layers,
        truncation_psi,
        truncation_cutoff,
        class_idx,
        noise_mode,
        batch_size=batch_size,
        device=dev,
    )
    path = save_png(mix_figure(result), output)
    click.echo(f"wrote {path} ({len(rows)} rows x {len(cols)} columns, styles {_ranges(layers)} of {G.num_ws} ws)")


def _ranges(layers: list[int]) -> str:
    parts, start = [], None
    for i, v in enumerate(layers):
        if start is None:
            start = v
        if i + 1 == len(layers) or layers[i + 1] != v + 1:
            parts.append(f"{start}" if start == v else f"{start}-{v}")
            start = None
    return ",".join(parts) or "none"
