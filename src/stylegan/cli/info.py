"""stylegan info: what a network file holds."""

from __future__ import annotations

import json

import click

from stylegan.cli.common import device_option


def describe(module) -> dict:
    """Kind, config, parameter counts per top-level sub-network, and resolutions of a network."""
    from stylegan.models.registry import config_to_dict

    counts = {}
    for name, child in module.named_children():
        counts[name] = sum(p.numel() for p in child.parameters())
    own = sum(p.numel() for p in module.parameters(recurse=False))
    if own:
        counts["(own)"] = own
    info = {
        "kind": getattr(module, "kind", type(module).__name__),
        "config": config_to_dict(module.config) if hasattr(module, "config") else None,
        "parameters": counts,
        "total_parameters": sum(p.numel() for p in module.parameters()),
        "img_resolution": getattr(module, "img_resolution", None),
        "img_channels": getattr(module, "img_channels", None),
    }
    synthesis = getattr(module, "synthesis", module)
    for attr in ("block_resolutions", "layer_resolutions"):
        if hasattr(synthesis, attr):
            info["resolutions"] = list(getattr(synthesis, attr))
    for attr in ("z_dim", "c_dim", "w_dim", "num_ws"):
        if hasattr(module, attr):
            info[attr] = getattr(module, attr)
    return info


@click.command(name="info")
@click.argument("checkpoint", metavar="CKPT")
@click.option(
    "--which",
    type=click.Choice(["G", "D"]),
    default="G",
    show_default=True,
    help="Network to describe in files that hold several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON only.")
@device_option
def command(checkpoint, which, as_json, device):
    """Print a checkpoint's config, parameter counts per sub-network and resolutions."""
    from stylegan.io import load_network

    module = load_network(checkpoint, which=which, device="cpu")
    info = describe(module)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"network      {info['kind']}")
    for key in ("img_resolution", "img_channels", "z_dim", "c_dim", "w_dim", "num_ws"):
        if info.get(key) is not None:
            click.echo(f"{key:<12} {info[key]}")
    if "resolutions" in info:
        click.echo(f"resolutions  {', '.join(str(r) for r in info['resolutions'])}")
    click.echo("parameters")
    for name, n in info["parameters"].items():
        click.echo(f"  {name:<12} {n:>12,}")
    click.echo(f"  {'total':<12} {info['total_parameters']:>12,}")
    click.echo("config")
    click.echo(json.dumps(info["config"], indent=2))
