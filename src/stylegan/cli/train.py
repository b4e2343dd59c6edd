"""``stylegan train``: train a StyleGAN 1/2/3 or PIN generator (see ``stylegan.training``)."""

from __future__ import annotations

import dataclasses
import os

import click
from click.core import ParameterSource

from stylegan.cli.common import SEED, FiniteFloat
from stylegan.training.options import TrainingOptions, cli_fields, flag


def _grid(value: str) -> tuple[int, int]:
    from stylegan.errors import UserError

    try:
        cols, rows = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise UserError(f"--grid must look like 8x4 (columns x rows), got {value!r}") from None
    return cols, rows


def _metrics(value):
    if value is None or isinstance(value, tuple):
        return value
    if value.strip().lower() in ("", "none"):
        return ()
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _gpus(value: str) -> int:
    from stylegan.errors import UserError
    from stylegan.training.distributed import AUTO_PROCESSES

    if value.strip().lower() == "auto":
        return AUTO_PROCESSES
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise UserError(f"--gpus must be a whole number of at least 1 or 'auto', got {value!r}")
    return n


def _default_note(f: dataclasses.Field) -> str:
    if "[default" in f.metadata["help"] or "[required" in f.metadata["help"] or f.default is None:
        return ""
    value = int(f.default) if isinstance(f.default, bool) else f.default
    return f"  [default: {value:g}]" if isinstance(value, float) else f"  [default: {value}]"


def _click_type(meta: dict):
    kind = meta["kind"]
    if kind == "int":
        return click.IntRange(meta["lo"], meta["hi"])
    if kind == "float":
        return FiniteFloat(meta["lo"], meta["hi"], min_open=meta["lo_open"])
    if kind == "bool":
        return bool
    if kind == "choice":
        return click.Choice(meta["choices"])
    if kind == "seed":
        return SEED
    if kind == "dir":
        return click.Path(file_okay=False)
    return None  # text, parsed by _PARSE where it has a form


def _with_options(fn):
    """One click option per ``TrainingOptions`` field that has CLI metadata (``options.option``): the
    help, bounds and defaults live with the field. Defaults are not click defaults, so that only what a
    user gives is passed on (and may override a resumed run's settings)."""
    for f in reversed(cli_fields()):
        meta = f.metadata
        kwargs = dict(help=meta["help"] + _default_note(f), type=_click_type(meta))
        if meta["metavar"] or meta["kind"] == "bool":
            kwargs["metavar"] = meta["metavar"] or "BOOL"
        fn = click.option(flag(f.name), f.name, **kwargs)(fn)
    return fn


_PARSE = {"metrics": _metrics, "grid": _grid, "gpus": _gpus}


@click.command()
@_with_options
@click.option(
    "--resume",
    metavar="latest|PATH",
    help="Continue a run exactly (latest, a run directory, a training-state file), "
    "or start from a network file's generator (and discriminator, where the file has one).",
)
@click.pass_context
def command(ctx: click.Context, resume: str | None, **kwargs):
    """Train a generator.

    \b
    Examples:
      stylegan train --cfg stylegan2 --data toyfaces --res 32 --batch 16 --kimg 100
      stylegan train --cfg stylegan3-r --data ~/ffhq.zip --gpus 8 --batch 32 --gamma 6.6 --mirror 1
      stylegan train --resume latest --outdir training-runs
    """
    from stylegan.errors import UserError
    from stylegan.training.launch import train
    from stylegan.training.loop import NonFiniteError

    given = {}
    for name, value in kwargs.items():
        if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE and value is not None:
            given[name] = _PARSE.get(name, lambda v: v)(value)
    if resume is not None and not _looks_like_network(resume):
        # An exact resume: the run's own options, with those given that may change (others are refused).
        where = {"outdir": given["outdir"]} if "outdir" in given else {}
        opts, overrides = TrainingOptions(**where), given
    else:
        missing = [f"--{k}" for k in ("cfg", "data") if k not in given]
        if missing:
            raise UserError(f"missing option(s) {', '.join(missing)} (needed unless resuming a run)")
        # A new run (also one started from a network file) chooses its process layout unless told.
        opts, overrides = TrainingOptions(**{"gpus": _gpus("auto"), **given}), None
    try:
        run_dir = train(opts, resume=resume, overrides=overrides)
    except NonFiniteError as e:
        raise click.ClickException(str(e)) from None
    if os.environ.get("RANK", "0") == "0":  # once, also under torchrun
        click.echo(f"Run directory: {run_dir}")


def _looks_like_network(path: str) -> bool:
    return path.endswith((".safetensors", ".pkl"))
