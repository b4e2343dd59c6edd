"""Fidelity with the official trainer: train the official StyleGAN2 trainer (NVlabs/stylegan3
``train.py`` / ``training/training_loop.py``) and ours on the same toyfaces zip with the same config,
one thread each, and compare probe FID/KID at given kimg and the training time per kimg.

The official code is not part of this repository. Get a checkout of NVlabs/stylegan3 anywhere, e.g.
``git clone https://github.com/NVlabs/stylegan3 /tmp/stylegan3``, and pass it with ``--official``.
It is imported from there and patched in memory only (the list of patches is in
``benchmarks/_trainers.py``; in short: CPU device instead of the hard-coded ``cuda``, no CUDA timing
events or memory counters, no ``pin_memory``, ``InfiniteSampler``'s ``super().__init__(dataset)``,
float Adam betas, custom ops and gradfix ops on their reference paths without compiling, stubs for
``requests``/``psutil``/``pkg_resources`` when they are not installed, forked data workers, and a
snapshot writer that keeps the network pickles of the checkpoints only).

Config of both (the issue's): ``--cfg stylegan2``, batch 16, R1 gamma 0.0128, cbase 2048, cmax 32,
mapping depth 8 (the official ``train.py`` default for stylegan2), no augmentation, no mirroring,
the other hyperparameters at the official stylegan2 defaults (ours: the preset's defaults, the same
values), seeds 0, 1, 2, one data-loading worker each. Each run is its own subprocess with
``OMP_NUM_THREADS=1`` and ``torch.set_num_threads(1)``; runs go one after the other (seed by seed,
official then ours), so they never share the CPU with each other.

Measured at each checkpoint (the first tick end at or after 5, 10, 20, 40, 80 kimg; ticks of 1 kimg;
the last is exactly the run's end): probe FID and KID of the EMA generator (``stylegan.metrics`` with
``detector='probe'``, against the whole training zip, ``--metrics-num`` generated images, metric
seed 0), the training time up to it (``train_sec``: the sum of the trainer's own per-tick times,
training steps only: start-up, snapshots and metrics excluded) and the trainer's total time.
sec/kimg is the training time between consecutive checkpoints over their kimg.

Commands:

    # the full measurement: 3 x 80 kimg per trainer, about 2.5 hours of training on an idle 2-core CPU
    # (at the 21 and 14.6 s/kimg measured before), plus about 35 s of metrics per checkpoint
    python benchmarks/train_vs_official.py --official /tmp/stylegan3
    # split across sessions: results are merged into the JSON file run by run
    python benchmarks/train_vs_official.py --official /tmp/stylegan3 --seeds 0
    python benchmarks/train_vs_official.py --official /tmp/stylegan3 --seeds 1,2 --impls official
    python benchmarks/train_vs_official.py --official /tmp/stylegan3 --seeds 1,2 --impls ours
    # the table and the plot from the JSON file only
    python benchmarks/train_vs_official.py --report-only
    # a smoke test (a few minutes)
    python benchmarks/train_vs_official.py --official /tmp/stylegan3 --kimg-points 0.5,1 --seeds 0 \\
        --metrics-num 1000 --workdir /tmp/tvo --results /tmp/tvo/smoke.json

Resuming: each (implementation, seed) is one run in ``--workdir`` (``official-seed0/`` ...). A finished
run whose config matches is reused (only missing metrics are computed); a run that did not finish, or
that lacks a requested checkpoint, is trained again from the start (then with the union of the
requested checkpoints and those already in the results). Results are merged into ``--results``
(default ``benchmarks/results/train-vs-official-cpu.json``) after every metric; ``--retrain`` forgets
the given runs. The plot (FID against kimg and against training time) goes next to it as ``.png``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_RESULTS = RESULTS / "train-vs-official-cpu.json"
METRICS = ("fid50k_full", "kid50k_full")


def _engine():
    sys.path.insert(0, str(HERE))
    import _trainers  # noqa: PLC0415  (benchmarks/_trainers.py, next to this file)

    return _trainers


def _points(text: str) -> list[float]:
    points = sorted({float(k) for k in text.split(",") if k.strip()})
    if not points or points[0] <= 0:
        raise SystemExit(f"--kimg-points needs positive numbers, got {text!r}")
    return points


def _key(kimg: float) -> str:
    return f"{kimg:g}"


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def machine() -> str:
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


# ------------------------------------------------------------------------------------------------
# Results file


def load_results(path: Path) -> dict:
    if path.is_file():
        return json.loads(path.read_text())
    return dict(description="benchmarks/train_vs_official.py: official StyleGAN2 trainer vs ours", runs={})


def save_results(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, path)


def _same_run_config(a: dict, b: dict) -> bool:
    """Same run apart from its checkpoints."""
    return {k: v for k, v in a.items() if k != "kimg_points"} == {k: v for k, v in b.items() if k != "kimg_points"}


# ------------------------------------------------------------------------------------------------
# Running


def make_dataset(dest: Path, resolution: int, images: int) -> Path:
    """The toyfaces zip, made with ``stylegan dataset`` (kept for later runs)."""
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    print(f"making {dest} ({images} toyfaces at {resolution} px) ...", flush=True)
    log = dest.with_suffix(".log")
    with open(log, "w") as f:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "stylegan",
                "dataset",
                "--source",
                "toyfaces",
                "--dest",
                str(dest),
                "--resolution",
                str(resolution),
                "--max-images",
                str(images),
            ],
            stdout=f,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if proc.returncode != 0 or not dest.is_file():
        raise SystemExit(f"stylegan dataset failed; see {log}")
    return dest


def run_one(
    engine,
    spec,
    results: dict,
    results_path: Path,
    points: list[float],
    metrics: list[str],
    metrics_num: int | None,
    threads: int,
    retrain: bool,
) -> None:
    """Train (or reuse) one run and measure its requested checkpoints, saving after each metric."""
    key = f"{spec.impl}/seed{spec.seed}"
    entry = results["runs"].get(key)
    if entry is not None and (retrain or not _same_run_config(entry["config"], spec.config())):
        if not retrain:
            print(f"{key}: the results file holds a run with another config; it is replaced", flush=True)
        entry = None
    trained = set(entry["config"]["kimg_points"]) if entry else set()
    if entry is not None and not set(points) <= trained:
        print(f"{key}: checkpoints {sorted(set(points) - trained)} were not trained; training again", flush=True)
        spec.kimg_points = sorted(trained | set(points))
        entry = None

    if entry is None:
        run = None
        outdir = Path(spec.outdir)
        if not retrain and (outdir / engine.DONE).is_file() and (outdir / engine.SPEC).is_file():
            old = engine.RunSpec(**json.loads((outdir / engine.SPEC).read_text()))
            if _same_run_config(old.config(), spec.config()) and set(spec.kimg_points) <= set(old.kimg_points):
                run = engine.load_run(outdir)
                on_ticks = [
                    cp["nimg"] == engine.checkpoint_nimg(cp["kimg"], old.batch, old.tick) for cp in run["checkpoints"]
                ]
                if all(on_ticks):
                    spec = old
                    print(f"{key}: reusing the finished run in {outdir}", flush=True)
                else:
                    run = None
        if run is None:
            print(
                f"{key}: training to {max(spec.kimg_points):g} kimg (log: {Path(spec.outdir) / engine.LOG}) ...",
                flush=True,
            )
            run = engine.train(spec)
            print(f"{key}: trained in {run['seconds'] / 60:.1f} min", flush=True)
        checkpoints = {}
        previous = dict(nimg=0, train_sec=0.0)
        for cp in sorted(run["checkpoints"], key=lambda c: c["nimg"]):
            expected = engine.checkpoint_nimg(cp["kimg"], spec.batch, spec.tick)
            if cp["nimg"] != expected:
                print(
                    f"{key}: warning: checkpoint {cp['kimg']:g} kimg at {cp['nimg']} images, not {expected}", flush=True
                )
            dk = (cp["nimg"] - previous["nimg"]) / 1000
            checkpoints[_key(cp["kimg"])] = dict(
                kimg=cp["kimg"],
                nimg=cp["nimg"],
                train_sec=cp["train_sec"],
                total_sec=cp["total_sec"],
                sec_per_kimg=(cp["train_sec"] - previous["train_sec"]) / dk if dk > 0 else None,
                network=cp["network"],
                metrics={},
            )
            previous = cp
        shared = [k for k, cp in checkpoints.items() if cp["sec_per_kimg"] is None]
        if shared:
            print(
                f"{key}: checkpoints {shared} fell on the same tick as the one before (use a smaller --tick)",
                flush=True,
            )
        entry = dict(
            impl=spec.impl,
            seed=spec.seed,
            config=spec.config(),
            run_dir=run["run_dir"],
            machine=machine(),
            torch=run.get("torch"),
            threads=run.get("threads"),
            trained_at=_now(),
            training_wall_sec=run.get("seconds"),
            loadavg_before=run.get("loadavg_before"),
            loadavg_after=run.get("loadavg_after"),
            checkpoints=checkpoints,
        )
        results["runs"][key] = entry
        save_results(results_path, results)

    for kimg in points:
        cp = entry["checkpoints"][_key(kimg)]
        todo = [m for m in metrics if m not in cp["metrics"] or cp.get("metrics_num") != metrics_num]
        if not todo:
            continue
        if not Path(cp["network"]).is_file():
            raise SystemExit(f"{key}: {cp['network']} is gone; run again with --retrain")
        if cp.get("metrics_num") != metrics_num:
            cp["metrics"] = {}
            todo = list(metrics)
        values = engine.measure(cp["network"], spec.data, todo, metrics_num, threads=threads)
        cp["metric_sec"] = values.pop("metric_sec")
        cp["metrics"].update(values)
        cp.update(metrics_num=metrics_num, detector="probe", measured_at=_now(), loadavg_metrics=os.getloadavg())
        save_results(results_path, results)
        shown = "  ".join(f"{m} {v:.4g}" for m, v in values.items())
        print(f"{key} @ {kimg:g} kimg ({cp['nimg']} img, {cp['train_sec']:.0f} s of training): {shown}", flush=True)


# ------------------------------------------------------------------------------------------------
# Reporting


def _stats(values: list[float]) -> dict | None:
    if not values:
        return None
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return dict(mean=statistics.fmean(values), sd=sd, min=min(values), max=max(values), n=len(values))


def _fmt(s: dict | None, digits: int = 4) -> str:
    if s is None:
        return "-"
    text = f"{s['mean']:.{digits}g}"
    if s["n"] > 1:
        text += f" ± {s['sd']:.{max(digits - 1, 2)}g} [{s['min']:.{digits}g}-{s['max']:.{digits}g}]"
    return text + f" (n={s['n']})"


def summarize(results: dict, config: dict, metrics: list[str], metrics_num: int | None) -> list[dict]:
    """Per kimg: official and ours statistics over seeds (runs of the same config, metrics of the same
    sample count)."""
    runs = [r for r in results["runs"].values() if _same_run_config(r["config"], config)]
    kimgs = sorted(
        {
            cp["kimg"]
            for r in runs
            for cp in r["checkpoints"].values()
            if cp["metrics"] and cp.get("metrics_num") == metrics_num
        }
    )
    rows = []
    for kimg in kimgs:
        row = dict(kimg=kimg)
        for impl in ("official", "ours"):
            measured = [(r["seed"], r["checkpoints"].get(_key(kimg))) for r in runs if r["impl"] == impl]
            measured = [
                (seed, cp) for seed, cp in measured if cp and cp["metrics"] and cp.get("metrics_num") == metrics_num
            ]
            cps = [cp for _, cp in measured]
            for m in metrics:
                row[f"{impl}_{m}"] = _stats([cp["metrics"][m] for cp in cps if m in cp["metrics"]])
            row[f"{impl}_sec_per_kimg"] = _stats([cp["sec_per_kimg"] for cp in cps if cp["sec_per_kimg"]])
            row[f"{impl}_train_sec"] = _stats([cp["train_sec"] for cp in cps])
            row[f"{impl}_kimg_reached"] = _stats([cp["nimg"] / 1000 for cp in cps])
            row[f"{impl}_seeds"] = sorted(seed for seed, _ in measured)
        off, ours = row["official_sec_per_kimg"], row["ours_sec_per_kimg"]
        row["speedup"] = off["mean"] / ours["mean"] if off and ours else None
        fo, fu = row.get(f"official_{metrics[0]}"), row.get(f"ours_{metrics[0]}")
        row["ours_within_or_better"] = (fu["mean"] <= fo["max"]) if fo and fu else None
        rows.append(row)
    return rows


def print_table(rows: list[dict], metrics: list[str]) -> None:
    header = ["kimg"]
    for m in metrics:
        header += [f"official {m}", f"ours {m}"]
    header += ["official s/kimg", "ours s/kimg", "speed-up", f"ours {metrics[0]} <= official max"]
    lines = [header]
    for row in rows:
        cells = [f"{row['kimg']:g}"]
        for m in metrics:
            cells += [_fmt(row[f"official_{m}"]), _fmt(row[f"ours_{m}"])]
        cells += [
            _fmt(row["official_sec_per_kimg"], 3),
            _fmt(row["ours_sec_per_kimg"], 3),
            f"{row['speedup']:.2f}x" if row["speedup"] else "-",
            {True: "yes", False: "no", None: "-"}[row["ours_within_or_better"]],
        ]
        lines.append(cells)
    print("| " + " | ".join(lines[0]) + " |")
    print("|" + "---|" * len(lines[0]))
    for cells in lines[1:]:
        print("| " + " | ".join(cells) + " |")


def plot(rows: list[dict], metric: str, path: Path) -> Path | None:
    """FID against kimg and against training time (means over seeds)."""
    import numpy as np

    from stylegan.utils.images import save_png
    from stylegan.utils.plot import Panel, line_figure

    by_kimg, by_time = {}, {}
    for impl in ("official", "ours"):
        pts = [
            (r[f"{impl}_kimg_reached"]["mean"], r[f"{impl}_{metric}"]["mean"], r[f"{impl}_train_sec"]["mean"] / 60)
            for r in rows
            if r[f"{impl}_{metric}"] and r[f"{impl}_train_sec"]
        ]
        if pts:
            k, f, t = (np.array(v, dtype=np.float64) for v in zip(*pts))
            counts = sorted({r[f"{impl}_{metric}"]["n"] for r in rows if r[f"{impl}_{metric}"]})
            seeds = f"{counts[0]}-{counts[-1]}" if counts[0] != counts[-1] else str(counts[0])
            label = f"{impl} (mean, {seeds} seeds)" if counts[-1] > 1 else impl
            by_kimg[label], by_time[label] = (k, f), (t, f)
    if not by_kimg:
        return None
    fmax = max(float(f.max()) for _, f in by_kimg.values()) * 1.05
    kmax = max(float(k.max()) for k, _ in by_kimg.values())
    tmax = max(float(t.max()) for t, _ in by_time.values())
    name = f"probe {metric.split('50k')[0].upper()}"
    image = line_figure(
        [
            Panel(f"{name} against kimg", by_kimg, (0, kmax), (0, fmax), xlabel="kimg", ylabel=name),
            Panel(
                f"{name} against training time",
                by_time,
                (0, tmax),
                (0, fmax),
                xlabel="minutes of training",
                ylabel=name,
            ),
        ]
    )
    return save_png(image, path)


# ------------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--official", type=Path, help="a checkout of NVlabs/stylegan3 (train.py, training/, ...)")
    p.add_argument("--data", type=Path, help="training zip (default: made with `stylegan dataset` in --workdir)")
    p.add_argument("--res", type=int, default=32, help="resolution of the toyfaces zip made without --data")
    p.add_argument("--images", type=int, default=20000, help="images in the toyfaces zip made without --data")
    p.add_argument("--workdir", type=Path, default=Path("runs/train-vs-official"), help="run directories")
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    p.add_argument("--plot", type=Path, help="PNG (default: --results with .png)")
    p.add_argument("--impls", default="official,ours")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--kimg-points", default="5,10,20,40,80")
    p.add_argument(
        "--tick",
        type=float,
        default=None,
        help="kimg per tick, both trainers (default: 1, or less where checkpoints are closer)",
    )
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--gamma", type=float, default=0.0128)
    p.add_argument("--cbase", type=int, default=2048)
    p.add_argument("--cmax", type=int, default=32)
    p.add_argument("--map-depth", type=int, default=8)
    p.add_argument("--workers", type=int, default=1, help="data-loading worker processes (both trainers)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per training run and for the metrics")
    p.add_argument("--metrics", default=",".join(METRICS))
    p.add_argument("--metrics-num", type=int, default=10000, help="generated images per metric")
    p.add_argument("--retrain", action="store_true", help="train the given runs again even if finished")
    p.add_argument("--report-only", action="store_true", help="print the table and draw the plot from --results")
    args = p.parse_args()

    engine = _engine()
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    if not impls or any(i not in engine.IMPLS for i in impls):
        raise SystemExit(f"--impls takes {', '.join(engine.IMPLS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    points = _points(args.kimg_points)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if args.tick is None:  # a tick ends between any two checkpoints
        args.tick = min([1.0, points[0]] + [b - a for a, b in zip(points, points[1:])])
    results = load_results(args.results)
    data = args.data.resolve() if args.data else (args.workdir / f"toyfaces-{args.res}-{args.images}.zip").resolve()

    def spec_for(impl: str, seed: int):
        return engine.RunSpec(
            impl=impl,
            data=str(data),
            outdir=str((args.workdir / f"{impl}-seed{seed}").resolve()),
            seed=seed,
            kimg_points=list(points),
            official=str(args.official.resolve()) if args.official else None,
            batch=args.batch,
            gamma=args.gamma,
            cbase=args.cbase,
            cmax=args.cmax,
            map_depth=args.map_depth,
            tick=args.tick,
            workers=args.workers,
            threads=args.threads,
        )

    if not args.report_only:
        if "official" in impls:
            if args.official is None:
                raise SystemExit("--official DIR is needed to train the official trainer (or --impls ours)")
            needed = [args.official / "train.py", args.official / "training" / "training_loop.py"]
            if not all(path.is_file() for path in needed):
                raise SystemExit(f"{args.official} does not hold the official train.py and training/training_loop.py")
        if args.data is None:
            make_dataset(data, args.res, args.images)
        elif not data.exists():
            raise SystemExit(f"--data {data} does not exist")
        results.update(machine=machine(), updated_at=_now(), results_file=str(args.results))
        for seed in seeds:
            for impl in impls:
                run_one(
                    engine,
                    spec_for(impl, seed),
                    results,
                    args.results,
                    points,
                    metrics,
                    args.metrics_num,
                    args.threads,
                    args.retrain,
                )

    config = spec_for("official", 0).config()
    rows = summarize(results, config, metrics, args.metrics_num)
    print(
        f"\n{machine()}; probe metrics with {args.metrics_num} generated images; sec/kimg: training steps "
        f"only, one thread, between consecutive checkpoints"
    )
    print_table(rows, metrics)
    results["summary"] = dict(
        config={k: v for k, v in config.items() if k != "kimg_points"}, metrics_num=args.metrics_num, rows=rows
    )
    if rows:
        save_results(args.results, results)
        out = plot(rows, metrics[0], args.plot or args.results.with_suffix(".png"))
        print(f"wrote {args.results}" + (f" and {out}" if out else ""))
    else:
        print("no measured checkpoints of this config in", args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
