"""Side-by-side CPU/GPU timing against the official StyleGAN2/3 PyTorch code (NVlabs/stylegan3).

The official code is not part of this repository. Get it with
``git clone https://github.com/NVlabs/stylegan3 /tmp/official`` (or any copy of its ``training/``,
``torch_utils/`` and ``dnnlib/`` folders) and pass that folder:

    python benchmarks/vs_official.py --official /tmp/official
    python benchmarks/vs_official.py --official /tmp/official --presets stylegan2 --res 256 --reps 7

On the CPU the official code runs its reference ops (its CUDA plugins are CUDA-only). For each
preset the official networks are built with random weights and ours are loaded from their state
dicts with ``stylegan.io.official.import_official``, so both compute the same function (the
script checks that the images agree). Then generator inference (mapping + synthesis) and one
training step (G forward, D forward, non-saturating loss, backward through D and G) are timed
alternately, A/B/B/A..., ``--reps`` times each, and the medians and ratios are printed and written
to ``benchmarks/results/vs_official-<device>.json`` with the machine's load average.

``--precision fp32,bf16`` times our generator in each precision in the same interleaved loop (bf16:
``stylegan.utils.precision.prepare_inference``; the official network always runs in float32) and
reports the PSNR of our bf16 images against the official float32 ones.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from stylegan.utils.precision import prepare_inference

RESULTS = Path(__file__).resolve().parent / "results"


def official_kwargs(preset: str, res: int) -> tuple[str, dict, dict]:
    """Official class name, G kwargs and D kwargs equal to our preset ``preset`` at ``res``."""
    common = dict(z_dim=512, c_dim=0, w_dim=512, img_resolution=res, img_channels=3)
    d_kwargs = dict(
        c_dim=0,
        img_resolution=res,
        img_channels=3,
        architecture="resnet",
        channel_max=512,
        num_fp16_res=4,
        conv_clamp=256,
        epilogue_kwargs=dict(mbstd_group_size=4),
    )
    if preset == "stylegan2":
        base = 32768 if res >= 512 else 16384
        g = dict(
            common,
            mapping_kwargs=dict(num_layers=8, w_avg_beta=0.995),
            channel_base=base,
            channel_max=512,
            num_fp16_res=4,
            conv_clamp=256,
            architecture="skip",
            fused_modconv_default="inference_only",
        )
        return "networks_stylegan2.Generator", g, dict(d_kwargs, channel_base=base)
    if preset in ("stylegan3-t", "stylegan3-r"):
        is_r = preset.endswith("r")
        g = dict(
            common,
            mapping_kwargs=dict(num_layers=2, w_avg_beta=0.998),
            channel_base=65536 if is_r else 32768,
            channel_max=1024 if is_r else 512,
            num_fp16_res=4,
            conv_clamp=256,
            conv_kernel=1 if is_r else 3,
            use_radial_filters=is_r,
            magnitude_ema_beta=0.999,
        )
        return "networks_stylegan3.Generator", g, dict(d_kwargs, channel_base=32768)
    raise SystemExit(f"unsupported preset {preset!r} (stylegan2, stylegan3-t, stylegan3-r)")


def build_pair(official_root: Path, preset: str, res: int):
    """(official G, official D, our G, our D) with identical weights."""
    sys.path.insert(0, str(official_root))
    import training.networks_stylegan2 as official_sg2  # noqa: PLC0415  (from the given folder only)
    import training.networks_stylegan3 as official_sg3  # noqa: PLC0415

    from stylegan.io.official import import_official

    class_name, g_kwargs, d_kwargs = official_kwargs(preset, res)
    module = official_sg3 if class_name.startswith("networks_stylegan3") else official_sg2
    torch.manual_seed(0)
    G_off = module.Generator(**g_kwargs)
    D_off = official_sg2.Discriminator(**d_kwargs)
    with torch.no_grad():  # non-trivial biases and noise so that every parameter matters
        for name, p in G_off.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.1)
    G_ours = import_official(class_name, g_kwargs, G_off.state_dict())
    D_ours = import_official("networks_stylegan2.Discriminator", d_kwargs, D_off.state_dict())
    return G_off.eval(), D_off.eval(), G_ours.eval(), D_ours.eval()


def timed(fn, sync) -> float:
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def interleaved(fns: dict, reps: int, sync) -> dict[str, list[float]]:
    """Time each function ``reps`` times, alternating the order (A B, B A, ...)."""
    names = list(fns)
    times = {n: [] for n in names}
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            times[name].append(timed(fns[name], sync))
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--official", required=True, type=Path, help="folder holding the official training/ torch_utils/")
    p.add_argument("--presets", default="stylegan2,stylegan3-t")
    p.add_argument("--res", type=int, default=256)
    p.add_argument("--batch", type=int, default=4, help="inference batch size")
    p.add_argument("--train-batch", type=int, default=4)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--train-reps", type=int, default=None, help="repetitions of the training step (default --reps)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--skip-train", action="store_true")
    p.add_argument(
        "--precision",
        default="fp32",
        help="our inference precisions, e.g. fp32,bf16 (bf16: stylegan.utils.precision.prepare_inference; the "
        "official network always runs float32); the training step is float32",
    )
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if not (args.official / "training" / "networks_stylegan2.py").is_file():
        raise SystemExit(f"{args.official} does not hold training/networks_stylegan2.py (see --help)")

    device = torch.device(args.device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    rows = []
    load_before = os.getloadavg()
    for preset in args.presets.split(","):
        G_off, D_off, G_ours, D_ours = (m.to(device) for m in build_pair(args.official, preset, args.res))
        torch.manual_seed(1)
        z = torch.randn(args.batch, 512, device=device)
        with torch.no_grad():
            img_off = G_off(z, None, noise_mode="const")
            img_ours = G_ours(z, None, noise_mode="const")
        diff = (img_off - img_ours).abs().max().item()

        def infer(G, z=z):
            def run():
                with torch.no_grad():
                    G(z, None, noise_mode="const")

            return run

        ours = {"ours" if prec == "fp32" else f"ours_{prec}": prec for prec in args.precision.split(",")}
        fns = {"official": infer(G_off)}
        row = dict(preset=preset, resolution=args.res, batch=args.batch, max_abs_image_diff=diff)
        for name, prec in ours.items():
            G_prec = prepare_inference(G_ours, prec)
            fns[name] = infer(G_prec)
            if prec != "fp32":
                with torch.no_grad():
                    mse = (G_prec(z, None, noise_mode="const") - img_off).square().mean().item()
                row[f"psnr_{name}_vs_official_db"] = 10 * math.log10(4 / mse)
        times = interleaved(fns, args.reps, sync)
        for name, ts in times.items():
            row[f"infer_{name}_s"] = statistics.median(ts)
            row[f"infer_{name}_all_s"] = ts
        for name in ours:
            row[f"infer_speedup{name[4:]}"] = row["infer_official_s"] / row[f"infer_{name}_s"]
            print(
                f"{preset} {args.res}px batch {args.batch}: images differ by {diff:.2e}; inference "
                f"official {args.batch / row['infer_official_s']:.2f} img/s, {name} "
                f"{args.batch / row[f'infer_{name}_s']:.2f} img/s -> {row[f'infer_speedup{name[4:]}']:.2f}x",
                flush=True,
            )

        if not args.skip_train:
            zt = torch.randn(args.train_batch, 512, device=device)

            def train_step(G, D, zt=zt):
                G.train()
                D.train()

                def run():
                    img = G(zt, None, noise_mode="const")
                    loss = F.softplus(-D(img, None)).mean()
                    loss.backward()
                    for m in (G, D):
                        for q in m.parameters():
                            q.grad = None

                return run

            times = interleaved(
                {"official": train_step(G_off, D_off), "ours": train_step(G_ours, D_ours)},
                args.train_reps or args.reps,
                sync,
            )
            for name, ts in times.items():
                row[f"train_{name}_s"] = statistics.median(ts)
                row[f"train_{name}_all_s"] = ts
            row["train_speedup"] = row["train_official_s"] / row["train_ours_s"]
            print(
                f"{preset} {args.res}px training step batch {args.train_batch}: official "
                f"{row['train_official_s']:.2f} s, ours {row['train_ours_s']:.2f} s -> {row['train_speedup']:.2f}x",
                flush=True,
            )
        rows.append(row)

    info = dict(
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
        if device.type == "cpu"
        else torch.cuda.get_device_name(device),
        device=str(device),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        loadavg_before=load_before,
        loadavg_after=os.getloadavg(),
        reps=args.reps,
        results=rows,
    )
    out = Path(args.out) if args.out else RESULTS / f"vs_official-{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=2))
    print(f"load average before {load_before}, after {info['loadavg_after']}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
