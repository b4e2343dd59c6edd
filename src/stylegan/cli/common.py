"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import click

from stylegan.errors import UserError


def network_option(f):
    return click.option("--network", "network", required=True, metavar="CKPT",
                        help="Network file: native .safetensors, official .pkl, or a converted checkpoint.")(f)


def device_option(f):
    return click.option("--device", default="auto", show_default=True,
                        help="auto, cpu, cuda, cuda:N or mps.")(f)


def force_option(f):
    return click.option("--force", is_flag=True, help="Replace the output file if it exists.")(f)


def open_generator(path: str, device):
    from stylegan.io import load_network

    G = load_network(path, which="G", device=device)
    return G


def parse_float_pair(text: str | None, name: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise UserError(f"{name} must be two numbers like 0.1,-0.2, got {text!r}") from None
    if len(parts) != 2:
        raise UserError(f"{name} must be two numbers like 0.1,-0.2, got {text!r}")
    return parts[0], parts[1]
