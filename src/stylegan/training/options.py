"""Training options: one frozen dataclass per run, filled in from a per-preset table of defaults.

The defaults follow the official trainers: NVlabs/stylegan (StyleGAN, ``train.py``) and
NVlabs/stylegan3 (StyleGAN2 and StyleGAN3, ``train.py``). Every value a user does not give is
taken from ``PRESET_DEFAULTS[cfg]``; ``resolve_options`` turns a partial ``TrainingOptions`` into a
complete one once the dataset's resolution is known, and that complete object is what a run stores
in ``training_options.json`` and what ``--resume`` reads back.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from stylegan.errors import UserError
from stylegan.models.stylegan2 import ARCHITECTURES
from stylegan.models.stylegan3 import LAYER_SCHEDULES, RECOMPUTE_MODES
from stylegan.training.recipes import RECIPES, apply_recipe
from stylegan.utils.precision import PRECISIONS

AUG_MODES = ("ada", "fixed", "none")
BAD_FILE_POLICIES = ("skip", "stop")


@dataclass(frozen=True)
class PresetDefaults:
    """What a preset trains with when the user says nothing.

    ``gamma=None`` uses the StyleGAN2-ADA heuristic ``0.0002 * resolution**2 / batch``.
    ``ema_kimg`` is the half-life of the generator EMA in thousands of images; with
    ``ema_scales_with_batch`` it is given for a batch of 32 and scaled linearly with the batch.
    A regularisation interval of ``None`` runs the regulariser at every step together with the
    main loss (no lazy regularisation); an interval ``k`` runs it every ``k`` steps, multiplied by
    ``k``, with Adam's learning rate and betas compensated by ``c = k / (k + 1)`` (StyleGAN2, App. B).
    """

    g_lr: float
    d_lr: float
    map_depth: int
    batch: int
    gamma: float | None
    ema_kimg: float
    ema_scales_with_batch: bool
    ema_rampup: float | None
    style_mixing: float
    pl_weight: float
    g_reg_interval: int | None
    d_reg_interval: int | None
    blur_sigma: float = 0.0
    blur_fade_kimg: float = 0.0  # per batch of 32, like ema_kimg
    progressive: bool = False
    mbstd_group: int = 4
    betas: tuple[float, float] = (0.0, 0.99)


PRESET_DEFAULTS: dict[str, PresetDefaults] = {
    # StyleGAN: R1 (gamma 10) at every step, lr 0.001 (raised at high resolutions by the progressive
    # schedule), G smoothing 10 kimg without ramp-up, style mixing 0.9, progressive growing.
    "stylegan1": PresetDefaults(
        g_lr=0.001,
        d_lr=0.001,
        map_depth=8,
        batch=32,
        gamma=10.0,
        ema_kimg=10.0,
        ema_scales_with_batch=False,
        ema_rampup=None,
        style_mixing=0.9,
        pl_weight=0.0,
        g_reg_interval=None,
        d_reg_interval=None,
        progressive=True,
    ),
    # StyleGAN2 config F as trained by the StyleGAN3 code base: lazy R1 every 16 D steps, path length
    # regularisation (weight 2) every 4 G steps, style mixing 0.9, EMA 10 kimg per 32 images, ramp-up 0.05.
    "stylegan2": PresetDefaults(
        g_lr=0.002,
        d_lr=0.002,
        map_depth=8,
        batch=32,
        gamma=None,
        ema_kimg=10.0,
        ema_scales_with_batch=True,
        ema_rampup=0.05,
        style_mixing=0.9,
        pl_weight=2.0,
        g_reg_interval=4,
        d_reg_interval=16,
    ),
    # StyleGAN3: G lr 0.0025, mapping depth 2, no style mixing, no path length regularisation.
    "stylegan3-t": PresetDefaults(
        g_lr=0.0025,
        d_lr=0.002,
        map_depth=2,
        batch=32,
        gamma=None,
        ema_kimg=10.0,
        ema_scales_with_batch=True,
        ema_rampup=0.05,
        style_mixing=0.0,
        pl_weight=0.0,
        g_reg_interval=None,
        d_reg_interval=16,
    ),
}
# StyleGAN with Pixel-Instance Normalization trains like StyleGAN; the PIN gates are projected onto
# [0, 1] after every generator step.
PRESET_DEFAULTS["stylegan1-pin"] = PRESET_DEFAULTS["stylegan1"]
# StyleGAN3-R additionally blurs the images the discriminator sees: sigma 10 px, faded out over the
# first 200 kimg (per batch of 32).
PRESET_DEFAULTS["stylegan3-r"] = dataclasses.replace(
    PRESET_DEFAULTS["stylegan3-t"], blur_sigma=10.0, blur_fade_kimg=200.0
)


def option(
    default,
    help: str,
    kind: str = "str",
    *,
    flag: str | None = None,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    choices: tuple[str, ...] | None = None,
    metavar: str | None = None,
    resumable: bool = False,
):
    """A ``TrainingOptions`` field that ``stylegan train`` offers as ``--<flag or name>``.

    ``kind``: int, float, bool, choice, seed, dir, str, or one the CLI parses itself (gpus, grid,
    metrics). ``lo``/``hi`` bound numbers (``lo_open``: ``lo`` excluded); ``resumable``: the option
    may change when a run is resumed (the others define the run). The help text gets
    ``[default: ...]`` from ``default`` unless it describes the default itself."""
    meta = dict(
        help=help,
        kind=kind,
        flag=flag,
        lo=lo,
        hi=hi,
        lo_open=lo_open,
        choices=choices,
        metavar=metavar,
        resumable=resumable,
    )
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainingOptions:
    """Everything a run needs. ``None`` means "the preset's default" until ``resolve_options``."""

    # What to train on what.
    cfg: str = option(
        "stylegan2", "Preset to train.  [required unless resuming]", "choice", choices=tuple(sorted(PRESET_DEFAULTS))
    )
    data: str = option(
        "toyfaces", "Image folder, zip, or the built-in 'toyfaces'.  [required]", metavar="PATH|toyfaces"
    )
    recipe: str = option(
        "paper",
        "Defaults for the options not given: paper (the preset's, as the official trainers) or small "
        "(measured fastest for a small network on a CPU: 32 channels, batch 8, lr 0.005, gamma 0.2, ...; "
        "stylegan1, stylegan1-pin, stylegan2)",
        "choice",
        choices=RECIPES,
    )
    resolution: int | None = option(None, "Training resolution  [default: the dataset's]", "int", flag="res", lo=4)
    cond: bool = option(False, "Train a conditional model on the dataset labels", "bool")
    mirror: bool = option(False, "Add x-flipped copies of the images", "bool")
    max_size: int | None = option(None, "Use at most this many images", "int", lo=1)
    # Duration and batch.
    kimg: float = option(25000.0, "Training length in thousands of images", "float", lo=0, lo_open=True, resumable=True)
    time_limit: float | None = option(
        None, "Stop (with a snapshot) after this many minutes", "float", lo=0, lo_open=True, resumable=True
    )
    batch: int | None = option(None, "Total batch size  [default: 32; StyleGAN: per resolution]", "int", lo=1)
    # Samples per process and pass; default batch / gpus.
    batch_gpu: int | None = option(
        None, "Samples per process and pass  [default: batch / gpus]", "int", lo=1, resumable=True
    )
    # Processes (one per GPU; on CPU, gloo processes); 0 (``--gpus auto``): chosen by
    # ``distributed.auto_process_count`` when the options are resolved.
    gpus: int = option(
        1,
        "Processes: GPUs, or gloo processes on CPU; auto: one process of one thread per CPU "
        "core (1 on CUDA)  [default: auto for a new run, the run's own when resuming]",
        "gpus",
        metavar="N|auto",
        resumable=True,
    )
    seed: int = option(0, "Random seed", "seed")
    # Networks.
    cbase: int | None = option(None, "Capacity: channels min(cbase / res, cmax)  [default: per preset]", "int", lo=1)
    cmax: int | None = option(None, "Maximum channels  [default: per preset]", "int", lo=1)
    map_depth: int | None = option(
        None,
        "Mapping network depth, 0: w is the normalised z (needs --w-dim = --z-dim)  [default: 8, StyleGAN3: 2]",
        "int",
        lo=0,
    )
    z_dim: int | None = option(None, "Latent size  [default: 512]", "int", lo=1)
    w_dim: int | None = option(None, "Intermediate latent size  [default: 512]", "int", lo=1)
    mbstd_group: int | None = option(None, "Minibatch standard deviation group size  [default: 4]", "int", lo=1)
    freeze_d: int = option(
        0, "Freeze-D (fine-tuning): keep the first K layers of D (from the input) fixed", "int", lo=0, metavar="K"
    )
    noise: bool = option(True, "Per-pixel noise inputs of G (StyleGAN 1 and 2)", "bool")
    # StyleGAN paper, Table 1: configs A-D feed the first w through a dense layer, E-F learn a constant.
    const_input: bool = option(
        True,
        "StyleGAN: the 4x4 input is a learned constant; 0: a dense layer from w (the paper's traditional input)",
        "bool",
    )
    # StyleGAN2 paper, Figure 7 / Table 2: the generator and discriminator architectures.
    g_arch: str | None = option(
        None,
        "stylegan2 G: orig, skip (tRGB outputs summed) or resnet  [default: skip]",
        "choice",
        choices=ARCHITECTURES,
    )
    d_arch: str | None = option(
        None, "StyleGAN2/3 D: orig, skip (fRGB inputs) or resnet  [default: resnet]", "choice", choices=ARCHITECTURES
    )
    # StyleGAN3 paper, Figure 3: the configuration ladder from StyleGAN2 (A) to StyleGAN3-T/R (docs/training.md).
    fourier_input: bool = option(
        False,
        "stylegan2: Fourier-feature input instead of the learned 4x4 constant (StyleGAN3 paper, config B)",
        "bool",
    )
    magnitude_norm: bool = option(
        False,
        "stylegan2: divide the input of every modulated conv by its running RMS (StyleGAN3 paper, config D)",
        "bool",
    )
    g_layers: str = option(
        "flexible",
        "StyleGAN3 layer layout: flexible (config T) or stylegan2 (configs E-H: two layers per octave from 4 px)",
        "choice",
        choices=LAYER_SCHEDULES,
    )
    critical_sampling: bool = option(
        False,
        "StyleGAN3 with --g-layers stylegan2: every layer critically sampled (configs E-F); "
        "0: only those at the output resolution (G-H)",
        "bool",
    )
    filtered_lrelu: bool = option(
        True,
        "StyleGAN3: leaky ReLU between 2x up- and downsampling (config F on); 0: unfiltered at the layer's rate",
        "bool",
    )
    fourier_transform: bool = option(
        True, "StyleGAN3: w rotates and translates the Fourier features (config H on); 0: fixed features", "bool"
    )
    fp32: bool = option(False, "Disable mixed precision and TF32 on CUDA", "bool")
    compile: bool = option(
        False,
        "torch.compile G and D for the passes without double backward; eager where compiling is unavailable",
        "bool",
        resumable=True,
    )
    # Activation checkpointing in G's synthesis layers (models.stylegan3.set_recompute); the same
    # gradients, so a run may switch it when resumed.
    recompute: str = option(
        "none",
        "StyleGAN3: recompute in the backward pass instead of storing: activations (the filtered "
        "leaky ReLU's upsampled tensors) or layers (whole layers, convolutions too); less memory, "
        "more time, the same gradients",
        "choice",
        choices=RECOMPUTE_MODES,
        resumable=True,
    )
    # fp32, bf16 (CPU autocast) or auto; resolved to fp32 or bf16 (see utils.precision).
    precision: str = option(
        "fp32",
        "Training arithmetic: fp32, bf16 (CPU only: forward passes under bfloat16 "
        "autocast, weights and losses float32) or auto (bf16 on a CPU with "
        "AVX512-BF16/AMX, else fp32)",
        "choice",
        choices=PRECISIONS,
    )
    # Optimisation and regularisation.
    # Learning rates may change on resume (a lower rate at a plateau; Adam's moments are kept).
    glr: float | None = option(
        None, "G learning rate  [default: per preset]", "float", lo=0, lo_open=True, resumable=True
    )
    dlr: float | None = option(
        None, "D learning rate  [default: per preset]", "float", lo=0, lo_open=True, resumable=True
    )
    gamma: float | None = option(None, "R1 weight  [default: StyleGAN 10, else 0.0002 res^2 / batch]", "float", lo=0)
    ema_kimg: float | None = option(None, "G EMA half-life in kimg  [default: batch * 10 / 32]", "float", lo=0)
    ema_rampup: float | None = option(None, "EMA ramp-up, 0 for none  [default: 0.05; StyleGAN: none]", "float", lo=0)
    style_mixing: float | None = option(None, "Style mixing probability  [default: per preset]", "float", lo=0, hi=1)
    pl_weight: float | None = option(None, "Path length regularisation weight  [default: per preset]", "float", lo=0)
    pl_batch_shrink: int = 2
    pl_decay: float = 0.01
    g_reg_interval: int | None = option(None, "Lazy path-length interval, 0: every step  [default: 4]", "int", lo=0)
    d_reg_interval: int | None = option(None, "Lazy R1 interval, 0: every step  [default: 16]", "int", lo=0)
    blur_sigma: float | None = option(None, "Initial D input blur  [default: StyleGAN3-R 10, else 0]", "float", lo=0)
    blur_fade_kimg: float | None = option(None, "D input blur fade-out  [default: batch * 200 / 32]", "float", lo=0)
    # Augmentation.
    aug: str | None = option(
        None,
        "Augmentation: adaptive, fixed p, or none  [default: ada; --recipe small: none]",
        "choice",
        choices=AUG_MODES,
    )
    # --aug fixed: the probability (default 0.2); --aug ada: the initial p (default 0).
    aug_p: float | None = option(
        None,
        "Augmentation probability: fixed (default 0.2) or initial for ada (default 0)",
        "float",
        flag="p",
        lo=0,
        hi=1,
    )
    ada_target: float = option(0.6, "ADA target of E[sign(D(real))]", "float", flag="target", lo=0, hi=1)
    ada_interval: int = 4
    ada_kimg: float = option(500.0, "ADA adjustment speed", "float", lo=0, lo_open=True)
    augpipe: str = option("bgc", "Augmentation pipeline")
    # Run bookkeeping.
    outdir: str = option("training-runs", "Where run directories go", "dir")
    desc: str | None = option(None, "Text to add to the run directory's name")
    tick: float = option(4.0, "kimg per progress tick", "float", lo=0, lo_open=True, resumable=True)
    snap: int = option(50, "Ticks per network snapshot", "int", lo=1, resumable=True)
    img_snap: int = option(50, "Ticks per sample grid", "int", lo=1, resumable=True)
    # (columns, rows) of the sample grids; default: by resolution.
    grid: tuple[int, int] | None = option(
        None,
        "Size of the sample grids  [default: by resolution, up to 16x9]",
        "grid",
        metavar="COLSxROWS",
        resumable=True,
    )
    metrics: tuple[str, ...] = option(
        (),
        "Metrics at every snapshot, e.g. fid50k_full  [default: none]",
        "metrics",
        metavar="NAME,..|none",
        resumable=True,
    )
    metrics_detector: str = option(
        "inception",
        "Feature network of the metrics; probe works offline",
        "choice",
        choices=("inception", "probe"),
        resumable=True,
    )
    # Generated samples per metric (default: the metric's, e.g. 50k).
    metrics_num: int | None = option(
        None, "Generated images per metric  [default: the metric's]", "int", lo=1, resumable=True
    )
    workers: int = option(2, "Data loading processes", "int", lo=0, resumable=True)
    bad_files: str = option("skip", "On an unreadable image", "choice", choices=BAD_FILE_POLICIES, resumable=True)
    # StyleGAN (v1): progressive growing and Pixel-Instance Normalization.
    progressive: bool | None = option(
        None, "StyleGAN: grow progressively  [default: 1 for stylegan1, stylegan1-pin]", "bool"
    )
    lod_kimg: float = option(600.0, "StyleGAN: kimg per fade-in and per stable phase", "float", lo=0)
    lod_initial_res: int = option(8, "StyleGAN: first resolution when growing", "int", lo=4)
    pin_gate_init: float | None = option(None, "stylegan1-pin: initial PIN gate p  [default: 0.5]", "float", lo=0, hi=1)
    pin_schedule: str = option(
        "none",
        "stylegan1-pin: PIN gate schedule: none (learned in [0, 1]); START:END "
        "(instance norm until START kimg, pixel norm forced in linearly, pure "
        "pixel norm from END kimg); START:END:free (instance norm until START, "
        "then the gate's upper bound opens to 1 by END)",
        metavar="none|START:END[:free]",
    )
    resolved: bool = field(default=False)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> TrainingOptions:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise UserError(f"training options: unknown field(s) {unknown}")
        data = dict(data)
        if "metrics" in data:
            data["metrics"] = tuple(data["metrics"])
        if data.get("grid") is not None:
            data["grid"] = tuple(data["grid"])
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> TrainingOptions:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError, TypeError) as e:
            raise UserError(f"cannot read training options {path}: {e}") from None

    @property
    def defaults(self) -> PresetDefaults:
        return preset_defaults(self.cfg)


def preset_defaults(cfg: str) -> PresetDefaults:
    if cfg not in PRESET_DEFAULTS:
        raise UserError(f"unknown --cfg {cfg!r}; choose from {', '.join(sorted(PRESET_DEFAULTS))}")
    return PRESET_DEFAULTS[cfg]


def resolve_options(opts: TrainingOptions, dataset_resolution: int, device_type: str | None = None) -> TrainingOptions:
    """Fill every ``None`` from the preset's defaults and check the combination.

    ``precision`` "auto" becomes "fp32" or "bf16" for ``device_type`` (default: the device training
    picks, CUDA when available, else the CPU), so that a run's options say what it computes in."""
    d = preset_defaults(opts.cfg)
    opts = apply_recipe(opts)
    need_precision(opts)
    if device_type is None:
        import torch

        device_type = "cuda" if torch.cuda.is_available() else "cpu"
    from stylegan.training.distributed import AUTO_PROCESSES, auto_process_count
    from stylegan.utils.precision import resolve_precision

    precision = "fp32" if opts.fp32 and opts.precision == "auto" else resolve_precision(opts.precision, device_type)
    res = opts.resolution or dataset_resolution
    progressive = d.progressive if opts.progressive is None else opts.progressive
    # Progressive growing without --batch takes the minibatch of each resolution from the schedule.
    batch = opts.batch if opts.batch or progressive else d.batch
    scale = (batch or d.batch) / 32
    mbstd_group = opts.mbstd_group or d.mbstd_group
    gpus = opts.gpus
    if gpus == AUTO_PROCESSES:
        gpus = 1 if opts.batch_gpu else auto_process_count(batch, mbstd_group, device_type)
    values = dict(
        resolution=res,
        batch=batch,
        gpus=gpus,
        batch_gpu=opts.batch_gpu or (max(batch // gpus, 1) if batch else None),
        map_depth=d.map_depth if opts.map_depth is None else opts.map_depth,
        mbstd_group=mbstd_group,
        glr=d.g_lr if opts.glr is None else opts.glr,
        dlr=d.d_lr if opts.dlr is None else opts.dlr,
        gamma=_default_gamma(d, res, batch or d.batch) if opts.gamma is None else opts.gamma,
        ema_kimg=(d.ema_kimg * (scale if d.ema_scales_with_batch else 1)) if opts.ema_kimg is None else opts.ema_kimg,
        ema_rampup=d.ema_rampup if opts.ema_rampup is None else (opts.ema_rampup or None),
        style_mixing=d.style_mixing if opts.style_mixing is None else opts.style_mixing,
        pl_weight=d.pl_weight if opts.pl_weight is None else opts.pl_weight,
        g_reg_interval=d.g_reg_interval if opts.g_reg_interval is None else (opts.g_reg_interval or None),
        d_reg_interval=d.d_reg_interval if opts.d_reg_interval is None else (opts.d_reg_interval or None),
        blur_sigma=d.blur_sigma if opts.blur_sigma is None else opts.blur_sigma,
        blur_fade_kimg=d.blur_fade_kimg * scale if opts.blur_fade_kimg is None else opts.blur_fade_kimg,
        progressive=progressive,
        aug="ada" if opts.aug is None else opts.aug,
        aug_p=0.2 if opts.aug == "fixed" and opts.aug_p is None else opts.aug_p,
        precision=precision,
        resolved=True,
    )
    out = dataclasses.replace(opts, **values)
    check_options(out)
    return out


def need_precision(o: TrainingOptions) -> None:
    if o.precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {o.precision!r}")


def _default_gamma(d: PresetDefaults, resolution: int, batch: int) -> float:
    if d.gamma is not None:
        return d.gamma
    return 0.0002 * resolution**2 / batch


def check_options(o: TrainingOptions) -> None:
    """Reject combinations that cannot train, with one clear message."""

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise UserError(msg)

    need(o.kimg > 0, "--kimg must be positive")
    need(o.tick > 0, "--tick must be positive")
    need(o.snap >= 1 and o.img_snap >= 1, "--snap and --img-snap must be at least 1")
    need(o.gpus >= 1, "--gpus must be at least 1")
    need(o.batch_gpu is None or o.batch_gpu >= 1, "--batch-gpu must be at least 1")
    if o.batch is not None:
        need(o.batch >= 1, "--batch must be at least 1")
        need(o.batch % o.gpus == 0, f"--batch {o.batch} must be a multiple of --gpus {o.gpus}")
        need(
            o.batch % (o.gpus * o.batch_gpu) == 0,
            f"--batch {o.batch} must be a multiple of --gpus times --batch-gpu ({o.gpus} x {o.batch_gpu})",
        )
        group = min(o.mbstd_group, o.batch_gpu)
        need(
            o.batch_gpu % group == 0,
            f"--batch-gpu {o.batch_gpu} must be a multiple of the minibatch-stddev group size {o.mbstd_group}",
        )
    else:
        need(o.progressive, "--batch is needed")
    need(
        o.const_input or o.defaults.progressive,
        f"--const-input 0 applies to stylegan1 and stylegan1-pin (--cfg {o.cfg})",
    )
    need(o.g_arch is None or o.cfg == "stylegan2", f"--g-arch applies to stylegan2 only (--cfg {o.cfg})")
    need(
        o.d_arch is None or o.cfg.startswith(("stylegan2", "stylegan3")),
        f"--d-arch applies to stylegan2, stylegan3-t and stylegan3-r only (--cfg {o.cfg})",
    )
    need(o.recompute in RECOMPUTE_MODES, f"--recompute must be one of {', '.join(RECOMPUTE_MODES)}")
    need(
        o.recompute == "none" or o.cfg.startswith("stylegan3"),
        f"--recompute applies to stylegan3-t and stylegan3-r only (--cfg {o.cfg})",
    )
    for name, value in ladder_changes(o).items():
        presets = LADDER_OPTIONS[name]
        need(
            o.cfg in presets,
            f"{flag(name)} {int(value) if isinstance(value, bool) else value} applies to "
            f"{' and '.join(presets)} only (--cfg {o.cfg})",
        )
    need(
        not o.critical_sampling or o.g_layers == "stylegan2",
        "--critical-sampling 1 needs --g-layers stylegan2 (the flexible layers of config T are never all critical)",
    )
    need(o.aug in AUG_MODES, f"--aug must be one of {', '.join(AUG_MODES)}")
    if o.aug != "none":
        from stylegan.training.augment import preset_kwargs

        preset_kwargs(o.augpipe)  # an unknown --augpipe fails here, before the run directory is made
    need(o.bad_files in BAD_FILE_POLICIES, f"--bad-files must be one of {', '.join(BAD_FILE_POLICIES)}")
    need(0 <= o.style_mixing <= 1, "--style-mixing must lie in [0, 1]")
    need(o.gamma >= 0 and o.pl_weight >= 0, "--gamma and --pl-weight must not be negative")
    need(o.glr > 0 and o.dlr > 0, "--glr and --dlr must be positive")
    need(o.aug_p is None or 0 <= o.aug_p <= 1, "--p must lie in [0, 1]")
    need(0 <= o.ada_target <= 1, "--target must lie in [0, 1]")
    need(o.aug_p is None or o.aug != "none", "--p needs --aug fixed or ada")
    need(o.pl_batch_shrink >= 1, "pl_batch_shrink must be at least 1")
    for name in ("g_reg_interval", "d_reg_interval"):
        value = getattr(o, name)
        need(value is None or value >= 1, f"{name} must be at least 1")
    need(o.workers >= 0, "--workers must not be negative")
    need(o.time_limit is None or o.time_limit > 0, "--time-limit must be positive")
    need(o.grid is None or (len(o.grid) == 2 and min(o.grid) >= 1), "--grid must be COLSxROWS, e.g. 8x4")
    if o.progressive:
        need(o.defaults.progressive, f"--cfg {o.cfg} does not grow progressively (only stylegan1 and stylegan1-pin do)")
        need(o.lod_kimg >= 0, "--lod-kimg must not be negative")
        need(
            4 <= o.lod_initial_res <= o.resolution and o.lod_initial_res & (o.lod_initial_res - 1) == 0,
            f"--lod-initial-res must be a power of two between 4 and the resolution {o.resolution}",
        )
    need(
        not (o.compile and o.progressive),
        "--compile does not apply to progressive growing (the level of detail changes every step); "
        "use --progressive 0 or leave --compile off",
    )
    need_precision(o)
    need(
        not (o.fp32 and o.precision == "bf16"),
        "--fp32 1 asks for float32 everywhere and --precision bf16 for bfloat16; give one of them",
    )
    need(o.pin_gate_init is None or o.cfg == "stylegan1-pin", "--pin-gate-init applies to --cfg stylegan1-pin")
    need(o.pin_gate_init is None or 0 <= o.pin_gate_init <= 1, "--pin-gate-init must lie in [0, 1]")
    need(o.pin_schedule == "none" or o.cfg == "stylegan1-pin", "--pin-schedule applies to --cfg stylegan1-pin")
    pin_gate_schedule(o.pin_schedule)


# The ladder options (StyleGAN3 paper, Figure 3) and the presets they apply to.
LADDER_OPTIONS: dict[str, tuple[str, ...]] = {
    "fourier_input": ("stylegan2",),
    "magnitude_norm": ("stylegan2",),
    "g_layers": ("stylegan3-t", "stylegan3-r"),
    "critical_sampling": ("stylegan3-t", "stylegan3-r"),
    "filtered_lrelu": ("stylegan3-t", "stylegan3-r"),
    "fourier_transform": ("stylegan3-t", "stylegan3-r"),
}


def ladder_changes(o: TrainingOptions) -> dict[str, bool | str]:
    """The ladder options of ``o`` that differ from their defaults; ``model_spec`` passes them to the
    preset under the same names (``g_layers`` as ``layer_schedule``)."""
    fields = TrainingOptions.__dataclass_fields__
    return {name: getattr(o, name) for name in LADDER_OPTIONS if getattr(o, name) != fields[name].default}


def pin_gate_schedule(text: str):
    """The ``GateSchedule`` of ``--pin-schedule`` (None for 'none'): 'START:END' moves the interval the
    PIN gates are projected onto from [0, 0] (instance norm) before START kimg linearly to [1, 1] (pixel
    norm) at END kimg, the PIN paper's "instance norm early, pixel norm later"; 'START:END:free' moves
    it from [0, 0] to [0, 1], so that the gates are learned freely from END kimg on."""
    from stylegan.layers.pin import GateSchedule

    if text == "none":
        return None
    parts = text.split(":")
    form = "--pin-schedule must be none, START:END or START:END:free (kimg, START <= END)"
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "free"):
        raise UserError(f"{form}; got {text!r}")
    try:
        start, end = float(parts[0]), float(parts[1])
    except ValueError:
        raise UserError(f"{form}; got {text!r}") from None
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start <= end):
        raise UserError(f"{form}; got {text!r}")
    low_end = 0.0 if len(parts) == 3 else 1.0
    return GateSchedule(start, end, low_start=0.0, low_end=low_end, high_start=0.0, high_end=1.0)


def run_description(o: TrainingOptions, dataset_name: str) -> str:
    """The part of a run directory's name after its number: ``<cfg>-<data>-gpus1-batch32-gamma10``."""
    batch = o.batch if o.batch else "auto"
    desc = f"{o.cfg}-{_safe(dataset_name)}-gpus{o.gpus}-batch{batch}-gamma{o.gamma:g}"
    if o.desc:
        desc += f"-{_safe(o.desc)}"
    return desc


def _safe(text: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "._" else "-" for ch in text)
    return keep.strip("-") or "data"


def cli_fields() -> list[dataclasses.Field]:
    """The fields ``stylegan train`` offers as options, in their order."""
    return [f for f in dataclasses.fields(TrainingOptions) if "help" in f.metadata]


def resumable_fields() -> frozenset[str]:
    """Options that may change when a run is resumed; the others define the run."""
    return frozenset(f.name for f in dataclasses.fields(TrainingOptions) if f.metadata.get("resumable"))


def flag(name: str) -> str:
    """The ``stylegan train`` option of field ``name``: ``resolution`` -> ``--res``."""
    meta = TrainingOptions.__dataclass_fields__[name].metadata
    return "--" + (meta.get("flag") or name).replace("_", "-")
