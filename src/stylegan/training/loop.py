"""The training loop: alternating G and D steps, EMA, ticks, snapshots and exact resume.

One step consumes one global minibatch of real images and runs the phases of
``build.training_phases`` (Gmain, Greg every 4 steps, Dmain, Dreg every 16 steps for StyleGAN2).
All random inputs of a step (latents, labels of fakes, style-mixing crossovers, path-length noise)
are drawn for the whole global batch from one generator that every process advances identically;
process r of N takes every N-th sample from r on (as it does for real images, see ``feed``) and
splits its share into passes of ``batch_gpu`` samples the same way. The gradient of every step is
therefore the mean over the global batch, whatever the number of processes and passes.

A tick ends every ``tick`` kimg (the first after one step): statistics are reduced and written, the
progress line is printed, weights are checked for non-finite values, and every ``snap`` ticks a
snapshot is written (see ``snapshot``). ``Trainer.state_dict()`` holds everything needed to
continue bit for bit.

``opts.precision == "bf16"`` (CPU only) runs the forward passes of every phase under bfloat16 autocast
(see ``loss``); parameters, Adam's state, the EMA generator, sample grids and metrics stay float32.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stylegan.errors import UserError
from stylegan.layers.pin import gate_values
from stylegan.models.stylegan3 import set_recompute
from stylegan.training import distributed as dist
from stylegan.training import snapshot as snap
from stylegan.training.ada import setup_augment
from stylegan.training.build import (
    Phase,
    adam,
    build_networks,
    lazy_interval,
    model_spec,
    progressive_schedule,
    projectable_modules,
    training_phases,
)
from stylegan.training.ema import ema_beta, update_ema
from stylegan.training.feed import RealImages, dataset_labels
from stylegan.training.images import grid_shape, render_latents, save_image_grid
from stylegan.training.loss import LossConfig, StyleGANLoss, draw_latents
from stylegan.training.options import TrainingOptions, pin_gate_schedule
from stylegan.training.progressive import apply_lod, fade_reals, needs_optimizer_reset
from stylegan.training.stats import StatsCollector, StatsLog, peak_cpu_memory_gb, progress_line
from stylegan.training.transfer import check_compatible, transfer_weights
from stylegan.utils.device import default_device
from stylegan.utils.images import from_uint8

MAX_SKIPPED_STEPS = 16  # consecutive optimiser steps with non-finite gradients before the run stops
KEEP_STATES = 2  # training-state files kept in a run directory (network snapshots are all kept)


class NonFiniteError(RuntimeError):
    """Training produced NaN/Inf weights or keeps producing non-finite gradients."""


class Trainer:
    """Trains one run. Build it on every process; ``run()`` trains until ``opts.kimg``.

    ``hooks`` maps event names to callables taking the trainer: ``"after_step"`` runs after every
    step (tests use it to inject faults), ``"after_tick"`` after every tick.
    """

    def __init__(
        self,
        opts: TrainingOptions,
        run_dir: str | Path,
        dataset,
        *,
        device: torch.device | str | None = None,
        rank: int = 0,
        world_size: int = 1,
        resume_state: dict | None = None,
        init_generator: torch.nn.Module | None = None,
        init_discriminator: torch.nn.Module | None = None,
        hooks: dict[str, Callable] | None = None,
        verbose: bool = True,
    ):
        if not opts.resolved:
            raise ValueError("options must be resolved (resolve_options) before training")
        self.opts = opts
        self.run_dir = Path(run_dir)
        self.dataset = dataset
        self.device = torch.device(device) if device is not None else default_device(rank)
        self.rank = rank
        self.world_size = world_size
        self.is_main = rank == 0
        self.hooks = hooks or {}
        self.verbose = verbose and self.is_main
        self.start_time = time.time()
        if opts.precision not in ("fp32", "bf16"):
            raise ValueError("options must be resolved (resolve_options) before training")
        if opts.precision == "bf16" and self.device.type != "cpu":
            raise UserError(
                f"--precision bf16 is for training on the CPU, not on {self.device.type}; "
                "use --precision fp32 (the float16 layers) or auto"
            )
        self._configure_backends()

        # Networks: identical initial weights on every process.
        torch.manual_seed(opts.seed)
        self.spec = model_spec(opts, dataset.num_channels, dataset.label_dim)
        G, D = build_networks(self.spec)
        self.G = G.train().requires_grad_(False).to(self.device)
        self.D = D.train().requires_grad_(False).to(self.device)
        # Starting from a network file: what fits is copied, the rest stays initialised (``transfer``).
        self.transfer: dict[str, list] = {}
        for name, start, net in (("G", init_generator, self.G), ("D", init_discriminator, self.D)):
            if start is not None:
                check_compatible(start, net, "generator" if name == "G" else "discriminator", opts.cfg)
                self.transfer[name] = transfer_weights(start, net)
        # PIN gates under --pin-schedule start inside the schedule's first interval (pure instance norm).
        self.pin_schedule = pin_gate_schedule(opts.pin_schedule)
        if self.pin_schedule is not None:
            self.pin_schedule.project_(self.G, 0.0)
        self.G_ema = copy.deepcopy(self.G).eval()
        # Only G's training passes build graphs through the synthesis layers; G_ema never does.
        set_recompute(self.G, opts.recompute)
        dist.broadcast_module(self.G)
        dist.broadcast_module(self.D)
        dist.broadcast_module(self.G_ema)
        self._project = projectable_modules(self.G)

        # Per-process global RNGs (noise inputs, augmentation) and the shared generator of step inputs.
        seed_rank = opts.seed * world_size + rank
        torch.manual_seed(seed_rank)
        np.random.seed(seed_rank % (1 << 32))
        random.seed(seed_rank)
        self.shared_gen = torch.Generator(device=self.device)
        self.shared_gen.manual_seed(opts.seed + 0x5EED)

        # Progressive growing (StyleGAN v1): level of detail, minibatch and learning rate from the schedule.
        self.schedule = progressive_schedule(opts, world_size) if opts.progressive else None
        self.prev_lod: float | None = None
        self.lod = 0.0
        self.step_batch = opts.batch or self.schedule.at(0, world_size).minibatch

        # Augmentation (ADA): the pipe sits in front of D for reals and fakes alike.
        self.augment_pipe, self.ada = setup_augment(
            opts.aug,
            preset=opts.augpipe,
            p=opts.aug_p,
            target=opts.ada_target,
            interval=opts.ada_interval,
            kimg=opts.ada_kimg,
            batch_size=self.step_batch,
            device=self.device,
        )

        # Loss, optimisers, phases.
        self.stats = StatsCollector(self.device)
        self.loss = StyleGANLoss(
            self.G,
            self.D,
            LossConfig(
                r1_gamma=opts.gamma,
                style_mixing=opts.style_mixing,
                pl_weight=opts.pl_weight,
                pl_batch_shrink=opts.pl_batch_shrink,
                pl_decay=opts.pl_decay,
                blur_sigma=opts.blur_sigma,
                blur_fade_kimg=opts.blur_fade_kimg,
            ),
            augment_pipe=self.augment_pipe,
            stats=self.stats,
            compile=opts.compile,
            precision=opts.precision,
        )
        self.phases = training_phases(opts)
        betas = tuple(opts.defaults.betas)
        self.opt = {
            "G": adam(self.G.parameters(), opts.glr, betas, lazy_interval(self.phases, "G")),
            "D": adam(self.D.parameters(), opts.dlr, betas, lazy_interval(self.phases, "D")),
        }
        # Learning rates as given to Adam (lazy-regularisation compensation included), per network.
        self.base_lr = {name: opt.param_groups[0]["lr"] for name, opt in self.opt.items()}
        # Labels of generated images are drawn from the dataset's labels (conditional training).
        labels = dataset_labels(dataset) if opts.cond else np.zeros([1, 0], dtype=np.float32)
        self.labels = torch.from_numpy(labels).to(self.device)

        # Real images.
        for name, reason in dict(getattr(dataset, "bad_files", {})).items():
            self.log(f"warning: training image {name} left out: {reason}")
        self.feed = RealImages(
            dataset,
            self.step_batch,
            self.device,
            rank=rank,
            world_size=world_size,
            seed=opts.seed,
            workers=opts.workers,
            log=self.log,
        )
        self.feed.reported.update(getattr(dataset, "bad_files", {}))

        # Progress counters.
        self.cur_nimg = 0
        self.cur_tick = 0
        self.tick_start_nimg = 0
        self.batch_idx = 0
        self.skipped_in_a_row = 0
        self.skipped_in_tick = 0

        self.stats_log = StatsLog(self.run_dir, enabled=self.is_main)
        if resume_state is not None:
            self.load_state_dict(resume_state)
            self.stats_log.truncate_after(self.cur_nimg)

        cols, rows = opts.grid or grid_shape(opts.resolution)
        self.grid = (cols, rows)
        grid_gen = torch.Generator().manual_seed(opts.seed)
        self.grid_z = torch.randn([cols * rows, self.G.z_dim], generator=grid_gen)
        label_idx = torch.randint(self.labels.shape[0], [cols * rows], generator=grid_gen)
        self.grid_c = self.labels.cpu()[label_idx]

    # -------------------------------------------------------------------------------------------
    # Setup helpers

    def _configure_backends(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True
            # TF32 matmuls/convolutions unless --fp32 asks for full float32 everywhere.
            torch.backends.cuda.matmul.allow_tf32 = not self.opts.fp32
            torch.backends.cudnn.allow_tf32 = not self.opts.fp32

    def log(self, message: str) -> None:
        """Print on process 0 and append to the run's log.txt."""
        if not self.is_main:
            return
        if self.verbose:
            print(message, flush=True)
        try:
            with open(self.run_dir / "log.txt", "a") as f:
                f.write(message + "\n")
        except OSError:
            pass

    @property
    def batch_size(self) -> int:
        """Global minibatch of the current step."""
        return self.step_batch

    @property
    def batch_per_process(self) -> int:
        return self.batch_size // self.world_size

    # -------------------------------------------------------------------------------------------
    # One step

    def train_step(self) -> None:
        if self.schedule is not None:
            self._grow()
        reals, real_c = self.feed.next()
        if self.schedule is not None:
            reals = fade_reals(reals, self.lod)
        for phase in self.phases:
            if self.batch_idx % phase.interval == 0:
                self.run_phase(phase, reals, real_c)
        self.update_ema()
        self.cur_nimg += self.batch_size
        self.batch_idx += 1
        if self.ada is not None:
            self.ada.step(self.batch_idx)
        if "after_step" in self.hooks:
            self.hooks["after_step"](self)

    def update_ema(self) -> None:
        """G_ema <- G with the half-life (and ramp-up) of the options, for this step's batch."""
        beta = ema_beta(self.batch_size, self.cur_nimg, self.opts.ema_kimg, self.opts.ema_rampup)
        update_ema(self.G_ema, self.G, beta)

    def _grow(self) -> None:
        """Progressive growing: set the lod, minibatch and learning rates of this step; reset Adam's
        state when a new layer appears (official StyleGAN)."""
        phase = self.schedule.at(self.cur_nimg / 1e3, self.world_size)
        self.lod = phase.lod
        if phase.lod != self.prev_lod:
            apply_lod(phase.lod, self.G, self.D, self.G_ema)
        if needs_optimizer_reset(self.prev_lod, phase.lod):
            for opt in self.opt.values():
                opt.state.clear()
        self.prev_lod = phase.lod
        self.step_batch = self.opts.batch or phase.minibatch
        self.feed.set_batch_size(self.step_batch)
        if self.ada is not None:
            self.ada.batch_size = self.step_batch
        base = self.schedule
        for name, rate, rate_base in (("G", phase.G_lrate, base.G_lrate_base), ("D", phase.D_lrate, base.D_lrate_base)):
            for group in self.opt[name].param_groups:
                group["lr"] = self.base_lr[name] * rate / rate_base

    def _my_share(self, t):
        """This process's samples of a global batch: every world_size-th, from its rank on."""
        return t[self.rank :: self.world_size]

    def _path_length_noise(self, rounds: int) -> list[torch.Tensor]:
        """The noise images y of this process's passes. Passes are numbered globally (pass k of process r
        is pass r + world_size * k) and their noise is drawn in that order, one pass at a time, so every
        split of the batch sees the same noise and no process holds more than its own."""
        n = max(self.batch_size // (self.world_size * rounds) // self.opts.pl_batch_shrink, 1)
        shape = [n, self.G.img_channels, self.G.img_resolution, self.G.img_resolution]
        mine = []
        for q in range(self.world_size * rounds):
            noise = torch.randn(shape, generator=self.shared_gen, device=self.device)
            if q % self.world_size == self.rank:
                mine.append(noise)
        return mine

    def run_phase(self, phase: Phase, reals: torch.Tensor, real_c: torch.Tensor) -> None:
        """One optimiser step of ``phase`` (its losses over this process's passes, gradient sync, update)."""
        opts, B = self.opts, self.batch_size
        needs_fakes = phase.net == "G" or phase.main
        latents = None
        if needs_fakes:
            mix_layers = self.G.synthesis.num_active_ws(self.lod) if self.schedule is not None else None
            latents = self._my_share(
                draw_latents(
                    B, self.G.z_dim, self.G.num_ws, opts.style_mixing, self.labels, self.shared_gen, mix_layers
                )
            )
        rounds = max(self.batch_per_process // (opts.batch_gpu or self.batch_per_process), 1)
        if self.batch_per_process % rounds:
            raise UserError(
                f"a batch of {self.batch_per_process} per process does not split into passes of "
                f"--batch-gpu {opts.batch_gpu}"
            )
        pl_noise = self._path_length_noise(rounds) if phase.net == "G" and phase.reg else None

        module = self.G if phase.net == "G" else self.D
        opt = self.opt[phase.net]
        opt.zero_grad(set_to_none=True)
        module.requires_grad_(True)
        gain = phase.interval / rounds
        pl_lengths = []
        for r in range(rounds):
            part = slice(r, None, rounds)  # pass r takes every rounds-th sample, as processes do
            if phase.net == "G":
                if phase.main:
                    self.loss.generator_main(latents[part], self.cur_nimg, gain)
                if phase.reg:
                    pl_lengths.append(self.loss.path_length(latents[part], pl_noise[r], gain))
            else:
                loss_fake = self.loss.discriminator_fake(latents[part], self.cur_nimg, gain) if phase.main else None
                real_logits = self.loss.discriminator_real(
                    reals[part], real_c[part], self.cur_nimg, gain, main=phase.main, r1=phase.reg, loss_fake=loss_fake
                )
                if self.ada is not None:
                    self.ada.observe(real_logits)
        module.requires_grad_(False)

        params = dist.sync_gradients(module.parameters())
        if not self._finite_gradients(params):
            self.skipped_in_a_row += 1
            self.skipped_in_tick += 1
            opt.zero_grad(set_to_none=True)
            if self.skipped_in_a_row == 1:
                self.log(f"warning: non-finite gradients in {phase.name} at {self.cur_nimg} images; step skipped")
            if self.skipped_in_a_row >= MAX_SKIPPED_STEPS:
                raise NonFiniteError(
                    self._divergence_message(
                        f"{self.skipped_in_a_row} optimiser steps in a row had non-finite gradients"
                    )
                )
            return
        self.skipped_in_a_row = 0
        opt.step()
        if phase.net == "G":
            bounds = self.pin_schedule.bounds(self.cur_nimg / 1e3) if self.pin_schedule is not None else (0.0, 1.0)
            for m in self._project:
                m.project_(*bounds)
            if pl_lengths:
                self.loss.update_pl_mean(dist.all_reduce_mean(torch.cat(pl_lengths).mean()))

    @staticmethod
    def _finite_gradients(params: list[torch.nn.Parameter]) -> bool:
        if not params:
            return True
        norms = torch.stack([p.grad.detach().float().norm() for p in params])
        return bool(torch.isfinite(norms).all())

    # -------------------------------------------------------------------------------------------
    # Ticks and the main loop

    def run(self) -> None:
        opts = self.opts
        total_nimg = int(round(opts.kimg * 1000))
        if self.cur_nimg == 0 and self.is_main:
            self._write_initial_images()
        limit = f", or {opts.time_limit:g} minutes" if opts.time_limit else ""
        self.log(f"Training for {opts.kimg:g} kimg ({total_nimg} images){limit} in {self.run_dir}")
        if self.device.type == "cpu":
            procs = f"{self.world_size} processes" if self.world_size > 1 else "1 process"
            self.log(
                f"CPU layout: {procs} of {torch.get_num_threads()} thread(s) (--gpus N|auto; "
                "OMP_NUM_THREADS sets the threads)"
            )
        if opts.recompute != "none":
            self.log(f"Recomputing G's {opts.recompute} in the backward pass (--recompute {opts.recompute})")
        if opts.precision == "bf16":
            self.log("Precision: bfloat16 autocast for the forward passes; weights, losses and gradients float32")
        self.tick_start_time = time.time()
        self.tick_start_nimg = self.cur_nimg
        done = self.cur_nimg >= total_nimg
        while not done:
            self.train_step()
            done = self.cur_nimg >= total_nimg or self._out_of_time()
            tick_due = self.cur_nimg >= self.tick_start_nimg + opts.tick * 1000 or self.cur_tick == 0
            if done or tick_due:
                self._end_tick(done, total_nimg)
        self.stats_log.close()
        self.feed.close()
        self.log("Done.")

    def _out_of_time(self) -> bool:
        """``--time-limit`` reached (decided by process 0 for all)."""
        if not self.opts.time_limit:
            return False
        over = time.time() - self.start_time > self.opts.time_limit * 60
        return dist.any_process(over and self.is_main, self.device)

    def _end_tick(self, done: bool, total_nimg: int) -> None:
        opts = self.opts
        now = time.time()
        tick_nimg = max(self.cur_nimg - self.tick_start_nimg, 1)
        sec_per_kimg = (now - self.tick_start_time) / tick_nimg * 1000
        dist.average_running_buffers(self.G)
        dist.average_running_buffers(self.G_ema)
        self._check_finite_weights()

        elapsed = now - self.start_time
        cpu_mem = peak_cpu_memory_gb()
        gpu_mem = torch.cuda.max_memory_allocated(self.device) / 2**30 if self.device.type == "cuda" else None
        augment_p = float(self.augment_pipe.p) if self.augment_pipe is not None else None
        s = self.stats
        s.report_scalar("Progress/tick", self.cur_tick)
        s.report_scalar("Progress/kimg", self.cur_nimg / 1e3)
        s.report_scalar("Progress/skipped_steps", self.skipped_in_tick)
        s.report_scalar("Progress/pl_mean", float(self.loss.pl_mean))
        s.report_scalar("Progress/batch", self.step_batch)
        if self.schedule is not None:
            s.report_scalar("Progress/lod", self.lod)
        s.report_scalar("Progress/augment", augment_p or 0.0)
        s.report_scalar("Timing/total_sec", elapsed)
        s.report_scalar("Timing/sec_per_tick", now - self.tick_start_time)
        s.report_scalar("Timing/sec_per_kimg", sec_per_kimg)
        s.report_scalar("Resources/peak_cpu_mem_gb", cpu_mem)
        if gpu_mem is not None:
            s.report_scalar("Resources/peak_gpu_mem_gb", gpu_mem)
        for name, gate in gate_values(self.G).items():  # PIN: mean and spread over channels, per layer
            s.report(f"PIN/gate/{name.removeprefix('synthesis.').removesuffix('.epilogue.norm')}", gate)
        if self.pin_schedule is not None:
            low, high = self.pin_schedule.bounds(self.cur_nimg / 1e3)
            s.report_scalar("PIN/gate_low", low)
            s.report_scalar("PIN/gate_high", high)
        stats = s.reduce()
        if self.is_main:
            extra = {"cpumem": f"{cpu_mem:.2f}"}
            if augment_p is not None:
                extra["augment"] = f"{augment_p:.3f}"
            if self.schedule is not None:
                extra["lod"] = f"{self.lod:.2f}"
                extra["batch"] = str(self.step_batch)
            if gpu_mem is not None:
                extra["gpumem"] = f"{gpu_mem:.2f}"
            if self.skipped_in_tick:
                extra["skipped"] = str(self.skipped_in_tick)
            limit = opts.time_limit * 60 if opts.time_limit else None
            self.log(
                progress_line(self.cur_tick, self.cur_nimg / 1e3, total_nimg / 1e3, elapsed, sec_per_kimg, extra, limit)
            )
            self.stats_log.write(stats, self.cur_nimg, timestamp=now, walltime=elapsed)

        tick = self.cur_tick
        self.cur_tick += 1
        self.tick_start_nimg = self.cur_nimg
        self.skipped_in_tick = 0
        if self.is_main and (done or tick % opts.img_snap == 0):
            with snap.preserved_rng(self.device):
                self.save_samples(self.run_dir / f"fakes{snap.snapshot_tag(self.cur_nimg)}.png")
        if done or tick % opts.snap == 0:
            network = self.save_snapshot()
            if opts.metrics:
                self.measure(network)
        if "after_tick" in self.hooks:
            self.hooks["after_tick"](self)
        self.tick_start_time = time.time()

    def _check_finite_weights(self) -> None:
        bad = []
        for name, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            for key, t in list(module.named_parameters()) + list(module.named_buffers()):
                if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                    bad.append(f"{name}.{key}")
        if not bool(torch.isfinite(self.loss.pl_mean)):
            bad.append("path-length mean")
        if dist.any_process(bool(bad), self.device):
            names = ", ".join(bad[:4]) + (" ..." if len(bad) > 4 else "") if bad else "on another process"
            raise NonFiniteError(self._divergence_message(f"non-finite values in {names}"))

    def _divergence_message(self, what: str) -> str:
        states = snap.training_states(self.run_dir)
        last = f"the last good snapshot is {states[-1]}" if states else "no snapshot had been written yet"
        return (
            f"training diverged at {self.cur_nimg / 1e3:g} kimg: {what}. Stopped without writing a snapshot; "
            f"{last} (try a lower learning rate or a larger --gamma, then --resume)."
        )

    # -------------------------------------------------------------------------------------------
    # Images and snapshots

    def _write_initial_images(self) -> None:
        cols, rows = self.grid
        n = cols * rows
        order = np.random.RandomState(self.opts.seed).permutation(len(self.dataset))
        reals = []
        for i in order[:n].tolist() * (n // min(n, len(order)) + 1):
            try:
                reals.append(np.asarray(self.dataset[i][0]))
            except Exception:  # noqa: BLE001  (bad files are reported by the feed)
                continue
            if len(reals) == n:
                break
        if len(reals) == n:
            save_image_grid(from_uint8(np.stack(reals)), self.run_dir / "reals.png", cols)
        with snap.preserved_rng(self.device):
            self.save_samples(self.run_dir / "fakes_init.png")

    def save_samples(self, path: Path) -> None:
        """The fixed-latent sample grid of the EMA generator."""
        images = render_latents(self.G_ema, self.grid_z, self.grid_c)
        save_image_grid(images, path, cols=self.grid[0])

    def save_snapshot(self) -> Path | None:
        """Write the EMA generator and the full training state (process 0), atomically."""
        rng = dist.gather_objects(snap.capture_rng(self.device))
        network = None
        if self.is_main:
            import stylegan

            meta = {"training_kimg": f"{self.cur_nimg / 1e3:g}", "training_cfg": self.opts.cfg}
            network = snap.network_path(self.run_dir, self.cur_nimg)
            stylegan.save(self.G_ema, network, extra_metadata=meta)
            path = snap.save_state(snap.state_path(self.run_dir, self.cur_nimg), self.state_dict(rng))
            snap.prune_states(self.run_dir, KEEP_STATES)
            self.log(f"Snapshot: {path.name}")
        dist.barrier()
        return network

    def measure(self, network: Path | None) -> dict[str, float]:
        """The ``--metrics`` of a snapshot (process 0), appended to ``metric-<name>.jsonl`` in the run
        directory and written to TensorBoard; the training RNG streams are left untouched."""
        results: dict[str, float] = {}
        if self.is_main:
            from stylegan.metrics.runner import snapshot_metrics

            data = self.opts.data if self.opts.mirror else self.dataset  # metrics use unmirrored images
            with snap.preserved_rng(self.device):
                results = snapshot_metrics(
                    self.G_ema,
                    list(self.opts.metrics),
                    self.run_dir,
                    snapshot=network.name,
                    data=data,
                    detector=self.opts.metrics_detector,
                    num_gen=self.opts.metrics_num,
                    device=self.device,
                    progress=False,
                )
            self.log("Metrics: " + "  ".join(f"{k} {v:.4g}" for k, v in results.items()))
            self.stats_log.write_metrics(results, self.cur_nimg, time.time() - self.start_time)
        dist.barrier()
        return results

    # -------------------------------------------------------------------------------------------
    # State

    def state_dict(self, rng_states: list[dict] | None = None) -> dict:
        """Everything needed to continue exactly; plain tensors and containers (CPU)."""

        def cpu(sd):
            return {k: v.detach().cpu() for k, v in sd.items()}

        return {
            "options": json.loads(self.opts.to_json()),
            "progress": {
                "cur_nimg": self.cur_nimg,
                "cur_tick": self.cur_tick,
                "batch_idx": self.batch_idx,
            },
            "G": cpu(self.G.state_dict()),
            "D": cpu(self.D.state_dict()),
            "G_ema": cpu(self.G_ema.state_dict()),
            "optimizers": {name: opt.state_dict() for name, opt in self.opt.items()},
            "pl_mean": self.loss.pl_mean.detach().cpu(),
            "rng": {
                "processes": rng_states if rng_states is not None else [snap.capture_rng(self.device)],
                "shared": self.shared_gen.get_state(),
            },
            "feed": self.feed.state_dict(),
            "ada": self.ada.state_dict() if self.ada is not None else None,
            "progressive": {"prev_lod": self.prev_lod} if self.schedule is not None else None,
        }

    def load_state_dict(self, state: dict) -> None:
        progress = state["progress"]
        self.cur_nimg = int(progress["cur_nimg"])
        self.cur_tick = int(progress["cur_tick"])
        self.batch_idx = int(progress["batch_idx"])
        self.tick_start_nimg = self.cur_nimg
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.G_ema.load_state_dict(state["G_ema"])
        for name, opt in self.opt.items():
            opt.load_state_dict(state["optimizers"][name])
            for group in opt.param_groups:  # the rate of this run's options (resuming may lower it)
                group["lr"] = self.base_lr[name]
        self.loss.pl_mean.copy_(state["pl_mean"])
        self.feed.load_state_dict(state["feed"])
        if self.ada is not None and state.get("ada") is not None:
            self.ada.load_state_dict(state["ada"])
        if self.schedule is not None and state.get("progressive") is not None:
            self.prev_lod = state["progressive"]["prev_lod"]
            if self.prev_lod is not None:
                self.lod = self.prev_lod
        self.shared_gen.set_state(state["rng"]["shared"])
        processes = state["rng"]["processes"]
        if len(processes) == self.world_size:
            snap.restore_rng(processes[self.rank], self.device)
        else:
            self.log(
                f"warning: the snapshot was written by {len(processes)} process(es), this run has "
                f"{self.world_size}; training continues but not bit for bit"
            )
