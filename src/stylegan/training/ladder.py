"""The StyleGAN3 paper's configuration ladder (Figure 3 and Section 3.2) as ``stylegan train`` options.

Each rung adds one change to the one before; ``LADDER[name]`` holds the rung's description and
the ``TrainingOptions`` fields that differ from their defaults (everything else, capacity and
duration included, is left to the user). A-D train the StyleGAN2 generator with two extra
switches (``--fourier-input``, ``--magnitude-norm``), E-H the StyleGAN3 generator laid out as
StyleGAN2 (``--g-layers stylegan2``), T and R are the ``stylegan3-t`` and ``stylegan3-r`` presets.
The table in docs/training.md is this dictionary.
"""

from __future__ import annotations

from typing import Any

from stylegan.errors import UserError
from stylegan.training.options import flag

_C = dict(cfg="stylegan2", fourier_input=True, noise=False)
_G = dict(cfg="stylegan3-t", g_layers="stylegan2", fourier_transform=False)

LADDER: dict[str, tuple[str, dict[str, Any]]] = {
    "A": ("StyleGAN2", dict(cfg="stylegan2")),
    "B": ("+ Fourier features", dict(cfg="stylegan2", fourier_input=True)),
    "C": ("+ no noise inputs", _C),
    "D": (
        "+ simplified generator",
        {**_C, "map_depth": 2, "style_mixing": 0.0, "pl_weight": 0.0, "g_arch": "orig", "magnitude_norm": True},
    ),
    "E": ("+ boundaries and upsampling", {**_G, "critical_sampling": True, "filtered_lrelu": False}),
    "F": ("+ filtered nonlinearities", {**_G, "critical_sampling": True}),
    "G": ("+ non-critical sampling", _G),
    "H": ("+ transformed Fourier features", dict(cfg="stylegan3-t", g_layers="stylegan2")),
    "T": ("+ flexible layers (StyleGAN3-T)", dict(cfg="stylegan3-t")),
    "R": ("+ rotation equivariance (StyleGAN3-R)", dict(cfg="stylegan3-r")),
}


def ladder_options(name: str) -> dict[str, Any]:
    """The ``TrainingOptions`` fields of rung ``name`` (A-H, T, R) that differ from the defaults."""
    if name not in LADDER:
        raise UserError(f"unknown configuration {name!r} of the StyleGAN3 ladder; choose from {', '.join(LADDER)}")
    return dict(LADDER[name][1])


def ladder_args(name: str) -> list[str]:
    """``stylegan train`` options of rung ``name``: ``['--cfg', 'stylegan2', '--fourier-input', '1', ...]``."""
    args = []
    for key, value in ladder_options(name).items():
        args += [
            flag(key),
            str(int(value)) if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value),
        ]
    return args
