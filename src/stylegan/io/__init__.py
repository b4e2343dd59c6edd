"""Checkpoints: the native format and importers of official and community checkpoints."""

from stylegan.io.loading import detect_format, load_network, load_networks
from stylegan.io.official import import_official, translate_official

__all__ = ["detect_format", "import_official", "load_network", "load_networks", "translate_official"]
