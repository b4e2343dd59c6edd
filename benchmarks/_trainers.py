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

``torch.distributed`` is only used by the official code with more than one GPU; runs here have one
process. The official config is built by the official ``train.py`` itself (its click command, with
``launch_training`` wrapped to adjust the config: fractional ``kimg``/``tick``, snapshots every
tick, the patches 3, 5 and 7).
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

    def config(self) -> dict:
        """What defines the run, apart from its implementation, its seed and where things are."""
        d = dataclasses.asdict(self)
        for key in ("impl", "seed", "outdir", "official"):
            d.pop(key)
        d["kimg_points"] = sorted(float(k) for k in self.kimg_points)
        return d


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
    batch below it, as the official loop compares ``cur_nimg >= total_kimg * 1000`` in floating point."""
    return (checkpoint_nimg(max(spec.kimg_points), spec.batch, spec.tick) - spec.batch / 2) / 1000


def _append_checkpoint(outdir: Path, kimg: float, nimg: int, network: Path) -> None:
    with open(outdir / CHECKPOINTS, "a") as f:
        f.write(json.dumps(dict(kimg=kimg, nimg=nimg, network=str(network))) + "\n")


# ------------------------------------------------------------------------------------------------
# The parent side


def train(spec: RunSpec, echo=print) -> dict:
    """Run ``spec`` in a subprocess of ``spec.threads`` threads (the run directory ``spec.outdir`` is
    emptied first) and return ``{"run_dir", "checkpoints": [{kimg, nimg, network, train_sec,
    total_sec}], "seconds", "loadavg_before", "loadavg_after"}``."""
    import shutil

    outdir = Path(spec.outdir)
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    (outdir / SPEC).write_text(json.dumps(dataclasses.asdict(spec), indent=2))
    env = dict(os.environ, OMP_NUM_THREADS=str(spec.threads), MKL_NUM_THREADS=str(spec.threads),
               OMP_WAIT_POLICY="PASSIVE", PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore")
    load_before = os.getloadavg()
    start = time.time()
    with open(outdir / LOG, "w") as log:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(outdir / SPEC)], env=env,
                              stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = time.time() - start
    if proc.returncode != 0 or not (outdir / DONE).is_file():
        tail = "\n".join((outdir / LOG).read_text(errors="replace").splitlines()[-25:])
        raise RuntimeError(f"{spec.impl} seed {spec.seed}: training failed (exit {proc.returncode}); "
                           f"end of {outdir / LOG}:\n{tail}")
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
    for line in (outdir / CHECKPOINTS).read_text().splitlines():
        cp = json.loads(line)
        upto = [t for t in ticks if t["nimg"] <= cp["nimg"]]
        cp["train_sec"] = sum(t["sec_per_tick"] for t in upto)
        cp["total_sec"] = upto[-1]["total_sec"] if upto else None
        checkpoints.append(cp)
    return dict(done, checkpoints=checkpoints)


def read_ticks(path: Path) -> list[dict]:
    """``[{nimg, sec_per_tick, total_sec}]`` per tick from a ``stats.jsonl`` (the official trainer's
    and ours have the same layout: ``{name: {"mean": ...}, ..., "timestamp": ...}``)."""
    ticks = []
    for line in path.read_text().splitlines():
        try:
            s = json.loads(line)
        except json.JSONDecodeError:
            continue
        ticks.append(dict(nimg=int(round(s["Progress/kimg"]["mean"] * 1000)),
                          sec_per_tick=float(s["Timing/sec_per_tick"]["mean"]),
                          total_sec=float(s["Timing/total_sec"]["mean"])))
    return ticks


def measure(network: str | Path, data: str, metrics: list[str], num: int | None, threads: int = 1,
            seed: int = 0) -> dict:
    """Probe metrics of the generator in ``network`` (an official pickle or our snapshot):
    ``{metric: value, ..., "metric_sec": seconds}``."""
    import torch

    from stylegan.io.loading import load_network
    from stylegan.metrics.runner import compute_metrics

    torch.set_num_threads(threads)
    start = time.time()
    G = load_network(network, "G")
    out = compute_metrics(G, metrics, data=data, detector="probe", num_gen=num, progress=False, seed=seed)
    out["metric_sec"] = time.time() - start
    return out


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


def run_official(spec: RunSpec) -> Path:
    official_train = patch_official(Path(spec.official).resolve())
    from torch_utils import training_stats

    from training import training_loop

    outdir = Path(spec.outdir)
    seen = {"nimg": 0}
    report0 = training_stats.report0

    def report0_seen(name, value):
        if name == "Progress/kimg":
            seen["nimg"] = int(round(float(value) * 1000))
        return report0(name, value)

    training_stats.report0 = report0_seen  # patch 8
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
        captured["c"] = c
        return launch(c=c, desc=desc, outdir=outdir, dry_run=dry_run)

    official_train.launch_training = launch_adjusted
    args = ["--outdir", str(outdir), "--cfg", spec.cfg, "--data", spec.data, "--gpus", "1",
            "--batch", str(spec.batch), "--gamma", str(spec.gamma), "--cbase", str(spec.cbase),
            "--cmax", str(spec.cmax), "--map-depth", str(spec.map_depth), "--mirror", "0", "--aug", "noaug",
            "--metrics", "none", "--kimg", str(max(1, int(max(spec.kimg_points)))), "--tick", "1", "--snap", "1",
            "--seed", str(spec.seed), "--workers", str(max(spec.workers, 1)), *spec.official_args]
    official_train.main(args=args, standalone_mode=False)
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

    opts = TrainingOptions(
        cfg=spec.cfg, data=spec.data, batch=spec.batch, gamma=spec.gamma, cbase=spec.cbase, cmax=spec.cmax,
        map_depth=spec.map_depth, aug="none", mirror=False, seed=spec.seed, kimg=run_kimg(spec),
        tick=spec.tick, snap=10**9, img_snap=10**9, workers=spec.workers, outdir=str(outdir), **spec.ours_options,
    )
    return Path(train_ours(opts, hooks={"after_tick": after_tick}))


def worker(spec_path: str) -> None:
    spec = RunSpec(**json.loads(Path(spec_path).read_text()))
    import torch

    torch.set_num_threads(spec.threads)
    start = time.time()
    run_dir = run_official(spec) if spec.impl == "official" else run_ours(spec)
    done = dict(impl=spec.impl, seed=spec.seed, run_dir=str(run_dir), worker_sec=time.time() - start,
                threads=torch.get_num_threads(), torch=torch.__version__)
    (Path(spec.outdir) / DONE).write_text(json.dumps(done, indent=2))


if __name__ == "__main__":
    # Run as a script, this folder comes first on sys.path, and it holds a training.py of its own.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    worker(sys.argv[1])
