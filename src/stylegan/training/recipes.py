"""Training recipes: which defaults fill the options a user leaves out.

- ``paper``: the preset's own defaults, those of the official trainers (``PRESET_DEFAULTS``).
- ``small``: the settings measured to learn fastest when the network is small enough for a CPU
  (docs/training.md, "Small-scale settings for toyfaces, measured"): 32 channels at every
  resolution, z and w of 32, mapping depth 2, batch 8, learning rates 0.005, R1 gamma 0.2, G EMA
  half-life 5 kimg, no path-length regularisation, no style mixing, no augmentation, and for
  StyleGAN no progressive growing. Measured for ``stylegan2`` (toyfaces 32 px, probe FID 320 at 160
  kimg against 422 for the preset's defaults at the same capacity and learning rate; 214 at 320 kimg)
  and for ``stylegan1-pin``; refused for the StyleGAN3 presets, where it has not been measured.

A recipe only fills what the user did not give: ``--recipe small --gamma 1`` keeps gamma 1.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from stylegan.errors import UserError

Options = TypeVar("Options", bound=Any)  # training.options.TrainingOptions (not imported: it imports this)

RECIPES = ("paper", "small")

SMALL: dict[str, object] = dict(
    cbase=1024,
    cmax=32,
    map_depth=2,
    z_dim=32,
    w_dim=32,
    batch=8,
    glr=0.005,
    dlr=0.005,
    gamma=0.2,
    ema_kimg=5.0,
    style_mixing=0.0,
    pl_weight=0.0,
    aug="none",
    progressive=False,
)
SMALL_PRESETS = ("stylegan1", "stylegan1-pin", "stylegan2")


def apply_recipe(opts: Options) -> Options:
    """``opts`` with every option it leaves out (``None``) taken from its recipe; ``paper`` leaves
    them to the preset's defaults."""
    if opts.recipe not in RECIPES:
        raise UserError(f"--recipe must be one of {', '.join(RECIPES)}, got {opts.recipe!r}")
    if opts.recipe == "paper":
        return opts
    if opts.cfg not in SMALL_PRESETS:
        raise UserError(
            f"--recipe small is measured for {', '.join(SMALL_PRESETS)} only (--cfg {opts.cfg}); "
            "give the options yourself or use --recipe paper"
        )
    return dataclasses.replace(opts, **{k: v for k, v in SMALL.items() if getattr(opts, k) is None})
