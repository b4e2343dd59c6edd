"""Training statistics: per-tick means of reported values, written as JSON lines and TensorBoard
scalars, and the one-line progress display.

Values are accumulated on the training device (no synchronisation per step) as count, sum and
sum of squares in float64 (float32 on MPS), summed over processes at the end of each tick. A line of
``stats.jsonl`` looks like the official trainers' (``{"Loss/G/loss": {"num": .., "mean": ..,
"std": ..}, ..., "timestamp": ..}``) plus ``"nimg"``, the number of images seen at that tick,
which is how a resumed run finds where to continue the file.
"""

from __future__ import annotations

import json
import math
import resource
import sys
from pathlib import Path

import torch

from stylegan.training import distributed as dist
from stylegan.utils.files import append_line, atomic_write

TIMING_PREFIXES = ("Timing/", "Resources/")


class StatsCollector:
    """Accumulates ``report(name, values)`` until ``reduce()`` (once per tick, on every process)."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.dtype = torch.float32 if self.device.type == "mps" else torch.float64  # MPS has no float64
        self._moments: dict[str, torch.Tensor] = {}
        self._scalars: dict[str, float] = {}

    def report(self, name: str, value: torch.Tensor | float) -> None:
        """Add every element of ``value`` (a tensor of any shape, or a number) to statistic ``name``."""
        value = torch.as_tensor(value).detach().flatten().to(device=self.device, dtype=self.dtype)
        moments = torch.stack(
            [torch.tensor(value.numel(), dtype=self.dtype, device=self.device), value.sum(), value.square().sum()]
        )
        if name in self._moments:
            self._moments[name] += moments
        else:
            self._moments[name] = moments

    def report_scalar(self, name: str, value: float) -> None:
        """A single value known on this process (timings, progress); not averaged over processes."""
        self._scalars[name] = float(value)

    def reduce(self) -> dict[str, dict[str, float]]:
        """Sum the moments over processes, turn them into num/mean/std and start afresh."""
        names = sorted(self._moments)
        result: dict[str, dict[str, float]] = {}
        if names:
            stacked = torch.stack([self._moments[n] for n in names])
            stacked = dist.all_reduce_sum(stacked).cpu()
            for name, (num, total, squares) in zip(names, stacked.tolist()):
                mean = total / num if num else math.nan
                var = max(squares / num - mean**2, 0.0) if num else math.nan
                result[name] = {"num": num, "mean": mean, "std": math.sqrt(var)}
        for name, value in sorted(self._scalars.items()):
            result[name] = {"num": 1, "mean": value, "std": 0.0}
        self._moments.clear()
        self._scalars.clear()
        return result


class StatsLog:
    """``stats.jsonl`` and TensorBoard event files of a run directory (written by process 0 only)."""

    def __init__(self, run_dir: str | Path, enabled: bool = True, tensorboard: bool = True):
        self.path = Path(run_dir) / "stats.jsonl"
        self.enabled = enabled
        self._tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(run_dir))
            except ImportError:
                self._tb = None

    def write(self, stats: dict[str, dict[str, float]], nimg: int, timestamp: float, walltime: float) -> None:
        if not self.enabled:
            return
        line = dict(stats, nimg=int(nimg), timestamp=timestamp)
        append_line(self.path, json.dumps(line), fsync=True)
        if self._tb is not None:
            step = int(nimg / 1e3)
            for name, value in stats.items():
                self._tb.add_scalar(name, value["mean"], global_step=step, walltime=walltime)
            self._tb.flush()

    def write_metrics(self, results: dict[str, float], nimg: int, walltime: float) -> None:
        """Metric results of a snapshot as TensorBoard scalars (``Metrics/<name>``)."""
        if self.enabled and self._tb is not None:
            for name, value in results.items():
                self._tb.add_scalar(f"Metrics/{name}", value, global_step=int(nimg / 1e3), walltime=walltime)
            self._tb.flush()

    def truncate_after(self, nimg: int) -> None:
        """Drop lines written after ``nimg`` images (ticks a crashed run did after its last snapshot)."""
        if not self.enabled or not self.path.exists():
            return
        keep = []
        for line in self.path.read_text().splitlines():
            try:
                if json.loads(line).get("nimg", 0) <= nimg:
                    keep.append(line)
            except json.JSONDecodeError:
                break  # a line cut short by a crash: it and anything after it go
        text = "".join(x + "\n" for x in keep)
        atomic_write(self.path, lambda tmp: Path(tmp).write_text(text))

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def read_stats(path: str | Path, drop_timing: bool = True) -> list[dict]:
    """The lines of a ``stats.jsonl``; with ``drop_timing`` without wall-clock dependent fields."""
    rows = []
    for line in Path(path).read_text().splitlines():
        row = json.loads(line)
        if drop_timing:
            row = {k: v for k, v in row.items() if k != "timestamp" and not k.startswith(TIMING_PREFIXES)}
        rows.append(row)
    return rows


def format_time(seconds: float) -> str:
    """'45s', '12m 05s', '3h 02m', '2d 04h'."""
    s = int(round(max(seconds, 0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {(s // 60) % 60:02d}m"
    return f"{s // 86400}d {(s // 3600) % 24:02d}h"


def progress_line(
    tick: int,
    kimg: float,
    total_kimg: float,
    elapsed: float,
    sec_per_kimg: float,
    extra: dict[str, str] | None = None,
    time_limit: float | None = None,
) -> str:
    """The status line printed at every tick: kimg, sec/kimg, images/s and time left (to ``total_kimg``
    at the current speed, or to ``time_limit`` seconds of elapsed time if that comes first)."""
    imgs_per_sec = 1000 / sec_per_kimg if sec_per_kimg > 0 else 0.0
    left = max(total_kimg - kimg, 0) * sec_per_kimg
    if time_limit is not None:
        left = min(left, max(time_limit - elapsed, 0))
    fields = [
        f"tick {tick:<4d}",
        f"kimg {kimg:<9.3f}/ {total_kimg:g}",
        f"time {format_time(elapsed):<8s}",
        f"sec/kimg {sec_per_kimg:<8.2f}",
        f"img/s {imgs_per_sec:<7.1f}",
        f"left {format_time(left):<8s}",
    ]
    fields += [f"{k} {v}" for k, v in (extra or {}).items()]
    return "  ".join(fields)


def peak_cpu_memory_gb() -> float:
    """Peak resident memory of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**30 if sys.platform == "darwin" else 2**20)
