"""Switch between the reference ops and their fast paths.

Every op in ``stylegan.ops`` has a reference formulation (the literal sequence of the papers'
operations, as in the official implementation) and, where one exists, a faster equivalent chosen
automatically: strided/transposed convolutions instead of zero insertion and subsampling,
channels-last memory layout for the depthwise filters and convolutions on the CPU, modulated
convolution as input/output scaling instead of a grouped convolution when the batch is larger
than one, fewer passes over memory in bias + activation. Each fast path is tested equal to the
reference (forward and gradients).

Force the reference with the environment variable ``STYLEGAN_REFERENCE_OPS=1`` or
``stylegan.ops.use_reference(True)`` (or, for a block of code, ``with stylegan.ops.reference_ops():``).
"""

from __future__ import annotations

import contextlib
import os

import torch

_reference = os.environ.get("STYLEGAN_REFERENCE_OPS", "0").strip().lower() not in ("", "0", "false", "no")


def use_reference(flag: bool = True) -> None:
    """Use the reference ops everywhere (``True``) or let the fast paths be chosen (``False``)."""
    global _reference
    _reference = bool(flag)


def reference_enabled() -> bool:
    """Whether the reference ops are forced."""
    return _reference


@contextlib.contextmanager
def reference_ops(flag: bool = True):
    """Context manager: the reference ops (``flag=True``) or the fast paths inside the block."""
    previous = _reference
    use_reference(flag)
    try:
        yield
    finally:
        use_reference(previous)


def prefers_channels_last(x: torch.Tensor) -> bool:
    """Whether convolutions on ``x`` should run in channels-last layout: on the CPU, where oneDNN's
    depthwise and dense convolutions are several times faster in it, or when ``x`` already is."""
    if _reference or x.ndim != 4:
        return False
    if x.device.type == "cpu":
        return x.dtype in (torch.float32, torch.bfloat16)
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def bfloat16_cpu(x: torch.Tensor) -> bool:
    """Whether ``x`` takes the bfloat16 CPU fast paths: bfloat16 activations on the CPU (a generator
    prepared with ``stylegan.utils.precision.prepare_inference``). Autocast keeps activations float32,
    so its ops are unaffected."""
    return not _reference and x.dtype == torch.bfloat16 and x.device.type == "cpu"


def as_channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x`` in channels-last layout when that is the faster one for it, else unchanged."""
    return x.contiguous(memory_format=torch.channels_last) if prefers_channels_last(x) else x
