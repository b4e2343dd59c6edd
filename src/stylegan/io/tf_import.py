"""One dispatcher for the official TensorFlow networks (StyleGAN, StyleGAN2, StyleGAN2-ADA): a
network's ``build_func_name`` picks its importer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from stylegan.errors import CheckpointError
from stylegan.io.tf_stylegan1 import import_tf_stylegan1, import_tf_stylegan1_discriminator
from stylegan.io.tf_stylegan2 import (
    DISCRIMINATOR_FUNCS,
    GENERATOR_FUNCS,
    import_tf_stylegan2,
    import_tf_stylegan2_discriminator,
)

# build_func_name of an official TensorFlow network -> its importer.
TF_IMPORTERS: dict[str, Callable[[Any], torch.nn.Module]] = {
    "G_style": import_tf_stylegan1,
    "D_basic": import_tf_stylegan1_discriminator,
    **{name: import_tf_stylegan2 for name in sorted(GENERATOR_FUNCS)},
    **{name: import_tf_stylegan2_discriminator for name in sorted(DISCRIMINATOR_FUNCS)},
}


def import_tf_network(net) -> torch.nn.Module:
    """Import any official TensorFlow network (by its ``build_func_name``)."""
    name = str(getattr(net, "build_func_name", "")).split(".")[-1]
    if name not in TF_IMPORTERS:
        raise CheckpointError(f"no importer for TensorFlow networks built by {name!r}; known: {sorted(TF_IMPORTERS)}")
    return TF_IMPORTERS[name](net)
