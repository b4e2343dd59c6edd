"""Data-parallel training over processes with ``torch.distributed``.

One process per GPU (NCCL), or several CPU processes (gloo). Processes are started either by
``torchrun`` (which sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT) or by
``launch(fn, num_procs)`` (``stylegan train --gpus N``), which spawns them on this machine.

Gradients are averaged with one all-reduce of the flattened gradients per optimiser step, as the
official StyleGAN2-ADA/3 trainers do, rather than by wrapping the networks in
``DistributedDataParallel``: R1 and path-length regularisation differentiate through gradients
(``create_graph=True``), which DDP's gradient hooks do not support. Every function here is a
no-op in a single process.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Iterable

import torch
import torch.distributed as torch_dist
from torch import nn


def is_distributed() -> bool:
    return torch_dist.is_available() and torch_dist.is_initialized()


def rank() -> int:
    return torch_dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return torch_dist.get_world_size() if is_distributed() else 1


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" and torch_dist.is_nccl_available() else "gloo"


def init_from_env(device_type: str) -> tuple[int, int, int]:
    """Join the process group described by torchrun's environment variables, if there is one.

    Returns (rank, world_size, local_rank)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or is_distributed():
        return rank(), world_size(), int(os.environ.get("LOCAL_RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    torch_dist.init_process_group(backend=backend)
    return torch_dist.get_rank(), torch_dist.get_world_size(), local_rank


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


AUTO_PROCESSES = 0  # ``--gpus auto``: ``auto_process_count`` chooses
MAX_AUTO_PROCESSES = 8  # the layout was measured on 2 cores; beyond 8 the all-reduce is unmeasured


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a container's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_process_count(batch: int | None, mbstd_group: int, device_type: str, cores: int | None = None) -> int:
    """Training processes for ``--gpus auto``.

    On the CPU, one gloo process of one thread per core: for the small networks a CPU trains, two
    threads in one process are slower than one, and two processes of one thread each train 1.7x
    faster than one process on 2 cores (docs/training.md). The count is the largest one up to the
    cores (at most ``MAX_AUTO_PROCESSES``) that splits ``batch`` into equal shares that are whole
    minibatch-stddev groups, so that D sees the groups it sees in one process. One process where
    that is impossible, on CUDA (several GPUs are asked for by number), without a fixed batch
    (progressive growing's schedule), or when the user chose the threads with ``OMP_NUM_THREADS``."""
    if device_type != "cpu" or batch is None or os.environ.get("OMP_NUM_THREADS"):
        return 1
    cores = available_cores() if cores is None else cores
    for n in range(min(cores, MAX_AUTO_PROCESSES), 1, -1):
        share = batch // n
        if batch % n == 0 and share >= mbstd_group and share % mbstd_group == 0:
            return n
    return 1


def cpu_threads_per_process(num_procs: int) -> int:
    """Intra-op threads for each of ``num_procs`` CPU processes on this machine: the cores shared out
    (at least one), unless the user set ``OMP_NUM_THREADS``. Without this every process would start
    one thread per core and the processes would fight over the cores."""
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads()
    return max(1, available_cores() // num_procs)


def _spawned(local_rank: int, fn: Callable, num_procs: int, init_file: str, backend: str, args: tuple) -> None:
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    else:
        torch.set_num_threads(cpu_threads_per_process(num_procs))
    torch_dist.init_process_group(
        backend=backend, init_method=f"file://{init_file}", rank=local_rank, world_size=num_procs
    )
    try:
        fn(local_rank, *args)
    finally:
        torch_dist.destroy_process_group()


def launch(fn: Callable, num_procs: int, backend: str, args: tuple = ()) -> None:
    """Run ``fn(rank, *args)`` in ``num_procs`` processes of one process group on this machine."""
    if num_procs == 1:
        fn(0, *args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        init_file = os.path.abspath(os.path.join(tmp, ".torch_distributed_init"))
        torch.multiprocessing.spawn(_spawned, args=(fn, num_procs, init_file, backend, args), nprocs=num_procs)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    if is_distributed():
        t = t.clone()
        torch_dist.all_reduce(t, op=torch_dist.ReduceOp.SUM)
    return t


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    return all_reduce_sum(t) / world_size() if is_distributed() else t


def sync_gradients(params: Iterable[nn.Parameter]) -> list[nn.Parameter]:
    """Average the gradients of ``params`` over processes (one all-reduce); returns the parameters
    that have a gradient. Gradients are left in float32."""
    params = [p for p in params if p.grad is not None]
    if params and is_distributed():
        flat = torch.cat([p.grad.flatten() for p in params])
        torch_dist.all_reduce(flat, op=torch_dist.ReduceOp.SUM)
        flat /= world_size()
        for p, g in zip(params, flat.split([p.numel() for p in params])):
            p.grad = g.reshape(p.shape)
    return params


def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Copy every parameter and buffer of ``module`` from process ``src`` to the others."""
    if not is_distributed():
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            torch_dist.broadcast(t.data, src=src)


def average_running_buffers(module: nn.Module, suffixes: tuple[str, ...] = ("w_avg", "_ema")) -> None:
    """Average the running-mean buffers (w_avg, StyleGAN3's magnitude EMAs) over processes, so that
    every process holds the same network at a snapshot. Constant buffers are left alone."""
    if not is_distributed():
        return
    with torch.no_grad():
        for name, b in module.named_buffers():
            if b.is_floating_point() and name.endswith(suffixes):
                torch_dist.all_reduce(b.data, op=torch_dist.ReduceOp.SUM)
                b.data /= world_size()


def any_process(flag: bool, device: torch.device) -> bool:
    """True on every process if ``flag`` is true on any of them."""
    if not is_distributed():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch_dist.all_reduce(t, op=torch_dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier() -> None:
    if is_distributed():
        torch_dist.barrier()


def gather_objects(obj) -> list:
    """``obj`` of every process, in rank order (a one-element list in a single process)."""
    if not is_distributed():
        return [obj]
    out = [None] * world_size()
    torch_dist.all_gather_object(out, obj)
    return out
