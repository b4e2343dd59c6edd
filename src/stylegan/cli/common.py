"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import math

import click

from stylegan.errors import UserError
from stylegan.utils.seeds import MAX_SEED


class FiniteFloat(click.FloatRange):
    """A number option that refuses NaN and infinities (``click.FloatRange`` lets them through),
    with the same optional bounds as ``click.FloatRange``."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


SEED = click.IntRange(0, MAX_SEED)  # a seed of numpy's RandomState, as the official tools use


def network_option(f):
    return click.option(
        "--network",
        "network",
        required=True,
        metavar="CKPT",
        help="Network file: native .safetensors, official .pkl, or a converted checkpoint.",
    )(f)


def device_option(f):
    return click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")(f)


def distance_options(help: str = "Image distance: LPIPS (official VGG16), the toyfaces probe, or MSE."):
    """``--distance lpips|probe|mse`` and ``--distance-weights FILE``: the image distance of the commands
    that project images (``stylegan.metrics.detectors.get_distance``)."""

    def wrap(f):
        f = click.option(
            "--distance-weights",
            default=None,
            type=click.Path(),
            help="File of the distance's network (e.g. the official vgg16.pt); default: the usual cache.",
        )(f)
        return click.option(
            "--distance",
            "distance_name",
            type=click.Choice(["lpips", "probe", "mse"]),
            default="lpips",
            show_default=True,
            help=help,
        )(f)

    return wrap


def precision_option(f):
    """``--precision fp32|bf16|auto`` of the commands that run a generator (``stylegan.utils.precision``)."""
    from stylegan.utils.precision import PRECISIONS

    return click.option(
        "--precision",
        type=click.Choice(PRECISIONS),
        default="fp32",
        show_default=True,
        help="Generator arithmetic: fp32, bf16 (bfloat16 weights and activations, CPU only) or auto "
        "(bf16 on a CPU with native bfloat16 for networks of 1M+ convolution weights, else fp32).",
    )(f)


def force_option(f):
    return click.option("--force", is_flag=True, help="Replace the output file if it exists.")(f)


def open_generator(path: str, device, nonfinite: str = "warn", precision: str = "fp32"):
    """The generator of a network file; ``nonfinite="error"`` where NaN weights make the result meaningless;
    prepared for ``precision`` (``--precision``: fp32, bf16 or auto; ``stylegan.utils.precision``)."""
    import torch

    from stylegan.io import load_network
    from stylegan.utils.precision import prepare_inference, resolve_inference_precision

    resolve_inference_precision(precision, torch.device(device).type)  # a bad value before the file is read
    G = load_network(path, which="G", device=device, nonfinite=nonfinite)
    return prepare_inference(G, resolve_inference_precision(precision, torch.device(device).type, G))


def parse_float_pair(text: str | None, name: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise UserError(f"{name} must be two numbers like 0.1,-0.2, got {text!r}") from None
    if len(parts) != 2 or not all(math.isfinite(p) for p in parts):
        raise UserError(f"{name} must be two numbers like 0.1,-0.2, got {text!r}")
    return parts[0], parts[1]
