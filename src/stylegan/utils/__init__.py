"""Small helpers shared by training, tools, metrics and analysis: images, seeds, devices."""
