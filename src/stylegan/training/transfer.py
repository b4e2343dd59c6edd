"""Starting a run from a network file whose resolution or capacity differs from the run's.

``check_compatible`` refuses a file whose network computes differently from the run's preset
(another kind, architecture, activation, filter, ...), naming each difference; sizes may differ
(``SIZE_FIELDS``: resolution, channels, latent sizes, layer counts) and so may the settings the
run's options decide (precision, clamping, noise, Freeze-D, minibatch-stddev group, EMA rates).
``transfer_weights`` then copies every tensor whose name and shape the run's network shares with
the file, leaves the others as initialised, and returns the table of what happened to each.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from stylegan.errors import UserError

TRANSFER_FILE = "transfer.txt"  # the table, in the run directory
# Config fields that may differ between the file and the run (with the mapping network's, below).
SIZE_FIELDS = frozenset(
    {
        "img_resolution",
        "img_channels",
        "z_dim",
        "c_dim",
        "w_dim",
        "channel_base",
        "channel_max",
        "fmap_base",
        "fmap_max",
        "cmap_dim",
        "num_layers",
    }
)
RUN_SETTINGS = frozenset(
    {
        "num_fp16_res",
        "conv_clamp",
        "fused_modconv_default",
        "fp16_channels_last",
        "magnitude_ema_beta",
        "freeze_layers",
        "mbstd_group_size",
        "use_noise",
        "pin_gate_init",
        "progressive",
    }
)
MAPPING_FREE = frozenset({"num_layers", "w_avg_beta", "embed_features", "layer_features"})


def config_differences(src_cfg, dst_cfg) -> list[str]:
    """``field: file value, run value`` for each field where the two configs compute differently."""
    out = []
    for f in dataclasses.fields(dst_cfg):
        a, b = getattr(src_cfg, f.name, None), getattr(dst_cfg, f.name)
        if f.name == "mapping" and dataclasses.is_dataclass(b):
            out += [f"mapping.{d}" for d in config_differences(a, b) if d.split(":")[0] not in MAPPING_FREE]
            continue
        if f.name in SIZE_FIELDS | RUN_SETTINGS or a == b:
            continue
        out.append(f"{f.name}: file {a!r}, run {b!r}")
    return out


def check_compatible(src: nn.Module, dst: nn.Module, what: str, cfg_name: str) -> None:
    """Raise ``UserError`` if the file's network ``src`` is not the kind of network ``dst`` is."""
    src_kind, dst_kind = getattr(src, "kind", type(src).__name__), getattr(dst, "kind", type(dst).__name__)
    if src_kind != dst_kind:
        raise UserError(f"the {what} to start from is a {src_kind}; --cfg {cfg_name} trains a {dst_kind}")
    diff = config_differences(src.config, dst.config)
    if diff:
        raise UserError(f"the {what} to start from computes differently from --cfg {cfg_name}'s: " + "; ".join(diff))


@torch.no_grad()
def transfer_weights(src: nn.Module, dst: nn.Module) -> list[tuple[str, str, str]]:
    """Copy the tensors of ``src`` into ``dst`` where name and shape agree; returns rows
    (name, status, detail) with status ``copied``, ``new`` (initialised: not in the file, or of
    another shape there) or ``unused`` (in the file only)."""
    theirs = src.state_dict()
    rows = []
    for name, tensor in dst.state_dict().items():
        other = theirs.get(name)
        if other is None:
            rows.append((name, "new", "not in the file"))
        elif tuple(other.shape) != tuple(tensor.shape):
            rows.append((name, "new", f"file {list(other.shape)}, run {list(tensor.shape)}"))
        else:
            tensor.copy_(other)
            rows.append((name, "copied", ""))
    own = dst.state_dict()
    rows += [(name, "unused", "not in the run's network") for name in theirs if name not in own]
    return rows


def transfer_table(tables: dict[str, list[tuple[str, str, str]]]) -> str:
    """The tables of ``transfer_weights`` per network as text: a summary line each, then the rows."""
    lines = []
    for net, rows in tables.items():
        counts = {s: sum(1 for r in rows if r[1] == s) for s in ("copied", "new", "unused")}
        lines.append(
            f"{net}: {counts['copied']} tensors copied, {counts['new']} new, {counts['unused']} of the file unused"
        )
        width = max((len(r[0]) for r in rows), default=0)
        lines += [f"  {name:<{width}}  {status:<6}  {detail}".rstrip() for name, status, detail in rows]
    return "\n".join(lines) + "\n"
