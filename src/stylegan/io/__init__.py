"""Checkpoints: the native format and importers of official and community files."""

from stylegan.io.loading import load_network
from stylegan.io.official import import_official, translate_official

__all__ = ["import_official", "load_network", "translate_official"]
