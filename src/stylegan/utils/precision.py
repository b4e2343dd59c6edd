"""Numeric precision of a run: float32, or bfloat16 mixed precision on CPUs that compute it natively.

``--precision fp32|bf16|auto``:

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
import functools

import torch

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
