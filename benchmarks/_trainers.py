"""Engine of ``train_vs_official.py`` (and of time-to-FID measurements): one training run of the
official StyleGAN2 trainer or of ours, in its own subprocess, with network snapshots at chosen kimg,
and the probe metrics of those snapshots.

    spec = RunSpec(impl="official", official="/tmp/stylegan3", data="toyfaces-32.zip", seed=0,
                   kimg_points=[5, 10, 20], outdir="runs/train-vs-official/official-seed0")
    run = train(spec)                     # subprocess; returns the checkpoints with their timings
    measure(run["checkpoints"][0]["network"], "toyfaces-32.zip", ["fid50k_full"], num=10000)

Both trainers end a tick at the first step whose image count reaches the previous tick's + ``tick``
kimg (the first tick after one step), so with the same batch and tick they stop at the same image
counts. A checkpoint ``k`` is the first tick end at or after ``k`` kimg (``checkpoint_nimg``), and a
run ends on the tick of its last checkpoint, so a checkpoint falls on the same image count however
long the run; its snapshot is the EMA generator. Its times come from the trainer's own
``stats.jsonl``: ``train_sec`` sums ``Timing/sec_per_tick`` (training steps only: no start-up,
snapshots, sample grids or metrics), ``total_sec`` is ``Timing/total_sec`` (everything since the
trainer started).

The official code (NVlabs/stylegan3 at any commit with ``train.py`` and ``training/training_loop.py``)
stays outside the repository and is never modified on disk; the worker process imports it from
``RunSpec.official`` and patches it in memory to run on a current PyTorch CPU build
(``patch_official``):

1. Missing third-party modules are stubbed where not installed: ``requests`` (``dnnlib.util``, only
   used for URLs), ``psutil`` (``training_loop``: resident memory for the progress line, read from
   ``/proc/self/statm``) and ``pkg_resources`` (``conv2d_gradfix``/``grid_sample_gradfix``:
   ``parse_version`` from ``packaging``; setuptools >= 81 has no ``pkg_resources``) and, on Python
   >= 3.12, ``distutils.util.strtobool`` (``dnnlib.util``).
2. ``training_loop``'s module-level ``torch`` is replaced by a proxy whose ``device(...)`` is the CPU
   (the loop hard-codes ``torch.device('cuda', rank)``) and whose ``cuda`` has no timing events
   (``torch.cuda.Event`` -> None, so the loop skips its per-phase CUDA timing) and zero peak-memory
   counters. Everything else is the real ``torch``.
3. ``torch.Tensor.pin_memory`` returns the tensor itself (the loop pins the fake labels every step;
   without CUDA pinning raises), and ``pin_memory=False`` in the DataLoader options.
4. ``torch.utils.data.Sampler.__init__`` accepts and ignores arguments again (``InfiniteSampler``
   calls ``super().__init__(dataset)``; current PyTorch's Sampler has no ``__init__`` of its own,
   so the call reaches ``object.__init__`` and fails).
5. Adam's betas are floats (``[0.0, 0.99]``): the config's integer ``0`` is rejected by current
   Adam ("betas must be either both floats or both Tensors") where no lazy regularisation turns it
   into ``0 ** c = 0.0``.
6. Custom ops: ``bias_act``, ``upfirdn2d`` and ``filtered_lrelu`` get ``_init = lambda: False`` and
   ``custom_ops.get_plugin`` raises, so nothing is ever compiled and the reference implementations
   run (they would anyway for CPU tensors); ``conv2d_gradfix`` and ``grid_sample_gradfix`` use the
   plain ``torch.nn.functional`` ops (``_should_use_custom_op`` -> False; the official code already
   does so for conv2d on PyTorch >= 1.11; grid_sample is only used by the augmentation pipe).
7. The DataLoader's workers (if any) are forked (``multiprocessing_context='fork'``) so that they
   inherit these patches; ``train.py`` sets the global start method to ``spawn``.
8. Snapshots: ``training_loop.pickle`` is replaced by a writer that keeps a tick's network pickle
   only at a checkpoint (``checkpoint-<kimg>.pkl``, exact image count) and discards the others, and
   ``training_stats.report0`` is wrapped to read the tick's image count. Metrics during training
   are off (``--metrics none``), image snapshots too.

``torch.distributed`` is only used by the official code with more than one GPU; official runs here
have one process. The official config is built by the official ``train.py`` itself (its click
command, with ``launch_training`` wrapped to adjust the config: fractional ``kimg``/``tick``,
snapshots every tick, the patches 3, 5 and 7, and ``RunSpec.official_config``: values of the config
that ``train.py`` has no flag for, e.g. ``G_kwargs.z_dim``, each printed with the value it replaces).

Runs that measure while they train (``RunSpec.watch``, used by ``time_to_fid.py``): instead of fixed
checkpoints, the trainer's process measures the probe metric of the EMA generator at the first tick
end at or after every ``every_kimg`` kimg and stops once the metric is at or below the lowest of
``thresholds``, or at the first tick end after ``max_train_sec`` seconds of training time. The metric
runs in a subprocess of ``metric_threads`` threads while the training waits, at the end of a tick and
after its time was taken, so no metric time is counted as training time (ours: the hook
``after_tick``, which runs before the next tick's clock starts; with several processes, process 0
measures while the others wait in their next all-reduce; official: the snapshot writer, which runs in
the loop's maintenance time). Each measurement is a line of ``checkpoints.jsonl`` with its training
time (the sum of the trainer's ``Timing/sec_per_tick``), ``wall_sec`` (the trainer's
``Timing/total_sec`` less the metric time before it: start-up and snapshots included) and the metric;
``stop.json`` says why the run stopped. Ours stops through its own time limit (set on process 0 to
end at the next step; every process has a limit, so all take part in the check); the official loop by
an exception from the snapshot writer once the file is written.

``options_to_specs`` turns a ``TrainingOptions`` of ours into the two ``RunSpec``s: ours with those
options, and the official run with the same network and hyperparameters (flags of ``train.py`` and
``official_config``), with notes on what the official trainer cannot follow (e.g. bfloat16, several
processes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

IMPLS = ("official", "ours")
CHECKPOINTS = "checkpoints.jsonl"
DONE = "done.json"
SPEC = "spec.json"
LOG = "train.log"


@dataclass
class RunSpec:
    """One training run. ``ours_options``: extra ``TrainingOptions`` fields for ours (e.g.
    ``{"glr": 0.0025}``); ``official_args``: extra ``train.py`` flags for the official trainer."""

    impl: str
    data: str
    outdir: str
    seed: int
    kimg_points: list[float]
    official: str | None = None
    cfg: str = "stylegan2"
    batch: int = 16
    gamma: float = 0.0128
    cbase: int = 2048
    cmax: int = 32
    map_depth: int = 8  # the official train.py's default for --cfg stylegan2 (2 for stylegan3)
    tick: float = 1.0
    workers: int = 1
    threads: int = 1
    ours_options: dict = field(default_factory=dict)
    official_args: list[str] = field(default_factory=list)
    official_config: dict = field(default_factory=dict)  # {"G_kwargs.z_dim": 32, ...}: set in the official config
    watch: dict | None = None  # measure while training and stop at a threshold (``Watch`` as a dict)

    def config(self) -> dict:
        """What defines the run, apart from its implementation, its seed and where things are (fields
        added later are left out at their defaults, so older results still compare equal)."""
        d = dataclasses.asdict(self)
        for key in ("impl", "seed", "outdir", "official"):
            d.pop(key)
        d["kimg_points"] = sorted(float(k) for k in self.kimg_points)
        for key, default in (("official_config", {}), ("watch", None)):
            if d[key] == default:
                d.pop(key)
        return d


@dataclass
class Watch:
    """What a watched run measures and when it stops (see the module docstring)."""

    every_kimg: float
    thresholds: list[float]
    max_train_sec: float
    metric: str = "fid50k_full"
    num: int | None = 5000  # generated images per measurement
    max_real: int | None = None  # dataset images for the real statistics (None: all)
    metric_threads: int = 1
    metric_seed: int = 0


WATCH_KIMG = 10**6  # the run length given to the trainers of a watched run (it stops by itself)
STOP = "stop.json"


def snapshot_tag(nimg: int) -> str:
    """'000005.056' for 5056 images, '000080' for 80000 (as ``stylegan.training.snapshot``)."""
    return f"{nimg // 1000:06d}" + (f".{nimg % 1000:03d}" if nimg % 1000 else "")


def checkpoint_nimg(kimg: float, batch: int, tick: float) -> int:
    """Images seen at the first tick end at or after ``kimg`` (the trainers' tick rule)."""
    nimg = tick_end = batch  # tick 0 ends after the first step
    while tick_end < kimg * 1000:
        nimg += batch
        if nimg >= tick_end + tick * 1000:
            tick_end = nimg
    return tick_end


def run_kimg(spec: RunSpec) -> float:
    """The ``kimg`` to give both trainers so that they stop on the tick of the last checkpoint: half a
    batch below it, as the official loop compares ``cur_nimg >= total_kimg * 1000`` in floating point.
    A watched run stops by itself and gets ``WATCH_KIMG``."""
    if spec.watch is not None:
        return float(WATCH_KIMG)
    return (checkpoint_nimg(max(spec.kimg_points), spec.batch, spec.tick) - spec.batch / 2) / 1000


def _append_line(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _append_checkpoint(outdir: Path, kimg: float, nimg: int, network: Path) -> None:
    _append_line(outdir / CHECKPOINTS, dict(kimg=kimg, nimg=nimg, network=str(network)))


# ------------------------------------------------------------------------------------------------
# The parent side


def train(spec: RunSpec, echo=print, on_checkpoint=None) -> dict:
    """Run ``spec`` in a subprocess of ``spec.threads`` threads (the run directory ``spec.outdir`` is
    emptied first) and return ``{"run_dir", "checkpoints": [{kimg, nimg, network, train_sec,
    total_sec}], "seconds", "loadavg_before", "loadavg_after"}`` (a watched run: also ``stop``, and
    each checkpoint's metric, ``wall_sec`` and ``metric_sec``). ``on_checkpoint(cp)`` is called for
    each line of ``checkpoints.jsonl`` as it appears, while the run goes on."""
    import shutil

    outdir = Path(spec.outdir)
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    (outdir / SPEC).write_text(json.dumps(dataclasses.asdict(spec), indent=2))
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(spec.threads),
        MKL_NUM_THREADS=str(spec.threads),
        OMP_WAIT_POLICY="PASSIVE",
        PYTHONUNBUFFERED="1",
        PYTHONWARNINGS="ignore",
    )
    load_before = os.getloadavg()
    start = time.time()
    seen = 0

    def new_checkpoints() -> None:
        nonlocal seen
        path = outdir / CHECKPOINTS
        lines = path.read_text().splitlines() if path.is_file() else []
        complete = [line for line in lines if line.endswith("}")]  # a line being written is read later
        for line in complete[seen:]:
            on_checkpoint(json.loads(line))
        seen = max(seen, len(complete))

    with open(outdir / LOG, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(outdir / SPEC)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            while True:
                try:
                    proc.wait(timeout=5)
                    break
                except subprocess.TimeoutExpired:
                    if on_checkpoint is not None:
                        new_checkpoints()
        finally:
            if proc.poll() is None:  # interrupted: end the trainer (and its metric) with this process
                proc.terminate()
                proc.wait()
    if on_checkpoint is not None:
        new_checkpoints()
    seconds = time.time() - start
    if proc.returncode != 0 or not (outdir / DONE).is_file():
        tail = "\n".join((outdir / LOG).read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(
            f"{spec.impl} seed {spec.seed}: training failed (exit {proc.returncode}); end of {outdir / LOG}:\n{tail}"
        )
    run = load_run(outdir)
    run.update(seconds=seconds, loadavg_before=load_before, loadavg_after=os.getloadavg())
    (outdir / DONE).write_text(json.dumps(run, indent=2))
    return run


def load_run(outdir: str | Path) -> dict:
    """The finished run in ``outdir``: its checkpoints with their timings from ``stats.jsonl``."""
    outdir = Path(outdir)
    done = json.loads((outdir / DONE).read_text())
    ticks = read_ticks(Path(done["run_dir"]) / "stats.jsonl")
    checkpoints = []
    lines = (outdir / CHECKPOINTS).read_text().splitlines() if (outdir / CHECKPOINTS).is_file() else []
    for line in lines:
        cp = json.loads(line)
        if "train_sec" not in cp:  # a watched run records its times itself
            upto = [t for t in ticks if t["nimg"] <= cp["nimg"]]
            cp["train_sec"] = sum(t["sec_per_tick"] for t in upto)
            cp["total_sec"] = upto[-1]["total_sec"] if upto else None
        checkpoints.append(cp)
    if (outdir / STOP).is_file():
        done["stop"] = json.loads((outdir / STOP).read_text())
    return dict(done, checkpoints=checkpoints)


def read_ticks(path: Path) -> list[dict]:
    """``[{nimg, sec_per_tick, total_sec}]`` per tick from a ``stats.jsonl`` (the official trainer's
    and ours have the same layout: ``{name: {"mean": ...}, ..., "timestamp": ...}``)."""
    return read_ticks_from_lines(path.read_text().splitlines())


def read_ticks_from_lines(lines: list[str]) -> list[dict]:
    ticks = []
    for line in lines:
        try:
            s = json.loads(line)
        except json.JSONDecodeError:
            continue
        ticks.append(
            dict(
                nimg=int(round(s["Progress/kimg"]["mean"] * 1000)),
                sec_per_tick=float(s["Timing/sec_per_tick"]["mean"]),
                total_sec=float(s["Timing/total_sec"]["mean"]),
            )
        )
    return ticks


def measure(
    network: str | Path,
    data: str,
    metrics: list[str],
    num: int | None,
    threads: int = 1,
    seed: int = 0,
    max_real: int | None = None,
) -> dict:
    """Probe metrics of the generator in ``network`` (an official pickle or our snapshot):
    ``{metric: value, ..., "metric_sec": seconds}``."""
    import torch

    from stylegan.io.loading import load_network
    from stylegan.metrics.runner import compute_metrics

    torch.set_num_threads(threads)
    start = time.time()
    G = load_network(network, "G")
    out = compute_metrics(
        G, metrics, data=data, detector="probe", num_gen=num, progress=False, seed=seed, max_real=max_real
    )
    out["metric_sec"] = time.time() - start
    return out


def measure_in_subprocess(
    network: str | Path,
    data: str,
    metrics: list[str],
    num: int | None,
    threads: int = 1,
    seed: int = 0,
    max_real: int | None = None,
) -> dict:
    """``measure`` in a fresh process of ``threads`` threads (a trainer's process keeps its own
    patches and thread count); ``metric_sec`` is the whole subprocess's time."""
    args = dict(
        network=str(network),
        data=str(data),
        metrics=list(metrics),
        num=num,
        threads=threads,
        seed=seed,
        max_real=max_real,
    )
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
    start = time.time()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--measure", json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"measuring {network} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["metric_sec"] = time.time() - start
    return out


# TrainingOptions fields that are a run's bookkeeping (set by run_ours from the RunSpec, or not needed),
# not what it trains.
_BOOKKEEPING = frozenset(
    {
        "cfg",
        "data",
        "batch",
        "gamma",
        "cbase",
        "cmax",
        "map_depth",
        "aug",
        "mirror",
        "seed",
        "kimg",
        "tick",
        "snap",
        "img_snap",
        "workers",
        "outdir",
        "desc",
        "grid",
        "time_limit",
        "metrics",
        "metrics_detector",
        "metrics_num",
        "bad_files",
        "resolved",
    }
)


def options_to_specs(
    opts,
    *,
    resolution: int,
    data: str,
    seed: int,
    outdirs: dict[str, str],
    official: str | None = None,
    watch: Watch | None = None,
    tick: float = 1.0,
) -> tuple[dict[str, RunSpec], list[str]]:
    """``({"ours": spec, "official": spec}, notes)`` for a ``TrainingOptions`` of ours (StyleGAN2, no
    augmentation, mirroring or labels; ``cbase``, ``cmax``, ``z_dim`` and ``w_dim`` given): ours
    trains with ``opts`` (its bookkeeping replaced by the spec's), the official trainer with the same
    network and hyperparameters, resolved as ours resolves them: batch, gamma, cbase, cmax, mapping
    depth, learning rates and minibatch-stddev group as ``train.py`` flags, the rest in
    ``official_config``. ``notes``: what the official trainer cannot follow."""
    from stylegan.training.options import TrainingOptions, resolve_options

    r = resolve_options(dataclasses.replace(opts, resolution=opts.resolution or resolution), resolution, "cpu")
    missing = [name for name in ("cbase", "cmax", "z_dim", "w_dim") if getattr(r, name) is None]
    if missing:
        raise ValueError(f"options_to_specs needs explicit {', '.join(missing)}")
    if r.cfg != "stylegan2" or r.aug != "none" or r.mirror or r.cond:
        raise ValueError(
            "the official equivalent is made for --cfg stylegan2 without augmentation, mirroring or labels"
        )
    defaults = TrainingOptions()
    ours_options = {
        k: v for k, v in dataclasses.asdict(opts).items() if k not in _BOOKKEEPING and v != getattr(defaults, k)
    }
    common = dict(
        data=str(data),
        seed=seed,
        cfg=r.cfg,
        batch=r.batch,
        gamma=r.gamma,
        cbase=r.cbase,
        cmax=r.cmax,
        map_depth=r.map_depth,
        tick=tick,
        workers=opts.workers,
        threads=1,
        kimg_points=[],
        watch=dataclasses.asdict(watch) if watch is not None else None,
    )
    ours = RunSpec(impl="ours", outdir=outdirs["ours"], ours_options=ours_options, **common)
    official_args = ["--glr", repr(float(r.glr)), "--dlr", repr(float(r.dlr)), "--mbstd-group", str(r.mbstd_group)]
    official_config = {
        "G_kwargs.z_dim": r.z_dim,
        "G_kwargs.w_dim": r.w_dim,
        "ema_kimg": r.ema_kimg,
        "ema_rampup": r.ema_rampup,
        "loss_kwargs.style_mixing_prob": r.style_mixing,
        "loss_kwargs.pl_weight": r.pl_weight,
        "loss_kwargs.pl_batch_shrink": r.pl_batch_shrink,
        "loss_kwargs.pl_decay": r.pl_decay,
        "G_reg_interval": r.g_reg_interval,
        "D_reg_interval": r.d_reg_interval,
    }
    if not r.noise:
        official_config["G_kwargs.use_noise"] = False
    off = RunSpec(
        impl="official",
        outdir=outdirs["official"],
        official=official,
        official_args=official_args,
        official_config=official_config,
        **common,
    )
    notes = []
    if r.gpus > 1:
        notes.append(
            f"ours trains in {r.gpus} processes of one thread ({r.batch_gpu} images each per step); the "
            f"official trainer in one process of one thread"
        )
    if r.precision != "fp32":
        notes.append(
            f"ours computes in {r.precision}; the official trainer in float32 (its float16 layers are CUDA only)"
        )
    if r.compile:
        notes.append("ours runs torch.compile")
    return {"ours": ours, "official": off}, notes


# ------------------------------------------------------------------------------------------------
# The worker side (the subprocess)


def _stub_missing_modules() -> None:
    """Patch 1: stand-ins for modules the official code imports but a CPU run does not need."""
    import importlib.util

    def missing(name: str) -> bool:
        return name not in sys.modules and importlib.util.find_spec(name) is None

    if missing("requests"):
        requests = types.ModuleType("requests")

        def unavailable(*args, **kwargs):
            raise RuntimeError("requests is not installed (stubbed by benchmarks/_trainers.py)")

        requests.get = requests.Session = unavailable
        sys.modules["requests"] = requests
    if missing("psutil"):
        psutil = types.ModuleType("psutil")

        class Process:
            def __init__(self, pid=None):
                pass

            def memory_info(self):
                try:
                    rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                except (OSError, ValueError, IndexError):
                    import resource

                    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
                return types.SimpleNamespace(rss=rss)

        psutil.Process = Process
        sys.modules["psutil"] = psutil
    if missing("distutils"):  # Python >= 3.12 without setuptools' copy
        distutils, util = types.ModuleType("distutils"), types.ModuleType("distutils.util")

        def strtobool(value: str) -> int:
            value = value.lower()
            if value in ("y", "yes", "t", "true", "on", "1"):
                return 1
            if value in ("n", "no", "f", "false", "off", "0"):
                return 0
            raise ValueError(f"invalid truth value {value!r}")

        util.strtobool, distutils.util = strtobool, util
        sys.modules.update({"distutils": distutils, "distutils.util": util})
    if missing("pkg_resources"):
        from packaging.version import Version

        pkg_resources = types.ModuleType("pkg_resources")
        pkg_resources.parse_version = Version
        sys.modules["pkg_resources"] = pkg_resources


class _CudaOnCpu:
    """``torch.cuda`` as the official training loop sees it on a CPU: no events, no memory counters."""

    @staticmethod
    def Event(*args, **kwargs):  # noqa: N802  (stands for torch.cuda.Event)
        return None

    @staticmethod
    def max_memory_allocated(*args, **kwargs):
        return 0

    @staticmethod
    def max_memory_reserved(*args, **kwargs):
        return 0

    @staticmethod
    def reset_peak_memory_stats(*args, **kwargs):
        return None


class _TorchOnCpu(types.ModuleType):
    """Patch 2: the ``torch`` of ``training_loop``: ``device(...)`` is the CPU, ``cuda`` is
    ``_CudaOnCpu``, everything else is the real module."""

    def __init__(self, torch):
        super().__init__("torch")
        self._torch = torch
        self.cuda = _CudaOnCpu

    def device(self, *args, **kwargs):
        return self._torch.device("cpu")

    def __getattr__(self, name):
        return getattr(self._torch, name)


def patch_official(root: Path) -> types.ModuleType:
    """Make the official code in ``root`` importable and runnable on a CPU (see the module
    docstring); returns its ``train`` module."""
    sys.path.insert(0, str(root))
    _stub_missing_modules()
    import torch

    torch.Tensor.pin_memory = lambda self, *args, **kwargs: self  # patch 3
    torch.utils.data.Sampler.__init__ = lambda self, *args, **kwargs: None  # patch 4

    from torch_utils import custom_ops  # noqa: I001  (the official packages, from root)
    from torch_utils.ops import bias_act, conv2d_gradfix, filtered_lrelu, grid_sample_gradfix, upfirdn2d

    def no_plugin(*args, **kwargs):
        raise RuntimeError("custom CUDA ops are disabled on the CPU (benchmarks/_trainers.py)")

    custom_ops.get_plugin = no_plugin  # patch 6
    for module in (bias_act, upfirdn2d, filtered_lrelu):
        module._init = lambda: False
    conv2d_gradfix._should_use_custom_op = lambda input: False
    grid_sample_gradfix._should_use_custom_op = lambda: False

    from training import training_loop

    training_loop.torch = _TorchOnCpu(torch)  # patch 2
    import train as official_train

    return official_train


class _SnapshotWriter:
    """Patch 8: ``training_loop.pickle``; keeps the tick's snapshot only at a checkpoint."""

    def __init__(self, outdir: Path, points: list[float], current_nimg):
        self.outdir, self.pending, self.current_nimg = outdir, sorted(points), current_nimg

    def dump(self, obj, f) -> None:
        import pickle

        nimg = self.current_nimg()
        reached = [k for k in self.pending if nimg >= round(k * 1000)]
        if not reached:
            f.close()
            os.unlink(f.name)  # the official loop opened it; nothing is written
            return
        pickle.dump(obj, f)
        f.flush()
        path = Path(f.name).with_name(f"checkpoint-{snapshot_tag(nimg)}.pkl")
        os.replace(f.name, path)  # renaming the open file: the loop's close() still closes it
        for k in reached:
            _append_checkpoint(self.outdir, k, nimg, path)
        self.pending = [k for k in self.pending if k not in reached]


class _StopTraining(Exception):
    """Raised by the snapshot writer of a watched official run: the run has reached its end."""


def _last_tick(stats_path: Path) -> dict:
    """The last tick of a ``stats.jsonl`` (as ``read_ticks``), reading only the end of the file."""
    with open(stats_path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 65536))
        tail = f.read().decode(errors="replace")
    return read_ticks_from_lines(tail.splitlines())[-1]  # a first line cut by the seek is skipped


class _Watcher:
    """The measuring side of a watched run, in the trainer's process (process 0 of ours): the
    trainer reports every tick (``add_tick``), and at a due tick end hands over the generator's
    file (``checkpoint``), which says whether to stop."""

    def __init__(self, spec: RunSpec):
        self.outdir, self.data, self.w = Path(spec.outdir), spec.data, Watch(**spec.watch)
        self.step_nimg = max(1, round(self.w.every_kimg * 1000))
        self.next_nimg = self.step_nimg
        self.nimg, self.train_sec, self.total_sec, self.metric_sec = 0, 0.0, 0.0, 0.0
        self.best: tuple[float, int] | None = None
        self.stopped = False

    def add_tick(self, nimg: int, sec_per_tick: float, total_sec: float) -> None:
        self.nimg, self.total_sec = nimg, total_sec
        self.train_sec += sec_per_tick

    def due(self) -> bool:
        return not self.stopped and (self.nimg >= self.next_nimg or self.train_sec >= self.w.max_train_sec)

    def checkpoint(self, network: Path) -> bool:
        w = self.w
        result = measure_in_subprocess(
            network, self.data, [w.metric], w.num, threads=w.metric_threads, seed=w.metric_seed, max_real=w.max_real
        )
        value = float(result[w.metric])
        _append_line(
            self.outdir / CHECKPOINTS,
            dict(
                kimg=self.nimg / 1000,
                nimg=self.nimg,
                network=str(network),
                train_sec=self.train_sec,
                total_sec=self.total_sec,
                wall_sec=self.total_sec - self.metric_sec,
                metric=w.metric,
                value=value,
                num=w.num,
                metric_sec=result["metric_sec"],
            ),
        )
        self.metric_sec += result["metric_sec"]
        if self.best is None or value < self.best[0]:
            self.best = (value, self.nimg)
        print(
            f"watch: {self.nimg / 1000:g} kimg after {self.train_sec / 60:.2f} min of training: {w.metric} "
            f"{value:.4g} (best {self.best[0]:.4g}; measured in {result['metric_sec']:.0f} s)",
            flush=True,
        )
        self.next_nimg = (self.nimg // self.step_nimg + 1) * self.step_nimg
        reason = (
            "threshold" if self.best[0] <= min(w.thresholds) else "time" if self.train_sec >= w.max_train_sec else None
        )
        if reason is not None:
            self.stopped = True
            (self.outdir / STOP).write_text(
                json.dumps(
                    dict(
                        reason=reason,
                        nimg=self.nimg,
                        train_sec=self.train_sec,
                        best=self.best[0],
                        best_nimg=self.best[1],
                    )
                )
            )
            print(
                f"watch: stopping ({'the last threshold is reached' if reason == 'threshold' else 'time is up'})",
                flush=True,
            )
        return self.stopped


class _OursWatchHook:
    """``after_tick`` of a watched run of ours. Spawned training processes get a pickled copy each;
    process 0 measures (its network file is written here when the tick wrote none) and, to stop,
    gives itself a time limit already passed: every process checks the limit together after the
    next step."""

    def __init__(self, spec: RunSpec):
        self.spec, self.watcher = spec, None

    def __call__(self, trainer) -> None:
        if not trainer.is_main:
            return
        if self.watcher is None:
            self.watcher = _Watcher(self.spec)
        w = self.watcher
        if w.stopped:
            return
        tick = _last_tick(trainer.run_dir / "stats.jsonl")
        w.add_tick(trainer.cur_nimg, tick["sec_per_tick"], tick["total_sec"])
        if not w.due():
            return
        from stylegan.training import snapshot as snap

        network = snap.network_path(trainer.run_dir, trainer.cur_nimg)
        if not network.is_file():
            import stylegan

            stylegan.save(
                trainer.G_ema,
                network,
                extra_metadata={"training_kimg": f"{trainer.cur_nimg / 1e3:g}", "training_cfg": trainer.opts.cfg},
            )
        if w.checkpoint(network):
            trainer.opts = dataclasses.replace(trainer.opts, time_limit=1e-9)


class _WatchWriter:
    """``training_loop.pickle`` of a watched official run: a tick's snapshot is kept and measured when
    due, else discarded; raises ``_StopTraining`` (after writing the file) to end the run."""

    def __init__(self, watcher: _Watcher):
        self.watcher = watcher

    def dump(self, obj, f) -> None:
        import pickle

        w = self.watcher
        if not w.due():
            f.close()
            os.unlink(f.name)
            return
        pickle.dump(obj, f)
        f.flush()
        path = Path(f.name).with_name(f"checkpoint-{snapshot_tag(w.nimg)}.pkl")
        os.replace(f.name, path)
        f.close()  # the loop's own close() is then a no-op
        if w.checkpoint(path):
            raise _StopTraining


def _set_config(c, key: str, value) -> None:
    """``official_config``: set a dotted key of the official config and print what it replaces."""
    *parents, last = key.split(".")
    target = c
    for name in parents:
        target = target[name]
    old = target.get(last, "(unset)")
    target[last] = value
    print(f"official config: {key} = {value!r} (train.py: {old!r})", flush=True)


def run_official(spec: RunSpec) -> Path:
    official_train = patch_official(Path(spec.official).resolve())
    from torch_utils import training_stats

    from training import training_loop

    outdir = Path(spec.outdir)
    seen = {"nimg": 0, "total_sec": 0.0}
    report0 = training_stats.report0
    watcher = _Watcher(spec) if spec.watch is not None else None

    def report0_seen(name, value):
        if name == "Progress/kimg":
            seen["nimg"] = int(round(float(value) * 1000))
        elif name == "Timing/total_sec":
            seen["total_sec"] = float(value)
        elif name == "Timing/sec_per_tick" and watcher is not None:
            watcher.add_tick(seen["nimg"], float(value), seen["total_sec"])
        return report0(name, value)

    training_stats.report0 = report0_seen  # patch 8
    if watcher is not None:
        training_loop.pickle = _WatchWriter(watcher)
    else:
        training_loop.pickle = _SnapshotWriter(outdir, spec.kimg_points, lambda: seen["nimg"])

    launch = official_train.launch_training
    captured = {}

    def launch_adjusted(c, desc, outdir, dry_run):
        c.total_kimg = run_kimg(spec)
        c.kimg_per_tick = spec.tick
        c.network_snapshot_ticks = 1  # kept only at checkpoints by _SnapshotWriter
        c.image_snapshot_ticks = None
        for opt in (c.G_opt_kwargs, c.D_opt_kwargs):
            opt.betas = [float(b) for b in opt.betas]  # patch 5
        c.data_loader_kwargs = dict(pin_memory=False, num_workers=spec.workers)  # patch 3
        if spec.workers > 0:
            c.data_loader_kwargs.update(prefetch_factor=2, multiprocessing_context="fork")  # patch 7
        for key, value in spec.official_config.items():
            _set_config(c, key, value)
        captured["c"] = c
        return launch(c=c, desc=desc, outdir=outdir, dry_run=dry_run)

    official_train.launch_training = launch_adjusted
    args = [
        "--outdir",
        str(outdir),
        "--cfg",
        spec.cfg,
        "--data",
        spec.data,
        "--gpus",
        "1",
        "--batch",
        str(spec.batch),
        "--gamma",
        str(spec.gamma),
        "--cbase",
        str(spec.cbase),
        "--cmax",
        str(spec.cmax),
        "--map-depth",
        str(spec.map_depth),
        "--mirror",
        "0",
        "--aug",
        "noaug",
        "--metrics",
        "none",
        "--kimg",
        str(max(1, int(run_kimg(spec)))),
        "--tick",
        "1",
        "--snap",
        "1",
        "--seed",
        str(spec.seed),
        "--workers",
        str(max(spec.workers, 1)),
        *spec.official_args,
    ]
    try:
        official_train.main(args=args, standalone_mode=False)
    except _StopTraining:
        pass
    return Path(captured["c"].run_dir)


def run_ours(spec: RunSpec) -> Path:
    from stylegan.training import snapshot as snap
    from stylegan.training.launch import train as train_ours
    from stylegan.training.options import TrainingOptions

    outdir = Path(spec.outdir)
    pending = sorted(spec.kimg_points)

    def after_tick(trainer) -> None:
        reached = [k for k in pending if trainer.cur_nimg >= round(k * 1000)]
        if not reached:
            return
        network = snap.network_path(trainer.run_dir, trainer.cur_nimg)
        if not network.is_file():  # the loop writes one at the end of the run
            trainer.save_snapshot()
        for k in reached:
            _append_checkpoint(outdir, k, trainer.cur_nimg, network)
            pending.remove(k)

    options = dict(spec.ours_options)
    hook = after_tick
    if spec.watch is not None:  # stops by itself; every process needs a limit to take part in the check
        hook = _OursWatchHook(spec)
        options["time_limit"] = float(WATCH_KIMG)
    opts = TrainingOptions(
        cfg=spec.cfg,
        data=spec.data,
        batch=spec.batch,
        gamma=spec.gamma,
        cbase=spec.cbase,
        cmax=spec.cmax,
        map_depth=spec.map_depth,
        aug="none",
        mirror=False,
        seed=spec.seed,
        kimg=run_kimg(spec),
        tick=spec.tick,
        snap=10**9,
        img_snap=10**9,
        workers=spec.workers,
        outdir=str(outdir),
        **options,
    )
    return Path(train_ours(opts, hooks={"after_tick": hook}))


def worker(spec_path: str) -> None:
    spec = RunSpec(**json.loads(Path(spec_path).read_text()))
    import torch

    torch.set_num_threads(spec.threads)
    start = time.time()
    run_dir = run_official(spec) if spec.impl == "official" else run_ours(spec)
    done = dict(
        impl=spec.impl,
        seed=spec.seed,
        run_dir=str(run_dir),
        worker_sec=time.time() - start,
        threads=torch.get_num_threads(),
        torch=torch.__version__,
    )
    (Path(spec.outdir) / DONE).write_text(json.dumps(done, indent=2))


if __name__ == "__main__":
    # Run as a script, this folder comes first on sys.path, and it holds a training.py of its own.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    if sys.argv[1] == "--measure":  # measure_in_subprocess
        print(json.dumps(measure(**json.loads(sys.argv[2]))))
    else:
        worker(sys.argv[1])
