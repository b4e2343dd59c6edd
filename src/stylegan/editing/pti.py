"""Pivotal tuning inversion, PTI (Roich et al., 2021, Section 3).

1. Invert the image to a pivot w_p in W (``stylegan.tools.project.project``, w mode).
2. Fine-tune the synthesis network so that G(w_p) reconstructs the image:
   L_pt = D(G(w_p), x) + lambda_L2 * L2(G(w_p), x)   (Eq. 1; D = LPIPS in the paper).
3. With the locality regulariser (Section 3.3, Eq. 2-3): at every step, a latent w_z = f(z) of the
   original mapping (psi 0.5, as the authors' code) gives w_r = w_p + alpha (w_z - w_p) / |w_z - w_p|
   and L_R = lambda_R^D D(G(w_r), G_orig(w_r)) + lambda_R^L2 L2(G(w_r), G_orig(w_r)), so the network
   changes only near the pivot.

Defaults follow the paper and the authors' code: 350 steps of Adam at 3e-4, lambda_L2 = 1, alpha
= 30, lambda_R^D = lambda_R^L2 = 0.1, noise inputs constant. The caller's network is left untouched.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from stylegan.errors import UserError
from stylegan.tools.generate import synthesize
from stylegan.tools.project import Distance, _target_tensor, for_distance, mse_distance


@dataclass
class PTIResult:
    G: torch.nn.Module  # the tuned generator (eval mode, no gradients)
    pivot: torch.Tensor  # [1, num_ws, w_dim] on the CPU
    losses: list[float] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)  # D + lambda_L2 * L2 at the pivot per step
    locality: list[float] = field(default_factory=list)
    seconds: float = 0.0


def pivotal_tuning(
    G,
    target,
    pivot: torch.Tensor,
    *,
    distance: Distance = mse_distance,
    num_steps: int = 350,
    learning_rate: float = 3e-4,
    l2_weight: float = 1.0,
    locality_alpha: float = 30.0,
    locality_distance_weight: float = 0.1,
    locality_l2_weight: float = 0.1,
    locality_psi: float = 0.5,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int, float], None] | None = None,
) -> PTIResult:
    """Fine-tune a copy of ``G`` so that its image of ``pivot`` ([1, num_ws, w_dim] or [1, w_dim] /
    [w_dim]) matches ``target`` (as ``stylegan.tools.project.project`` takes it). Locality off with
    both locality weights 0. ``progress(step, num_steps, reconstruction_loss)`` after every step."""
    if num_steps < 1:
        raise UserError(f"the number of tuning steps must be at least 1, got {num_steps}")
    start = time.perf_counter()
    device = torch.device(device)
    target = _target_tensor(G, target).unsqueeze(0).to(device)
    pivot = torch.as_tensor(pivot, dtype=torch.float32).reshape(1, -1, G.w_dim)
    if pivot.shape[1] not in (1, G.num_ws):
        raise UserError(f"the pivot must be one w or {G.num_ws} ws of {G.w_dim} numbers, got {list(pivot.shape)}")
    pivot = pivot.expand(1, G.num_ws, G.w_dim).to(device)
    original = copy.deepcopy(G).eval().requires_grad_(False).to(device)
    tuned = copy.deepcopy(G).eval().requires_grad_(False).to(device)
    params = [p for p in tuned.synthesis.parameters() if p.is_floating_point()]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(params, lr=learning_rate, betas=(0.9, 0.999))
    generator = torch.Generator(device="cpu").manual_seed(seed)
    use_locality = locality_distance_weight > 0 or locality_l2_weight > 0
    target_d = for_distance(target)
    result = PTIResult(tuned, pivot.cpu())
    for step in range(num_steps):
        image = synthesize(tuned, pivot, noise_mode="const")
        rec = distance(for_distance(image), target_d).sum() + l2_weight * mse_distance(image, target).sum()
        loss = rec
        loc = torch.zeros([], device=device)
        if use_locality:
            with torch.no_grad():
                z = torch.randn([1, G.z_dim], generator=generator).to(device)
                c = torch.zeros([1, G.c_dim], device=device)
                w_z = original.mapping(z, c, truncation_psi=locality_psi)
                step_dir = w_z - pivot
                w_r = pivot + locality_alpha * step_dir / step_dir.norm(dim=-1, keepdim=True).clamp(min=1e-8)
                reference = synthesize(original, w_r, noise_mode="const")
            moved = synthesize(tuned, w_r, noise_mode="const")
            loc = (
                locality_distance_weight * distance(for_distance(moved), for_distance(reference)).sum()
                + locality_l2_weight * mse_distance(moved, reference).sum()
            )
            loss = loss + loc
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        result.losses.append(float(loss.detach()))
        result.reconstruction.append(float(rec.detach()))
        result.locality.append(float(loc.detach()))
        if progress is not None:
            progress(step + 1, num_steps, result.reconstruction[-1])
    tuned.requires_grad_(False).eval()
    result.G = tuned
    result.seconds = time.perf_counter() - start
    return result


@torch.no_grad()
def reconstruction_errors(G, ws: torch.Tensor, target, distance: Distance | None = None) -> dict[str, float]:
    """MSE (images in [-1, 1]) and, given ``distance``, that distance between G(ws) and ``target``."""
    device = next(G.synthesis.parameters()).device
    target = _target_tensor(G, target).unsqueeze(0).to(device)
    image = synthesize(G, ws.to(device), noise_mode="const")
    out = {"mse": float(mse_distance(image, target).sum())}
    if distance is not None:
        out["distance"] = float(distance(for_distance(image), for_distance(target)).sum())
    return out


PTI_FILES = (
    "projected_w.npz",
    "tuned.safetensors",
    "target.png",
    "pivot.png",
    "tuned.png",
    "side_by_side.png",
    "pti.json",
)


def pti_paths(outdir: str | Path) -> list[Path]:
    return [Path(outdir) / name for name in PTI_FILES]


@torch.no_grad()
def write_pti(
    G,
    result: PTIResult,
    pivot_w: torch.Tensor,
    target: np.ndarray,
    outdir: str | Path,
    distance: Distance | None = None,
    info: dict | None = None,
) -> dict:
    """Write the pivot (``projected_w.npz``, key ``w`` as ``stylegan project`` saves it), the tuned
    network (``tuned.safetensors``, naming ``G``'s fingerprint as ``pti_of``), ``target.png``,
    ``pivot.png`` (``G`` at the pivot), ``tuned.png``, ``side_by_side.png`` and ``pti.json`` (errors
    of ``G`` and of the tuned network at the pivot, ``info``, per-step losses). Returns the summary."""
    import stylegan
    from stylegan.editing.directions import network_fingerprint
    from stylegan.tools.media import save_json, save_npz
    from stylegan.utils.files import make_folder
    from stylegan.utils.images import save_png, to_uint8

    out = make_folder(outdir)
    device = next(G.synthesis.parameters()).device
    pivot = result.pivot.to(device)
    before = reconstruction_errors(G, pivot, target, distance)
    after = reconstruction_errors(result.G, pivot, target, distance)
    save_npz(out / "projected_w.npz", w=pivot_w.detach().cpu().numpy().astype(np.float32))
    stylegan.save(result.G, out / "tuned.safetensors", extra_metadata={"pti_of": network_fingerprint(G)})
    target = np.asarray(target, dtype=np.uint8)
    pivot_img = to_uint8(synthesize(G, pivot).cpu())[0]
    tuned_img = to_uint8(synthesize(result.G, pivot).cpu())[0]
    save_png(target, out / "target.png")
    save_png(pivot_img, out / "pivot.png")
    save_png(tuned_img, out / "tuned.png")
    save_png(np.concatenate([target, pivot_img, tuned_img], axis=1), out / "side_by_side.png")
    summary = {
        **(info or {}),
        "seconds": round(result.seconds, 3),
        "before": before,
        "after": after,
        "per_step": {
            "reconstruction": [float(f"{v:.6g}") for v in result.reconstruction],
            "locality": [float(f"{v:.6g}") for v in result.locality],
        },
    }
    save_json(out / "pti.json", json.dumps(summary, indent=1) + "\n")
    return summary
