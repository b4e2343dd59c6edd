"""Run in a subprocess by the export tests: load a network pickle with the official code's own
``legacy.load_network_pkl`` and save what its networks compute.

    python -m tests.io.official_runner OFFICIAL_ROOT PICKLE INPUTS.pt OUTPUTS.pt

OFFICIAL_ROOT is a checkout of NVlabs/stylegan3 or NVlabs/stylegan2-ada-pytorch, importable on a
CPU once the modules it imports but inference never uses are stubbed where missing
(``benchmarks._trainers._stub_missing_modules``). INPUTS.pt holds ``z``, ``c``, ``psi`` and ``img``;
OUTPUTS.pt gets ``images`` (G_ema, noise_mode='const', float32), ``logits`` (D, where the file
has one), the class of every network, and the same after pickling the loaded dict again and
loading that (what a snapshot of the official trainer would be).
"""

from __future__ import annotations

import io
import json
import pickle
import sys
from pathlib import Path


def main(root: str, pkl: str, inputs: str, outputs: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks._trainers import _stub_missing_modules

    sys.path.insert(0, str(Path(root)))
    _stub_missing_modules()  # requests, psutil, ... that the official modules import but inference never uses
    import legacy  # the official code's, from root; on CPU tensors its ops run their reference paths
    import torch

    x = torch.load(inputs)
    with open(pkl, "rb") as f:
        data = legacy.load_network_pkl(f)
    again = legacy.load_network_pkl(io.BytesIO(pickle.dumps(data)))
    out = {}
    for tag, nets in (("", data), ("again_", again)):
        with torch.no_grad():
            out[tag + "images"] = nets["G_ema"](
                x["z"], x["c"], truncation_psi=x["psi"], noise_mode="const", force_fp32=True
            )
            try:
                out[tag + "logits"] = nets["D"](x["img"], x["c"], force_fp32=True)
            except RuntimeError as e:
                out[tag + "d_error"] = str(e)
        out[tag + "classes"] = {
            k: f"{type(v).__module__}.{type(v).__name__}" for k, v in nets.items() if isinstance(v, torch.nn.Module)
        }
    src = type(again["G_ema"])._orig_module_src  # the source a snapshot of the official trainer would carry
    out["official_module_src"] = (
        "networks_stylegan3"
        if "class SynthesisInput" in src
        else "networks_stylegan2"
        if "class SynthesisBlock" in src
        else "other"
    )
    out["init_kwargs"] = json.loads(json.dumps(data["G_ema"].init_kwargs))  # EasyDicts -> dicts
    torch.save(out, outputs)


if __name__ == "__main__":
    main(*sys.argv[1:])
