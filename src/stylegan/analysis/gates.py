"""The PIN gates over training: the per-layer gate values a ``stylegan1-pin`` run logs at every tick
(``PIN/gate/<layer>`` in ``stats.jsonl``: mean and spread over channels; ``PIN/gate_low`` and
``PIN/gate_high``: the interval of ``--pin-schedule``), plotted over kimg
(``stylegan analyze gates --run DIR``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stylegan.analysis.figures import colorize
from stylegan.analysis.report import write_json
from stylegan.errors import UserError
from stylegan.utils.files import make_folder
from stylegan.utils.images import save_png
from stylegan.utils.plot import Panel, line_figure

GATE_PREFIX = "PIN/gate/"


def read_gate_trajectories(run_dir: str | Path) -> dict:
    """{"kimg": [...], "layers": {layer: {"mean": [...], "std": [...]}}, "low": [...], "high": [...]}
    from the ``stats.jsonl`` of a run (lines without gate values are skipped)."""
    path = Path(run_dir) / "stats.jsonl"
    if not path.is_file():
        raise UserError(f"no stats.jsonl in {run_dir} (give a training run directory)")
    kimg, low, high = [], [], []
    layers: dict[str, dict[str, list]] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise UserError(f"{path}: line {number} is not JSON") from None
        gates = {k[len(GATE_PREFIX) :]: v for k, v in row.items() if k.startswith(GATE_PREFIX)}
        if not gates or "nimg" not in row:
            continue
        kimg.append(row["nimg"] / 1e3)
        for name, value in gates.items():
            entry = layers.setdefault(name, {"mean": [], "std": []})
            entry["mean"].append(value["mean"])
            entry["std"].append(value["std"])
        low.append(row.get("PIN/gate_low", {}).get("mean"))
        high.append(row.get("PIN/gate_high", {}).get("mean"))
    if not kimg:
        raise UserError(f"{path} holds no PIN gate values (a stylegan1-pin run logs them at every tick)")
    return {"kimg": kimg, "layers": layers, "low": low, "high": high}


def _running_order(layer: str) -> tuple:
    """'b16.conv1' -> (16, 'conv1'): layers by resolution, then by name."""
    head, _, rest = layer.partition(".")
    return (int(head[1:]), rest) if head[1:].isdigit() else (1 << 30, layer)


def gates_report_paths(outdir: str | Path) -> list[Path]:
    outdir = Path(outdir)
    return [outdir / "gates.png", outdir / "gates.json"]


def gates_report(run_dir: str | Path, outdir: str | Path) -> dict:
    """``gates.png``: the mean gate of every PIN layer over kimg (0 = instance norm, 1 = pixel norm),
    with the bounds of the schedule where the run has one; ``gates.json``: the values."""
    data = read_gate_trajectories(run_dir)
    kimg = np.asarray(data["kimg"])
    layers = sorted(data["layers"], key=_running_order)
    series = {name: (kimg, np.asarray(data["layers"][name]["mean"])) for name in layers}
    # Coarse layers dark, fine layers bright (the analysis colormap, short of its pale end).
    shades = colorize(np.linspace(0.0, 0.75, len(layers)).reshape(1, -1), 0.0, 1.0)[0]
    colors = {name: tuple(int(c) for c in shade) for name, shade in zip(layers, shades)}
    if all(v is not None for v in data["high"]):  # a run under --pin-schedule
        series["schedule low"] = (kimg, np.asarray(data["low"]))
        series["schedule high"] = (kimg, np.asarray(data["high"]))
        colors.update({"schedule low": (150, 150, 150), "schedule high": (150, 150, 150)})
    hi = float(kimg.max()) if kimg.max() > kimg.min() else float(kimg.min()) + 1
    panel = Panel(
        "PIN gate per layer (mean over channels)",
        series,
        (float(kimg.min()), hi),
        (0.0, 1.0),
        xlabel="kimg",
        ylabel="gate",
        colors=colors,
    )
    outdir = make_folder(outdir)
    paths = gates_report_paths(outdir)
    save_png(line_figure([panel], panel_size=(620, 360)), paths[0])
    summary = {"run": str(run_dir), **data, "layers": {name: data["layers"][name] for name in layers}}
    write_json(summary, paths[1])
    return summary
