"""``stylegan train``: train a StyleGAN 1/2/3 or PIN generator (see ``stylegan.training``)."""

from __future__ import annotations

import os

import click
from click.core import ParameterSource

from stylegan.cli.common import SEED, FiniteFloat
from stylegan.training.options import AUG_MODES, BAD_FILE_POLICIES, PRESET_DEFAULTS, TrainingOptions
from stylegan.utils.precision import PRECISIONS

# CLI option name -> TrainingOptions field.
FIELDS = {
    "cfg": "cfg", "data": "data", "res": "resolution", "cond": "cond", "mirror": "mirror", "max_size": "max_size",
    "kimg": "kimg", "batch": "batch", "batch_gpu": "batch_gpu", "gpus": "gpus", "seed": "seed",
    "cbase": "cbase", "cmax": "cmax", "map_depth": "map_depth", "z_dim": "z_dim", "w_dim": "w_dim",
    "mbstd_group": "mbstd_group", "noise": "noise", "fp32": "fp32", "compile": "compile", "glr": "glr", "dlr": "dlr",
    "gamma": "gamma",
    "ema_kimg": "ema_kimg", "ema_rampup": "ema_rampup", "style_mixing": "style_mixing", "pl_weight": "pl_weight",
    "g_reg_interval": "g_reg_interval", "d_reg_interval": "d_reg_interval", "blur_sigma": "blur_sigma",
    "blur_fade_kimg": "blur_fade_kimg", "aug": "aug", "p": "aug_p", "target": "ada_target", "augpipe": "augpipe",
    "ada_kimg": "ada_kimg", "outdir": "outdir", "desc": "desc", "tick": "tick", "snap": "snap",
    "img_snap": "img_snap", "metrics": "metrics", "workers": "workers", "bad_files": "bad_files",
    "progressive": "progressive", "lod_kimg": "lod_kimg", "lod_initial_res": "lod_initial_res",
    "pin_gate_init": "pin_gate_init", "grid": "grid", "metrics_detector": "metrics_detector",
    "metrics_num": "metrics_num", "time_limit": "time_limit",
    "precision": "precision",
}


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


FloatPos = FiniteFloat(min=0, min_open=True)
Float0 = FiniteFloat(min=0)
Prob = FiniteFloat(0, 1)
Bool = dict(type=bool, metavar="BOOL")

# (option, click keyword arguments). Defaults live in TrainingOptions / PRESET_DEFAULTS, so that
# only what a user gives is passed on (and may override a resumed run's settings).
OPTIONS = [
    ("--cfg", dict(type=click.Choice(sorted(PRESET_DEFAULTS)), help="Preset to train.  [required unless resuming]")),
    ("--data", dict(metavar="PATH|toyfaces", help="Image folder, zip, or the built-in 'toyfaces'.  [required]")),
    ("--res", dict(type=click.IntRange(4), help="Training resolution  [default: the dataset's]")),
    ("--cond", dict(**Bool, help="Train a conditional model on the dataset labels  [default: 0]")),
    ("--mirror", dict(**Bool, help="Add x-flipped copies of the images  [default: 0]")),
    ("--max-size", dict(type=click.IntRange(1), help="Use at most this many images")),
    ("--kimg", dict(type=FloatPos, help="Training length in thousands of images  [default: 25000]")),
    ("--time-limit", dict(type=FloatPos, help="Stop (with a snapshot) after this many minutes")),
    ("--batch", dict(type=click.IntRange(1), help="Total batch size  [default: 32; StyleGAN: per resolution]")),
    ("--batch-gpu", dict(type=click.IntRange(1), help="Samples per process and pass  [default: batch / gpus]")),
    ("--gpus", dict(metavar="N|auto", help="Processes: GPUs, or gloo processes on CPU; auto: one process of one "
                                           "thread per CPU core (1 on CUDA)  [default: auto]")),
    ("--seed", dict(type=SEED, help="Random seed  [default: 0]")),
    ("--cbase", dict(type=click.IntRange(1), help="Capacity: channels min(cbase / res, cmax)  [default: per preset]")),
    ("--cmax", dict(type=click.IntRange(1), help="Maximum channels  [default: per preset]")),
    ("--map-depth", dict(type=click.IntRange(1), help="Mapping network depth  [default: 8, StyleGAN3: 2]")),
    ("--z-dim", dict(type=click.IntRange(1), help="Latent size  [default: 512]")),
    ("--w-dim", dict(type=click.IntRange(1), help="Intermediate latent size  [default: 512]")),
    ("--mbstd-group", dict(type=click.IntRange(1), help="Minibatch standard deviation group size  [default: 4]")),
    ("--noise", dict(**Bool, help="Per-pixel noise inputs of G (StyleGAN 1 and 2)  [default: 1]")),
    ("--fp32", dict(**Bool, help="Disable mixed precision and TF32 on CUDA  [default: 0]")),
    ("--precision", dict(type=click.Choice(PRECISIONS),
                         help="Training arithmetic: fp32, bf16 (CPU only: forward passes under bfloat16 autocast, "
                              "weights and losses float32) or auto (bf16 on a CPU with AVX512-BF16/AMX, else fp32)  "
                              "[default: fp32]")),
    ("--compile", dict(**Bool, help="torch.compile G and D for the passes without double backward; eager where "
                                    "compiling is unavailable  [default: 0]")),
    ("--glr", dict(type=FloatPos, help="G learning rate  [default: per preset]")),
    ("--dlr", dict(type=FloatPos, help="D learning rate  [default: per preset]")),
    ("--gamma", dict(type=Float0, help="R1 weight  [default: StyleGAN 10, else 0.0002 res^2 / batch]")),
    ("--ema-kimg", dict(type=Float0, help="G EMA half-life in kimg  [default: batch * 10 / 32]")),
    ("--ema-rampup", dict(type=Float0, help="EMA ramp-up, 0 for none  [default: 0.05; StyleGAN: none]")),
    ("--style-mixing", dict(type=Prob, help="Style mixing probability  [default: per preset]")),
    ("--pl-weight", dict(type=Float0, help="Path length regularisation weight  [default: per preset]")),
    ("--g-reg-interval", dict(type=click.IntRange(0), help="Lazy path-length interval, 0: every step  [default: 4]")),
    ("--d-reg-interval", dict(type=click.IntRange(0), help="Lazy R1 interval, 0: every step  [default: 16]")),
    ("--blur-sigma", dict(type=Float0, help="Initial D input blur  [default: StyleGAN3-R 10, else 0]")),
    ("--blur-fade-kimg", dict(type=Float0, help="D input blur fade-out  [default: batch * 200 / 32]")),
    ("--aug", dict(type=click.Choice(AUG_MODES), help="Augmentation: adaptive, fixed p, or none  [default: ada]")),
    ("--p", dict(type=Prob, help="Augmentation probability: fixed (default 0.2) or initial for ada (default 0)")),
    ("--target", dict(type=Prob, help="ADA target of E[sign(D(real))]  [default: 0.6]")),
    ("--augpipe", dict(help="Augmentation pipeline  [default: bgc]")),
    ("--ada-kimg", dict(type=FloatPos, help="ADA adjustment speed  [default: 500]")),
    ("--outdir", dict(type=click.Path(file_okay=False), help="Where run directories go  [default: training-runs]")),
    ("--desc", dict(help="Text to add to the run directory's name")),
    ("--tick", dict(type=FloatPos, help="kimg per progress tick  [default: 4]")),
    ("--snap", dict(type=click.IntRange(1), help="Ticks per network snapshot  [default: 50]")),
    ("--img-snap", dict(type=click.IntRange(1), help="Ticks per sample grid  [default: 50]")),
    ("--grid", dict(metavar="COLSxROWS", help="Size of the sample grids  [default: by resolution, up to 16x9]")),
    ("--metrics", dict(metavar="NAME,..|none", help="Metrics at every snapshot, e.g. fid50k_full  [default: none]")),
    ("--metrics-detector", dict(type=click.Choice(["inception", "probe"]),
                                help="Feature network of the metrics; probe works offline  [default: inception]")),
    ("--metrics-num", dict(type=click.IntRange(1), help="Generated images per metric  [default: the metric's]")),
    ("--workers", dict(type=click.IntRange(0), help="Data loading processes  [default: 2]")),
    ("--bad-files", dict(type=click.Choice(BAD_FILE_POLICIES), help="On an unreadable image  [default: skip]")),
    ("--progressive", dict(**Bool, help="StyleGAN: grow progressively  [default: 1 for stylegan1, stylegan1-pin]")),
    ("--lod-kimg", dict(type=Float0, help="StyleGAN: kimg per fade-in and per stable phase  [default: 600]")),
    ("--lod-initial-res", dict(type=click.IntRange(4), help="StyleGAN: first resolution when growing  [default: 8]")),
    ("--pin-gate-init", dict(type=Prob, help="stylegan1-pin: initial PIN gate p  [default: 0.5]")),
]


def _with_options(fn):
    for name, kwargs in reversed(OPTIONS):
        fn = click.option(name, **kwargs)(fn)
    return fn


_PARSE = {"metrics": _metrics, "grid": _grid, "gpus": _gpus}


@click.command()
@_with_options
@click.option("--resume", metavar="latest|PATH",
              help="Continue a run exactly (latest, a run directory, a training-state file), "
                   "or start from a network file's generator.")
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
            given[FIELDS[name]] = _PARSE.get(name, lambda v: v)(value)
    exact_resume = resume is not None and not _looks_like_network(resume)
    if not exact_resume:
        missing = [f"--{k}" for k in ("cfg", "data") if k not in given]
        if missing:
            raise UserError(f"missing option(s) {', '.join(missing)} (needed unless resuming a run)")
        given.setdefault("gpus", _gpus("auto"))  # a new run chooses its process layout unless told
    opts = TrainingOptions(**given)
    try:
        run_dir = train(opts, resume=resume, overrides=given)
    except NonFiniteError as e:
        raise click.ClickException(str(e)) from None
    if os.environ.get("RANK", "0") == "0":  # once, also under torchrun
        click.echo(f"Run directory: {run_dir}")


def _looks_like_network(path: str) -> bool:
    return path.endswith((".safetensors", ".pkl"))
