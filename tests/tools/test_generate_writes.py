"""``write_images`` writes each image as soon as it is made; the grid comes from what was made."""

import numpy as np
import pytest
import torch
from PIL import Image

from stylegan.tools import generate
from stylegan.tools.generate import generate_images, iter_generated_images, write_images


def test_images_are_on_disk_as_they_are_made(tiny_G, tmp_path):
    seeds = list(range(5))
    on_disk = []

    def watched(batches):
        for batch in batches:
            yield batch
            on_disk.append(sorted(p.name for p in tmp_path.iterdir()))  # after write_images took it

    batches = iter_generated_images(tiny_G, seeds, batch_size=2)
    result = write_images(watched(batches), seeds, tmp_path)
    assert on_disk[0] == ["seed0000.png", "seed0001.png"]  # the first batch, before the second is made
    assert on_disk[1][-1] == "seed0003.png" and "grid.png" not in on_disk[-1]
    assert result.grid == tmp_path / "grid.png" and len(result.files) == 5
    # The same images as the all-at-once path.
    expected = (generate_images(tiny_G, seeds) * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "seed0004.png")), expected[4].permute(1, 2, 0).numpy())


def test_interrupted_run_keeps_what_was_made(tiny_G, tmp_path):
    def interrupted(batches):
        for i, batch in enumerate(batches):
            if i == 2:
                raise KeyboardInterrupt
            yield batch

    with pytest.raises(KeyboardInterrupt):
        write_images(
            interrupted(iter_generated_images(tiny_G, list(range(10)), batch_size=2)), list(range(10)), tmp_path
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"seed{i:04d}.png" for i in range(4)]


def test_grid_holds_the_first_images_that_fit(tiny_G, tmp_path, monkeypatch):
    monkeypatch.setattr(generate, "GRID_MAX_PIXELS", 3 * 8 * 8)  # three 8x8 images
    result = write_images(iter_generated_images(tiny_G, list(range(7)), batch_size=4), list(range(7)), tmp_path)
    assert len(result.files) == 7
    assert np.asarray(Image.open(result.grid)).shape == (16, 16, 3)  # 2x2 cells for 3 images
