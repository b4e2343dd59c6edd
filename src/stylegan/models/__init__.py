"""Networks of every generation, built from frozen dataclass configs (see ``configs``)."""

from stylegan.models.configs import ModelSpec, build_preset, preset_names
from stylegan.models.generator import GeneratorBase, mix_styles
from stylegan.models.mapping import MappingConfig, MappingNetwork
from stylegan.models.registry import NETWORKS, build
from stylegan.models.stylegan1 import (
    StyleGAN1Discriminator,
    StyleGAN1DiscriminatorConfig,
    StyleGAN1Generator,
    StyleGAN1GeneratorConfig,
)
from stylegan.models.stylegan2 import (
    StyleGAN2Discriminator,
    StyleGAN2DiscriminatorConfig,
    StyleGAN2Generator,
    StyleGAN2GeneratorConfig,
)
from stylegan.models.stylegan3 import StyleGAN3Generator, StyleGAN3GeneratorConfig

__all__ = [
    "NETWORKS",
    "GeneratorBase",
    "MappingConfig",
    "MappingNetwork",
    "ModelSpec",
    "StyleGAN1Discriminator",
    "StyleGAN1DiscriminatorConfig",
    "StyleGAN1Generator",
    "StyleGAN1GeneratorConfig",
    "StyleGAN2Discriminator",
    "StyleGAN2DiscriminatorConfig",
    "StyleGAN2Generator",
    "StyleGAN2GeneratorConfig",
    "StyleGAN3Generator",
    "StyleGAN3GeneratorConfig",
    "build",
    "build_preset",
    "mix_styles",
    "preset_names",
]
