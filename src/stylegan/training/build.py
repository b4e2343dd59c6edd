"""What a run is built from: dataset, networks, optimisers and training phases."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from stylegan.errors import UserError
from stylegan.models.configs import ModelSpec, build_preset
from stylegan.training.options import TrainingOptions, ladder_changes


def open_training_data(opts: TrainingOptions):
    """The dataset named by ``--data`` (a folder, zip, or ``toyfaces``). With ``--bad-files skip`` an
    unreadable image is reported and replaced by the next readable one; with ``stop`` it ends the run."""
    from stylegan.data import open_dataset

    dataset = open_dataset(
        opts.data,
        resolution=opts.resolution,
        use_labels=opts.cond,
        mirror=opts.mirror,
        max_size=opts.max_size,
        on_error="skip" if opts.bad_files == "skip" else "raise",
    )
    if opts.cond and not dataset.has_labels:
        raise UserError(f"--cond needs a dataset with labels; {opts.data} has none")
    return dataset


def check_metrics(opts: TrainingOptions) -> None:
    """Reject unknown ``--metrics`` names and detectors before a run starts."""
    if not opts.metrics:
        return
    from stylegan.metrics.runner import DETECTORS, parse_metric_list

    parse_metric_list(list(opts.metrics))
    if opts.metrics_detector not in DETECTORS:
        raise UserError(f"--metrics-detector must be one of {', '.join(DETECTORS)}")


def _replace_existing(config, **values):
    """``dataclasses.replace`` restricted to the fields ``config`` has."""
    names = {f.name for f in dataclasses.fields(config)}
    return dataclasses.replace(config, **{k: v for k, v in values.items() if k in names})


def model_spec(opts: TrainingOptions, img_channels: int, label_dim: int) -> ModelSpec:
    """The preset's networks with the training-time settings of the options applied."""
    extra = {}
    if opts.defaults.progressive:
        extra["progressive"] = opts.progressive
    if not opts.const_input:
        extra["const_input"] = False
    if opts.pin_gate_init is not None:
        extra["pin_gate_init"] = opts.pin_gate_init
    for name, value in ladder_changes(opts).items():
        extra["layer_schedule" if name == "g_layers" else name] = value
    spec = build_preset(
        opts.cfg,
        opts.resolution,
        c_dim=label_dim if opts.cond else 0,
        img_channels=img_channels,
        channel_base=opts.cbase,
        channel_max=opts.cmax,
        map_layers=opts.map_depth,
        z_dim=opts.z_dim,
        w_dim=opts.w_dim,
        **extra,
    )
    G_values: dict = {"use_noise": opts.noise}
    D_values: dict = {"mbstd_group_size": opts.mbstd_group}
    if opts.g_arch is not None:
        G_values["architecture"] = opts.g_arch
    if opts.d_arch is not None:
        D_values["architecture"] = opts.d_arch
    if opts.fp32:
        for values in (G_values, D_values):
            values.update(num_fp16_res=0, conv_clamp=None)
    if spec.G_kind.startswith("stylegan2"):
        # Training runs the modulated convolutions as plain convolutions (faster); inference uses grouped ones.
        G_values["fused_modconv_default"] = "inference_only"
    # StyleGAN3 (and StyleGAN2 with --magnitude-norm 1): the input-magnitude EMA has a half-life of 20 kimg.
    if getattr(spec.G, "magnitude_ema_beta", None) is not None:
        G_values["magnitude_ema_beta"] = 0.5 ** ((opts.batch or 32) / 20e3)
    if opts.freeze_d:
        if not hasattr(spec.D, "freeze_layers"):
            raise UserError(f"--freeze-d: the {spec.D_kind} of --cfg {opts.cfg} has no frozen layers option")
        D_values["freeze_layers"] = opts.freeze_d
    G_cfg = _replace_existing(spec.G, **G_values)
    D_cfg = _replace_existing(spec.D, **D_values)
    return dataclasses.replace(spec, G=G_cfg, D=D_cfg)


def build_networks(spec: ModelSpec) -> tuple[torch.nn.Module, torch.nn.Module]:
    """G and D of ``spec``; a capacity the networks refuse (``--cbase 3`` leaves no channels, a
    zero-width layer) is a ``UserError`` naming the options instead of a traceback."""
    try:
        G, D = spec.build()
    except (ValueError, ArithmeticError) as e:
        raise UserError(
            f"--cfg {spec.preset} cannot be built with these options (--cbase, --cmax, --z-dim, "
            f"--w-dim, --map-depth): {e or type(e).__name__}"
        ) from None
    freeze = getattr(spec.D, "freeze_layers", 0)
    if freeze:
        layers = sum(getattr(D, f"b{res}").num_layers for res in D.block_resolutions)
        if freeze > layers:
            raise UserError(f"--freeze-d {freeze}: the discriminator has {layers} layers before its final block")
    return G, D


def adam(params, lr: float, betas: tuple[float, float], reg_interval: int | None) -> torch.optim.Adam:
    """Adam; with lazy regularisation every k steps, lr and betas are compensated with c = k / (k + 1)
    (StyleGAN2, Appendix B), since the regulariser takes one of every k + 1 updates."""
    if reg_interval is not None:
        c = reg_interval / (reg_interval + 1)
        lr = lr * c
        betas = (betas[0] ** c, betas[1] ** c)
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8)


@dataclass(frozen=True)
class Phase:
    """One optimiser step kind: ``main`` loss and/or ``reg`` regulariser of network ``net``, every
    ``interval`` steps (the regulariser then weighs ``interval`` times)."""

    name: str
    net: str
    main: bool
    reg: bool
    interval: int = 1


def training_phases(opts: TrainingOptions) -> list[Phase]:
    """Gmain [+ Greg] then Dmain [+ Dreg], or the combined Gboth/Dboth without lazy regularisation."""
    phases = []
    for net, weight, interval in (("G", opts.pl_weight, opts.g_reg_interval), ("D", opts.gamma, opts.d_reg_interval)):
        if weight == 0:
            phases.append(Phase(f"{net}main", net, main=True, reg=False))
        elif interval is None:
            phases.append(Phase(f"{net}both", net, main=True, reg=True))
        else:
            phases.append(Phase(f"{net}main", net, main=True, reg=False))
            phases.append(Phase(f"{net}reg", net, main=False, reg=True, interval=interval))
    return phases


def lazy_interval(phases: list[Phase], net: str) -> int | None:
    """The regularisation interval of ``net`` if it is regularised lazily, else None."""
    lazy = [p.interval for p in phases if p.net == net and p.reg and not p.main]
    return lazy[0] if lazy else None


def projectable_modules(module: nn.Module) -> list[nn.Module]:
    """Modules with a ``project_()`` method (PIN gates), to be projected after each optimiser step."""
    return [m for m in module.modules() if callable(getattr(m, "project_", None))]


def progressive_schedule(opts: TrainingOptions, num_processes: int):
    """The growing schedule of a StyleGAN (v1) run: the official per-resolution minibatches (the
    single-GPU table for one process) and learning rates (scaled by --glr / --dlr over 0.001),
    ``lod_kimg`` per fade-in and per stable phase, starting at ``lod_initial_res``."""
    from stylegan.training.progressive import OFFICIAL_MINIBATCH, ONE_GPU_MINIBATCH, ProgressiveSchedule

    one = num_processes == 1
    return ProgressiveSchedule(
        opts.resolution,
        lod_initial_resolution=opts.lod_initial_res,
        lod_training_kimg=opts.lod_kimg,
        lod_transition_kimg=opts.lod_kimg,
        minibatch_base=4 if one else 32,
        minibatch_dict=dict(ONE_GPU_MINIBATCH if one else OFFICIAL_MINIBATCH),
    )


def networks_from_state(state: dict, where: str = "training state") -> dict[str, nn.Module]:
    """``G``, ``D`` and ``G_ema`` of a training state (``snapshot.load_state``), rebuilt from its options.

    The image channels and label size are the dataset's, which the options do not record: they are
    read from the stored tensors (the label size from the mapping's label embedding, the channels by
    trying 3, 1, 4 and 2)."""
    from stylegan.errors import CheckpointError

    opts = TrainingOptions.from_dict(state["options"])
    embed = state["G"].get("mapping.embed.weight")
    label_dim = int(embed.shape[1]) if embed is not None else 0
    for img_channels in (3, 1, 4, 2):
        G, D = build_networks(model_spec(opts, img_channels, label_dim))
        nets = {"G": G, "D": D, "G_ema": copy.deepcopy(G)}
        if all(_fits(nets[name], state[name]) for name in nets):
            for name, net in nets.items():
                net.load_state_dict(state[name])
                net.eval()
            return nets
    raise CheckpointError(f"{where}: its networks do not fit the networks its own options describe")


def _fits(module: nn.Module, sd: dict) -> bool:
    own = module.state_dict()
    return own.keys() == sd.keys() and all(tuple(own[k].shape) == tuple(sd[k].shape) for k in own)
