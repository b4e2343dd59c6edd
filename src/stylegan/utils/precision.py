"""Numeric precision of a run: float32, or bfloat16 on CPUs that compute it natively.

Inference (``generate``, ``mix``, ``video``, ``project``, ``metrics``, ``analyze``; ``prepare_inference``):

- ``fp32`` (default): the network as it is.
- ``bf16``: a copy of the generator whose synthesis weights are cast to bfloat16 once, so that its
  activations are bfloat16 and channels-last and every convolution, FIR filter and filtered leaky ReLU
  runs in bfloat16 (the ops' bfloat16 CPU paths). The mapping network, the affine layers that turn w
  into styles, StyleGAN3's Fourier input, the demodulation coefficients and StyleGAN's instance/pixel
  norm statistics stay float32; images come back float32. CPU only.
- ``auto``: ``bf16`` on a CPU with bfloat16 arithmetic for networks large enough that it was measured
  faster there (``resolve_inference_precision``), else ``fp32``.

Training, ``--precision fp32|bf16|auto``:

- ``fp32``: every op in float32 (on CUDA the networks' own float16 layers, ``num_fp16_res``, still apply
  unless ``--fp32 1``).
- ``bf16``: the forward passes run under ``torch.autocast("cpu", dtype=torch.bfloat16)``: convolutions and
  matrix products in bfloat16, parameters, optimiser state, losses and regularisers in float32. CPU only;
  on CUDA the float16 layers are the mixed precision (refused there with a clear message).
- ``auto``: ``bf16`` when the device is the CPU and the CPU has bfloat16 arithmetic (AVX512-BF16 or
  AMX-BF16), else ``fp32``.
"""

from __future__ import annotations

import contextlib
import copy
import functools

import torch
from torch import nn

from stylegan.errors import UserError

PRECISIONS = ("fp32", "bf16", "auto")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether this CPU does bfloat16 arithmetic natively (AVX512-BF16 or AMX-BF16).

    Read from the ``flags`` of /proc/cpuinfo (Linux); elsewhere oneDNN's own check, when this PyTorch
    has it (``torch.backends.cpu.get_cpu_capability()`` says "AVX512" whether or not BF16 is there)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return any(flag in flags for flag in BF16_CPU_FLAGS)
    except OSError:
        pass
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except Exception:  # noqa: BLE001  (an old or unusual build: no native bfloat16)
        return False


def resolve_precision(precision: str, device_type: str) -> str:
    """``fp32`` or ``bf16`` for ``precision`` on a device of ``device_type`` ("cpu", "cuda", ...)."""
    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bf16" if device_type == "cpu" and cpu_has_bf16() else "fp32"
    if precision == "bf16" and device_type != "cpu":
        raise UserError(
            f"--precision bf16 is for training on the CPU; on {device_type} the networks' float16 layers are the "
            "mixed precision (--fp32 1 turns them off). Use --precision fp32 or auto."
        )
    return precision


def autocast(precision: str, device_type: str = "cpu"):
    """The autocast context of a resolved ``precision`` (a no-op context for ``fp32``)."""
    if precision == "bf16":
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# Buffers added to activations (constant noise) are cast with the weights; filters stay float32
# (``upfirdn2d`` builds its depthwise kernel from them on each call anyway).
_BFLOAT16_BUFFERS = ("noise_const",)


# ``auto`` picks bf16 for generators with at least this many synthesis convolution weights: there bfloat16 was
# measured faster (every full-capacity preset at 64 px and above, 1.5-2.5x); for the small shipped 32 px
# networks (0.1 M weights) it was as often slower (0.86x at batch 1) as faster (docs/performance.md).
AUTO_BF16_MIN_CONV_WEIGHTS = 1_000_000


def resolve_inference_precision(precision: str, device_type: str, G: nn.Module | None = None) -> str:
    """``fp32`` or ``bf16`` for inference with ``precision`` on a device of ``device_type``.

    ``auto`` is ``bf16`` only on a CPU with native bfloat16 arithmetic (``cpu_has_bf16``) and, given the
    generator ``G``, only when its synthesis network has at least ``AUTO_BF16_MIN_CONV_WEIGHTS`` convolution
    weights (where bfloat16 was measured faster); elsewhere ``fp32``."""
    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        large = G is None or sum(p.numel() for p in G.synthesis.parameters() if p.ndim == 4) >= (
            AUTO_BF16_MIN_CONV_WEIGHTS
        )
        return "bf16" if device_type == "cpu" and cpu_has_bf16() and large else "fp32"
    if precision == "bf16" and device_type != "cpu":
        raise UserError(
            f"--precision bf16 is bfloat16 inference on the CPU; on {device_type} use --precision fp32 or auto"
        )
    return precision


def prepare_inference(G: nn.Module, precision: str) -> nn.Module:
    """``G`` for ``fp32``; for ``bf16`` a copy of ``G`` for inference (eval mode, no parameter gradients)
    whose synthesis network computes in bfloat16.

    Its convolution weights, biases, constants and constant noise are cast to bfloat16 here, once: the
    layers then compute in the dtype of their weights, and ``.to(x.dtype)`` on a weight costs nothing
    per call (autocast instead casts every frozen weight again on every call). Float32 stay: the layers
    that map the float32 w (affines, StyleGAN3's Fourier input), StyleGAN's layer epilogue (noise, bias,
    normalisation and style in float32, since the normalisation subtracts the mean) and the filters.
    Gradients still flow to the inputs (projection)."""
    from stylegan.layers.adain import LayerEpilogue
    from stylegan.layers.equalized import FullyConnectedLayer
    from stylegan.layers.fourier import FourierFeatureInput
    from stylegan.layers.wscale import WScaleDense

    if precision == "fp32":
        return G
    if precision != "bf16":
        raise ValueError(f"precision must be 'fp32' or 'bf16', got {precision!r}")
    G = copy.deepcopy(G).eval().requires_grad_(False)
    kept = {
        id(t)
        for m in G.synthesis.modules()
        if isinstance(m, (FullyConnectedLayer, FourierFeatureInput, LayerEpilogue, WScaleDense))
        for t in [*m.parameters(), *m.buffers()]
    }
    for module in G.synthesis.modules():
        for name, param in list(module.named_parameters(recurse=False)):
            if param.is_floating_point() and id(param) not in kept:
                value = param.detach().to(torch.bfloat16)
                if value.ndim == 4:  # convolutions on channels-last activations would convert NCHW weights per call
                    value = value.contiguous(memory_format=torch.channels_last)
                setattr(module, name, nn.Parameter(value, requires_grad=False))
        for name, buffer in list(module.named_buffers(recurse=False)):
            if name in _BFLOAT16_BUFFERS and buffer.is_floating_point() and id(buffer) not in kept:
                setattr(module, name, buffer.to(torch.bfloat16))
    return G
