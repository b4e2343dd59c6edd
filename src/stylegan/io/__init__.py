"""Checkpoints: the native format and importers of official and community files."""

from stylegan.io.official import import_official, translate_official

__all__ = ["import_official", "translate_official"]
