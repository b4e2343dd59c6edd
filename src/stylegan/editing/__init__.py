"""Latent editing: directions (InterFaceGAN, GANSpace, SeFa, StyleSpace), edits, pivotal tuning."""
