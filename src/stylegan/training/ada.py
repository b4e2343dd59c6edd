"""Adaptive discriminator augmentation: the controller that steers the augmentation probability p
(Karras et al., "Training Generative Adversarial Networks with Limited Data", NeurIPS 2020, Sec. 3).

The overfitting heuristic is r_t = E[sign(D(x_real))] over the reals the discriminator saw since the last
adjustment. Every ``interval`` training steps, p <- max(0, p + sign(r_t - target) * batch_size * interval /
(kimg * 1000)), so that p can go from 0 to 1 in ``kimg`` thousand images.

API::

    pipe, ada = setup_augment("ada", preset="bgc", batch_size=64)   # or AugmentPipe(...) + AdaController(...)
    for batch_idx in ...:
        real_logits = D(pipe(reals), c)      # every D pass on reals (main and R1) may be observed
        ada.observe(real_logits)             # accumulates sign(logits) on the logits' device; no host sync
        ...optimiser steps...
        ada.step()                           # once per training step; adjusts pipe.p every `interval` steps
    ada.p, ada.last_rt                       # floats, for logging
    state = ada.state_dict(); ada.load_state_dict(state)   # exact resume (p, pending statistics, step count)

``setup_augment(mode, ...)`` returns ``(pipe, controller)``: mode "ada" -> both; "fixed" -> a pipe with the given p
and no controller; "none" -> ``(None, None)``. With ``torch.distributed`` initialised, the statistics are summed
over all ranks (all ranks must call ``step`` at the same steps, which a synchronous trainer does).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from stylegan.errors import UserError
from stylegan.training.augment import AugmentPipe, preset_kwargs

AUGMENT_MODES = ("ada", "fixed", "none")


class AdaController:
    """Adjust ``pipe.p`` from the sign of the discriminator's outputs on real images (ADA, Sec. 3).

    ``target``: desired r_t (0.6 in the paper); ``interval``: steps between adjustments (4); ``kimg``: thousands of
    images over which p can change by 1 (500; StyleGAN3's configs use 100); ``batch_size``: images per step over all
    ranks.
    """

    def __init__(self, pipe: AugmentPipe, target: float = 0.6, interval: int = 4, kimg: float = 500,
                 batch_size: int = 64):  # fmt: skip
        if not 0 <= target <= 1:
            raise UserError(f"ADA target must be in [0, 1], got {target}")
        if interval < 1:
            raise UserError(f"ADA interval must be at least 1 step, got {interval}")
        if kimg <= 0:
            raise UserError(f"ADA speed (kimg) must be positive, got {kimg}")
        if batch_size < 1:
            raise UserError(f"batch size must be at least 1, got {batch_size}")
        self.pipe = pipe
        self.target = float(target)
        self.interval = int(interval)
        self.kimg = float(kimg)
        self.batch_size = int(batch_size)
        self.num_steps = 0
        self._stats: torch.Tensor | None = None  # [sum of signs, count] since the last adjustment
        self._last_rt: torch.Tensor | None = None

    @property
    def adjustment_size(self) -> float:
        """How much p moves at one adjustment."""
        return self.batch_size * self.interval / (self.kimg * 1000)

    @property
    def p(self) -> float:
        return float(self.pipe.p)

    @property
    def last_rt(self) -> float:
        """r_t used at the latest adjustment (NaN before the first one or when nothing was observed)."""
        return float("nan") if self._last_rt is None else float(self._last_rt)

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor) -> None:
        """Accumulate sign(D(x_real)) for the next adjustment."""
        signs = real_logits.detach().sign().float()
        total = signs.sum()
        update = torch.stack([total, torch.full_like(total, float(signs.numel()))])
        self._stats = update if self._stats is None else self._stats + update.to(self._stats.device)

    def step(self, batch_idx: int | None = None) -> bool:
        """Call once after every training step. ``batch_idx``: steps done so far (default: counted here).
        Returns whether p was adjusted."""
        self.num_steps = self.num_steps + 1 if batch_idx is None else int(batch_idx)
        if self.num_steps % self.interval != 0:
            return False
        self.adjust()
        return True

    @torch.no_grad()
    def adjust(self) -> None:
        """Move p by sign(r_t - target) * adjustment_size (clamped at 0) and reset the statistics.

        Summed over ranks when torch.distributed is initialised; no change if no real logits were observed.
        """
        p = self.pipe.p
        stats = self._stats if self._stats is not None else torch.zeros(2, device=p.device)
        if dist.is_available() and dist.is_initialized():
            stats = stats.clone()
            dist.all_reduce(stats, op=dist.ReduceOp.SUM)
        self._stats = None
        total, count = stats.to(p.device).unbind()
        rt = total / count.clamp(min=1)
        direction = torch.where(count > 0, torch.sign(rt - self.target), torch.zeros_like(rt))
        p.copy_((p + direction * self.adjustment_size).clamp(min=0))
        self._last_rt = torch.where(count > 0, rt, torch.full_like(rt, float("nan")))

    def state_dict(self) -> dict:
        """Plain Python values (loads with ``torch.load(weights_only=True)``)."""
        stats = [0.0, 0.0] if self._stats is None else [float(v) for v in self._stats.tolist()]
        return {"p": self.p, "num_steps": self.num_steps, "pending_sum": stats[0], "pending_count": stats[1],
                "last_rt": self.last_rt}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        try:
            p, num_steps = float(state["p"]), int(state["num_steps"])
            pending = [float(state["pending_sum"]), float(state["pending_count"])]
            last_rt = float(state.get("last_rt", float("nan")))
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"ADA state is incomplete or malformed ({err!r})") from err
        self.pipe.p.fill_(p)
        self.num_steps = num_steps
        device = self.pipe.p.device
        self._stats = torch.tensor(pending, device=device) if pending[1] > 0 else None
        self._last_rt = None if last_rt != last_rt else torch.tensor(last_rt, device=device)


def setup_augment(
    mode: str,
    preset: str = "bgc",
    p: float | None = None,
    target: float = 0.6,
    interval: int = 4,
    kimg: float = 500,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    **overrides: float,
) -> tuple[AugmentPipe | None, AdaController | None]:
    """Build the augmentation for ``--aug ada|fixed|none``.

    "ada": pipe starting at ``p`` (default 0) plus a controller; "fixed": pipe at ``p`` (required, in [0, 1]), no
    controller; "none": nothing. ``overrides`` change single AugmentPipe arguments of the preset.
    """
    if mode not in AUGMENT_MODES:
        raise UserError(f"unknown augmentation mode {mode!r}; choose one of {', '.join(AUGMENT_MODES)}")
    if mode == "none":
        if p is not None:
            raise UserError("an augmentation probability needs --aug fixed or ada")
        return None, None
    if mode == "fixed" and p is None:
        raise UserError("--aug fixed needs an augmentation probability p")
    start_p = 0.0 if p is None else float(p)
    if not 0 <= start_p <= 1:
        raise UserError(f"augmentation probability must be in [0, 1], got {p}")
    kwargs = preset_kwargs(preset)
    kwargs.update(overrides)
    try:
        pipe = AugmentPipe(**kwargs, p=start_p)
    except TypeError as err:
        raise UserError(f"bad augmentation option: {err}") from err
    pipe = pipe.to(device)
    if mode == "fixed":
        return pipe, None
    return pipe, AdaController(pipe, target=target, interval=interval, kimg=kimg, batch_size=batch_size)
