"""A generator as one inference graph for other runtimes: ONNX (onnxruntime, ...) and TorchScript.

The graph is mapping + synthesis with a fixed truncation psi (cutoff) and noise mode: inputs
``z`` [N, z_dim] (and ``c`` [N, c_dim] for a conditional generator), output ``img``
[N, C, H, W] in [-1, 1], float32, any batch size N. Noise modes: ``const`` (the generator's
stored noise maps, what the official ``gen_images.py`` uses by default) and ``none``; per-sample
random noise has no deterministic graph and is not offered.

ONNX uses PyTorch's ``torch.export``-based exporter (needs the ``onnx`` and ``onnxscript``
packages: ``pip install stylegan[export]``); TorchScript ``torch.jit.trace``. Each export is
checked on fresh inputs against the generator it came from (``verify_*``: the max abs difference).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
from torch import nn

from stylegan.errors import UserError
from stylegan.utils.files import atomic_write

NOISE_MODES = ("const", "none")
ONNX_PACKAGES = ("onnx", "onnxscript")


class InferenceGenerator(nn.Module):
    """``G`` with its truncation and noise mode fixed: ``forward(z[, c]) -> img``."""

    def __init__(
        self, G: nn.Module, truncation_psi: float = 1.0, truncation_cutoff: int | None = None, noise_mode: str = "const"
    ):
        super().__init__()
        if noise_mode not in NOISE_MODES:
            raise UserError(f"noise mode {noise_mode!r} cannot be exported (choose one of {', '.join(NOISE_MODES)})")
        if not hasattr(G, "mapping") or not hasattr(G, "synthesis"):
            raise UserError(f"only a generator can be exported for inference, not a {type(G).__name__}")
        self.G = G.eval().requires_grad_(False)
        self.psi, self.cutoff, self.noise_mode = float(truncation_psi), truncation_cutoff, noise_mode
        self.conditional = G.c_dim > 0

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(
            z,
            c if self.conditional else None,
            truncation_psi=self.psi,
            truncation_cutoff=self.cutoff,
            noise_mode=self.noise_mode,
        )

    def example_inputs(self, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn([batch, self.G.z_dim], generator=gen)
        if not self.conditional:
            return (z,)
        c = torch.zeros([batch, self.G.c_dim])
        c[torch.arange(batch), torch.randint(self.G.c_dim, [batch], generator=gen)] = 1
        return z, c

    def input_names(self) -> list[str]:
        return ["z", "c"] if self.conditional else ["z"]


def onnx_available() -> str | None:
    """None if ONNX export can run here, else what is missing."""
    missing = [p for p in ONNX_PACKAGES if importlib.util.find_spec(p) is None]
    return f"ONNX export needs {' and '.join(missing)} (pip install 'stylegan[export]')" if missing else None


def onnxruntime_available() -> bool:
    """Whether onnxruntime (which ``verify_onnx`` runs) is installed."""
    return importlib.util.find_spec("onnxruntime") is not None


def export_onnx(net: InferenceGenerator, path: str | Path, opset: int = 20) -> Path:
    """Write ``net`` as an ONNX model with a dynamic batch dimension."""
    missing = onnx_available()
    if missing:
        raise UserError(missing)
    inputs = net.example_inputs()
    batch = torch.export.Dim("batch", min=1, max=65536)
    shapes = tuple({0: batch} for _ in inputs)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                net,
                inputs,
                dynamo=True,
                input_names=net.input_names(),
                output_names=["img"],
                dynamic_shapes=shapes,
                opset_version=opset,
                verbose=False,
            )
    except Exception as e:  # noqa: BLE001  (the exporter fails in many ways; one line names it)
        first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
        raise UserError(f"ONNX export of this {net.G.kind} failed in PyTorch's exporter: {first[:300]}") from None

    def save(tmp: str) -> None:
        program.save(tmp)

    return atomic_write(path, save)


def export_torchscript(net: InferenceGenerator, path: str | Path) -> Path:
    """Write ``net`` traced with ``torch.jit.trace`` (any batch size; ``torch.jit.load`` opens it)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net, net.example_inputs(), check_trace=False)

    def save(tmp: str) -> None:
        traced.save(tmp)

    return atomic_write(path, save)


@torch.no_grad()
def verify_onnx(net: InferenceGenerator, path: str | Path, batch: int = 3, seed: int = 1) -> float:
    """Max abs difference between onnxruntime running ``path`` and ``net`` on fresh inputs."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError("verifying an ONNX export needs onnxruntime (pip install 'stylegan[export]')") from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = net.example_inputs(batch, seed)
    out = session.run(None, {name: x.numpy() for name, x in zip(net.input_names(), inputs)})[0]
    return float((torch.from_numpy(out) - net(*inputs)).abs().max())


@torch.no_grad()
def verify_torchscript(net: InferenceGenerator, path: str | Path, batch: int = 3, seed: int = 1) -> float:
    """Max abs difference between ``torch.jit.load(path)`` and ``net`` on fresh inputs."""
    loaded = torch.jit.load(str(path), map_location="cpu")
    inputs = net.example_inputs(batch, seed)
    return float((loaded(*inputs) - net(*inputs)).abs().max())
