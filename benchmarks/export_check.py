"""How exactly the exports of ``stylegan export`` compute what our networks compute, in the other tools.

    python benchmarks/export_check.py --official /tmp/stylegan3 --official-ada /tmp/stylegan2-ada-pytorch \
        --rosinality /tmp/rosinality-stylegan2-pytorch

For each network: export, load with the other tool's own code (official ``legacy.load_network_pkl``
of StyleGAN3 and, for StyleGAN2 networks, of StyleGAN2-ADA-PyTorch
and rosinality's ``Generator``/``Discriminator`` ``load_state_dict``, each in a subprocess through
``tests/io/official_runner.py`` / ``tests/io/rosinality_runner.py``; onnxruntime; ``torch.jit.load``),
run 8 fixed latents (truncation 0.7, constant noise) and report the max abs difference of the images
(in [-1, 1]) and of D's logits from ours. Networks: the shipped ``toyfaces-stylegan2-32`` (trained;
``num_fp16_res=4``, ``conv_clamp=256``: the official code is run with ``force_fp32``), the official
snapshots of ``../shared/reference`` where present, and a rosinality-shaped StyleGAN2 (8 px, 512
channels, random weights). Results go to ``benchmarks/results/export_check-cpu.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def run_runner(module: str, root: Path, path: Path, inputs: dict, tmp: Path) -> dict:
    torch.save(inputs, tmp / "in.pt")
    proc = subprocess.run(
        [sys.executable, "-m", module, str(root), str(path), str(tmp / "in.pt"), str(tmp / "out.pt")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{module} failed:\n{proc.stderr[-3000:]}")
    return torch.load(tmp / "out.pt", weights_only=False)


def diff(a, b) -> float:
    return float((a - b).abs().max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--official", type=Path, help="checkout of NVlabs/stylegan3")
    p.add_argument("--official-ada", type=Path, help="checkout of NVlabs/stylegan2-ada-pytorch")
    p.add_argument("--rosinality", type=Path, help="checkout of rosinality/stylegan2-pytorch")
    p.add_argument("--reference", type=Path, default=REPO.parent / "shared" / "reference")
    args = p.parse_args()

    from stylegan.io import load_networks
    from stylegan.io.export_inference import (
        InferenceGenerator,
        export_onnx,
        export_torchscript,
        onnx_available,
        verify_onnx,
        verify_torchscript,
    )
    from stylegan.io.export_official import write_official_snapshot
    from stylegan.io.export_rosinality import rosinality_checkpoint
    from stylegan.models import StyleGAN2Discriminator, StyleGAN2Generator
    from stylegan.models.mapping import MappingConfig
    from stylegan.models.stylegan2 import StyleGAN2DiscriminatorConfig, StyleGAN2GeneratorConfig

    sources = {"toyfaces-stylegan2-32": "toyfaces-stylegan2-32"}
    for name in ("sg2_snapshot_sanitized.pkl", "sg3_snapshot_sanitized.pkl"):
        if (args.reference / name).exists():
            sources[name] = args.reference / name
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, src in sources.items():
            nets = load_networks(src)
            G = nets.get("G_ema", nets.get("G"))
            gen = torch.Generator().manual_seed(0)
            c = torch.zeros(8, G.c_dim)
            x = dict(
                z=torch.randn(8, G.z_dim, generator=gen),
                c=c,
                psi=0.7,
                img=torch.randn(8, G.img_channels, G.img_resolution, G.img_resolution, generator=gen),
            )
            with torch.no_grad():
                ours = G(x["z"], c, truncation_psi=0.7, noise_mode="const")
            for code, root in (("stylegan3", args.official), ("stylegan2-ada-pytorch", args.official_ada)):
                if root is None or (code != "stylegan3" and G.kind != "stylegan2.generator"):
                    continue
                pkl = write_official_snapshot(nets, tmp / "network-snapshot.pkl")
                out = run_runner("tests.io.official_runner", root, pkl, x, tmp)
                row = {"network": label, "format": f"official-pytorch ({code})", "images": diff(out["images"], ours)}
                if "D" in nets:
                    with torch.no_grad():
                        row["logits"] = diff(out["logits"], nets["D"](x["img"], c))
                rows.append(row)
            net = InferenceGenerator(G, truncation_psi=0.7, noise_mode="const")
            export_torchscript(net, tmp / "g.pt")
            rows.append({"network": label, "format": "torchscript", "images": verify_torchscript(net, tmp / "g.pt", 8)})
            if onnx_available() is None:
                export_onnx(net, tmp / "g.onnx")
                rows.append({"network": label, "format": "onnx", "images": verify_onnx(net, tmp / "g.onnx", 8)})
        if args.rosinality:
            torch.manual_seed(0)
            G = StyleGAN2Generator(
                StyleGAN2GeneratorConfig(
                    z_dim=64,
                    w_dim=64,
                    img_resolution=8,
                    channel_base=32768,
                    channel_max=512,
                    num_fp16_res=0,
                    conv_clamp=None,
                    mapping=MappingConfig(num_layers=4),
                )
            ).eval()
            D = StyleGAN2Discriminator(
                StyleGAN2DiscriminatorConfig(
                    img_resolution=8, channel_base=32768, channel_max=512, num_fp16_res=0, conv_clamp=None
                )
            ).eval()
            ckpt = rosinality_checkpoint({"G_ema": G, "D": D})
            torch.save(ckpt, tmp / "r.pt")
            z = torch.randn(8, 64, generator=torch.Generator().manual_seed(0))
            out = run_runner("tests.io.rosinality_runner", args.rosinality, tmp / "r.pt", {"z": z}, tmp)
            with torch.no_grad():
                ours = G(z, None, truncation_psi=0.7, noise_mode="const")
                rows.append(
                    {
                        "network": "rosinality-shaped 8 px (random)",
                        "format": "rosinality",
                        "images": diff(out["images"], ours),
                        "logits": diff(out["logits"], D(out["images"])),
                    }
                )
    for row in rows:
        extra = f", D logits {row['logits']:.3g}" if "logits" in row else ""
        print(f"{row['format']:40s} {row['network']:34s} images {row['images']:.3g}{extra}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "export_check-cpu.json").write_text(json.dumps({"torch": torch.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
