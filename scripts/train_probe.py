"""Train the toyfaces probe (``stylegan.metrics.probe``) and write the weights the package ships.

    python scripts/train_probe.py --out src/stylegan/metrics/weights/toyfaces_probe.safetensors

Training faces are toyfaces indices [0, --train); held-out faces start at index 10**7, so no
test face was seen in training. Each training face is rendered at 32, 64 or 128 px and resized to
the probe's 64 px input, so the probe sees the three resampling paths that generated images of
any resolution take. On the fly: horizontal flips (yaw and roll change sign) and a little
Gaussian noise. Loss: cross-entropy for the categorical and binary factors, squared error for
yaw and roll. The script stops after --steps steps or --minutes minutes of this process's CPU
time (so a busy machine does not shorten training), whichever comes first, then prints the
held-out accuracy of every factor (and the mean absolute error of yaw and roll).
The shipped weights took about 10 CPU-minutes (one thread); pass --device cuda to use a GPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from stylegan.data import toyfaces
from stylegan.metrics.probe import INPUT_SIZE, ProbeHeads, ToyfacesProbe, resize_to_input, save_probe

HELD_OUT_START = 10**7
RESOLUTIONS = (32, 64, 128)
RESOLUTION_P = (0.25, 0.5, 0.25)


def render_set(
    indices: np.ndarray, rng: np.random.Generator | None = None, resolution: int | None = None, batch: int = 256
) -> torch.Tensor:
    """uint8 [N, 3, 64, 64] probe inputs of the given faces (random render resolution when ``rng``)."""
    out = torch.empty([len(indices), 3, INPUT_SIZE, INPUT_SIZE], dtype=torch.uint8)
    res = (
        rng.choice(RESOLUTIONS, size=len(indices), p=RESOLUTION_P)
        if rng is not None
        else np.full(len(indices), resolution)
    )
    for r in np.unique(res):
        where = np.nonzero(res == r)[0]
        for s in range(0, len(where), batch):
            chunk = where[s : s + batch]
            imgs = np.stack([toyfaces.render(int(indices[i]), int(r))[0] for i in chunk])
            x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
            out[torch.from_numpy(chunk)] = ((resize_to_input(x) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return out


def targets_of(indices: np.ndarray, heads: ProbeHeads) -> dict[str, torch.Tensor]:
    table = toyfaces.factor_table(indices)
    out = {}
    for name in heads.classes:
        out[name] = torch.from_numpy(np.asarray(table[name]).astype(np.int64))
    for name in heads.continuous:
        out[name] = torch.from_numpy(np.asarray(table[name], np.float32))
    return out


def loss_fn(pred: dict, target: dict, heads: ProbeHeads) -> torch.Tensor:
    loss = sum(F.cross_entropy(pred[n], target[n]) for n in heads.classes)
    return loss + sum(4 * F.mse_loss(pred[n], target[n]) for n in heads.continuous)


@torch.no_grad()
def evaluate(model: ToyfacesProbe, images: torch.Tensor, target: dict, device) -> dict[str, float]:
    """Accuracy per categorical/binary factor, mean absolute error per continuous factor."""
    model.eval()
    preds: dict[str, list] = {}
    for s in range(0, len(images), 256):
        x = images[s : s + 256].to(device).float() / 127.5 - 1
        for k, v in model(x).items():
            preds.setdefault(k, []).append(v.cpu())
    model.train()
    out = {}
    for k, v in preds.items():
        v = torch.cat(v)
        if k in model.heads.classes:
            out[k] = float((v.argmax(dim=1) == target[k]).float().mean())
        else:
            out[f"{k}_mae"] = float((v - target[k]).abs().mean())
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=24000, help="number of training faces")
    ap.add_argument("--test", type=int, default=2000, help="number of held-out faces")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--minutes", type=float, default=10.0, help="CPU-time budget for the training steps")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--noise", type=float, default=0.04, help="max std of the added Gaussian noise")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)
    heads = ProbeHeads.toyfaces()

    t0 = time.time()
    train_idx = np.arange(args.train)
    test_idx = HELD_OUT_START + np.arange(args.test)
    train_x, train_y = render_set(train_idx, rng), targets_of(train_idx, heads)
    test_x, test_y = render_set(test_idx, rng), targets_of(test_idx, heads)
    print(f"rendered {args.train} training and {args.test} held-out faces in {time.time() - t0:.0f} s", flush=True)

    model = ToyfacesProbe(heads).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    flip_sign = {n: -1.0 for n in ("yaw", "roll") if n in heads.continuous}
    start, cpu_start = time.time(), time.process_time()
    step = 0
    while step < args.steps and time.process_time() - cpu_start < args.minutes * 60:
        # Cosine learning-rate decay over the planned steps, or over the time budget when shorter.
        progress = max(step / args.steps, (time.process_time() - cpu_start) / (args.minutes * 60))
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        idx = torch.from_numpy(rng.integers(len(train_x), size=args.batch))
        x = train_x[idx].to(device).float() / 127.5 - 1
        y = {k: v[idx].to(device) for k, v in train_y.items()}
        flip = torch.from_numpy(rng.random(args.batch) < 0.5).to(device)
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        for name, sign in flip_sign.items():
            y[name] = torch.where(flip, sign * y[name], y[name])
        x = x + torch.randn_like(x) * (torch.rand([args.batch, 1, 1, 1], device=device) * args.noise)
        loss = loss_fn(model(x), y, heads)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 200 == 0:
            print(
                f"step {step} loss {loss.item():.4f} (cpu {time.process_time() - cpu_start:.0f} s, "
                f"wall {time.time() - start:.0f} s)",
                flush=True,
            )
    minutes = (time.process_time() - cpu_start) / 60
    scores = evaluate(model, test_x, test_y, device)
    print(
        json.dumps(
            dict(
                steps=step,
                cpu_minutes=round(minutes, 2),
                wall_minutes=round((time.time() - start) / 60, 2),
                held_out=scores,
            ),
            indent=1,
        )
    )
    model = model.cpu()
    save_probe(
        model,
        args.out,
        {
            "training": json.dumps(
                dict(
                    steps=step,
                    batch=args.batch,
                    train_faces=args.train,
                    cpu_minutes=round(minutes, 2),
                    seed=args.seed,
                    held_out_accuracy={k: round(v, 4) for k, v in scores.items()},
                )
            ),
            "toyfaces_sha256": hashlib.sha256(Path(toyfaces.__file__).read_bytes()).hexdigest(),
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
