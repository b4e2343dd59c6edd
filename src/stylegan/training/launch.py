"""``train(opts)``: create or reopen a run directory, start the processes and train.

- New run: ``<outdir>/<NNNNN>-<cfg>-<data>-gpusG-batchB-gammaX/`` with ``training_options.json``.
- ``resume="latest"`` / a run directory / a ``training-state-*.pt``: continue that run in its own
  directory, exactly where its last snapshot left it (statistics written after that snapshot by
  a run that crashed are dropped and recomputed).
- ``resume=<network file>``: start a new run whose generator (and discriminator, where the file
  holds one: official snapshots and pickles, rosinality checkpoints) begins with that file's weights.

The process that writes a run holds its lock (``snapshot.run_lock``): a second training of the same
run is refused. A new run's options, dataset and starting network are checked before its directory
is made, and a start that fails before the first step removes the directory again.

Processes: one, ``opts.gpus`` spawned ones (gloo on CPU, NCCL on CUDA), or those started by
``torchrun``, which are recognised from its environment variables.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path

import torch

from stylegan.errors import UserError
from stylegan.training import distributed as dist
from stylegan.training import snapshot as snap
from stylegan.training.build import check_metrics, open_training_data
from stylegan.training.loop import NonFiniteError, Trainer
from stylegan.training.options import TrainingOptions, flag, resolve_options, resumable_fields, run_description
from stylegan.utils.device import default_device
from stylegan.utils.files import atomic_write, describe_os_error, refuse_overwriting_inputs, remove_stale_temporaries

# Options that may change when a run is resumed; the others define the run.
RESUME_OVERRIDES = resumable_fields()


def train(
    opts: TrainingOptions,
    *,
    resume: str | None = None,
    overrides: dict | None = None,
    dataset=None,
    hooks: dict | None = None,
    verbose: bool = True,
) -> Path:
    """Train and return the run directory. ``overrides`` (used with an exact resume) are the options
    the user gave explicitly; ``dataset`` replaces the one ``opts.data`` names (tests)."""
    env_rank, env_world, _ = dist.init_from_env("cuda" if torch.cuda.is_available() else "cpu")
    if env_world > 1:  # started by torchrun: its processes are the run's
        opts = dataclasses.replace(opts, gpus=env_world)
        overrides = dict(overrides or {}, gpus=env_world)
    owner = env_rank == 0  # the process that writes the run directory's own files and holds its lock
    state_path = init_path = init_nets = None
    if resume is not None and not _is_network_file(resume):
        state_path = snap.find_resume_state(resume, opts.outdir)
        run_dir = state_path.parent
        lock = snap.run_lock(run_dir) if owner else contextlib.nullcontext()
        with lock:
            saved = TrainingOptions.from_dict(snap.load_state(state_path)["options"])
            opts = _apply_overrides(saved, overrides or {})
            opts = resolve_options(opts, opts.resolution)
            check_metrics(opts)
            changes = [
                f"{flag(k)} {getattr(saved, k)} -> {getattr(opts, k)}"
                for k in sorted(RESUME_OVERRIDES)
                if getattr(saved, k) != getattr(opts, k)
            ]
            if changes and verbose and owner:
                print(f"Changed on resume: {', '.join(changes)}", flush=True)
            if owner:
                for stale in remove_stale_temporaries(run_dir):
                    if verbose:
                        print(f"Removed {stale.name}, left by an interrupted write", flush=True)
                write_options(run_dir, opts)
            _run(opts, run_dir, state_path, None, None, dataset, hooks, verbose, env_world)
        return run_dir

    # A new run: everything that can be checked is checked before its directory exists.
    if resume is not None:
        init_path = Path(resume)
        init_nets = _load_start_networks(init_path)
    if dataset is None:
        dataset = open_training_data(opts)
    opts = resolve_options(opts, dataset.resolution)
    check_metrics(opts)
    refuse_overwriting_inputs({"--data": opts.data, "--resume": init_path}, [opts.outdir])
    run_dir = None
    if owner:
        run_dir = snap.new_run_dir(opts.outdir, run_description(opts, getattr(dataset, "name", "data")))
    run_dir = _share(run_dir)
    lock = snap.run_lock(run_dir) if owner else contextlib.nullcontext()
    with lock:
        try:
            if owner:
                write_options(run_dir, opts)
            _run(opts, run_dir, None, init_path, init_nets, dataset, hooks, verbose, env_world)
        except BaseException:
            if owner:
                snap.remove_unstarted_run(run_dir)  # the error says why it stopped
            raise
    return run_dir


def write_options(run_dir: Path, opts: TrainingOptions) -> None:
    """``training_options.json``: the complete options the run trains with."""
    text = opts.to_json() + "\n"
    atomic_write(run_dir / snap.OPTIONS_FILE, lambda tmp: Path(tmp).write_text(text))


def _run(opts, run_dir, state_path, init_path, init_nets, dataset, hooks, verbose, env_world) -> None:
    """Train in this process, in the processes torchrun started, or in ``opts.gpus`` spawned ones."""
    if env_world > 1:
        try:
            _process(dist.rank(), opts, run_dir, state_path, init_path, dataset, hooks, verbose, init_nets=init_nets)
        finally:
            torch.distributed.destroy_process_group()
    elif opts.gpus > 1:
        backend = "nccl" if torch.cuda.is_available() and torch.cuda.device_count() >= opts.gpus else "gloo"
        args = (opts, run_dir, state_path, init_path, dataset, hooks, verbose)
        try:
            dist.launch(_process_exit_code, opts.gpus, backend, args=args)
        except torch.multiprocessing.ProcessExitedException:  # it printed why (a user error, divergence)
            raise UserError("training stopped: a training process ended with an error (see above)") from None
    else:
        _process(0, opts, run_dir, state_path, init_path, dataset, hooks, verbose, init_nets=init_nets)


def _process(rank, opts, run_dir, state_path, init_path, dataset, hooks, verbose, init_nets=None) -> None:
    """Build the trainer on this process and run it (``init_nets``: the (G, D or None) ``init_path``
    holds, if already loaded)."""
    world = dist.world_size()
    device = default_device(int(os.environ.get("LOCAL_RANK", rank)))  # torchrun: the GPU of this node
    if dataset is None:
        dataset = open_training_data(opts)
    state = snap.load_state(state_path) if state_path is not None else None
    if init_nets is None and init_path is not None:
        init_nets = _load_start_networks(init_path)
    init_G, init_D = init_nets or (None, None)
    trainer = Trainer(
        opts,
        run_dir,
        dataset,
        device=device,
        rank=rank,
        world_size=world,
        resume_state=state,
        init_generator=init_G,
        init_discriminator=init_D,
        hooks=hooks,
        verbose=verbose,
    )
    if state is not None:
        trainer.log(f"Resuming from {state_path} at {trainer.cur_nimg / 1e3:g} kimg")
    elif init_path is not None:
        _report_transfer(trainer, init_path)
    trainer.run()


def _report_transfer(trainer: Trainer, init_path: Path) -> None:
    """Log which networks started from ``init_path``; where not every tensor fitted, the table of what
    was copied and what is new goes to the log (summary) and to ``transfer.txt`` in the run directory."""
    from stylegan.training.transfer import TRANSFER_FILE, transfer_table

    names = " and ".join({"G": "Generator", "D": "discriminator"}[n] for n in trainer.transfer)
    trainer.log(f"{names} initialised from {init_path}")
    if all(status == "copied" for rows in trainer.transfer.values() for _, status, _ in rows):
        return
    table = transfer_table(trainer.transfer)
    for line in table.splitlines():
        if not line.startswith(" "):
            trainer.log(line)
    if trainer.is_main:
        atomic_write(trainer.run_dir / TRANSFER_FILE, lambda tmp: Path(tmp).write_text(table))
        trainer.log(f"Tensors copied and initialised: {trainer.run_dir / TRANSFER_FILE}")


def _process_exit_code(rank, *args) -> None:
    """A spawned process: report a clean message for expected failures and exit non-zero."""
    try:
        _process(rank, *args)
    except (UserError, NonFiniteError) as e:
        if rank == 0:
            print(f"error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
    except OSError as e:  # a full disk, an unwritable run directory
        if rank == 0:
            print(f"error: {describe_os_error(e)}", file=sys.stderr, flush=True)
        sys.exit(1)


def _share(obj):
    """Process 0's value of ``obj`` on every process."""
    if not dist.is_distributed():
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def _is_network_file(resume: str) -> bool:
    path = Path(resume)
    return resume != "latest" and path.is_file() and path.suffix in (".safetensors", ".pkl")


def _load_start_networks(path: Path):
    """(generator, discriminator or None) of a network file: the EMA generator where the file has one."""
    from stylegan.io.loading import network_builders

    _, builders = network_builders(path, nonfinite="error")  # training from NaN weights diverges at once
    name = next((n for n in ("G_ema", "G") if n in builders), None)
    if name is None:
        raise UserError(f"--resume {path} holds no generator to start from")
    return builders[name]().eval(), builders["D"]().eval() if "D" in builders else None


def _apply_overrides(saved: TrainingOptions, overrides: dict) -> TrainingOptions:
    if overrides.get("precision") == "auto":  # the run stores what auto resolved to; compare with that
        from stylegan.utils.precision import resolve_precision

        device_type = "cuda" if torch.cuda.is_available() else "cpu"
        overrides = dict(overrides, precision=resolve_precision("auto", device_type))
    changed = {k: v for k, v in overrides.items() if getattr(saved, k) != v}
    fixed = sorted(set(changed) - RESUME_OVERRIDES - {"outdir", "resume"})
    if fixed:
        raise UserError(
            f"cannot change {', '.join(flag(k) for k in fixed)} when resuming a run "
            f"(allowed: {', '.join(sorted(flag(k) for k in RESUME_OVERRIDES))})"
        )
    allowed = {k: v for k, v in changed.items() if k in RESUME_OVERRIDES}
    if "gpus" in allowed and "batch_gpu" not in allowed:
        allowed["batch_gpu"] = None
    opts = dataclasses.replace(saved, **allowed, resolved=False)
    return opts
