import math

import numpy as np
import pytest
import torch
from PIL import Image

from stylegan.errors import UserError
from stylegan.tools.generate import generate_images
from stylegan.tools.spectra import (
    SpectrumAccumulator,
    average_spectra,
    dataset_batches,
    generated_batches,
    heatmap_db,
    radial_slices,
    window_1d,
    write_spectra,
)
from stylegan.utils.images import to_uint8


def test_windows():
    k = window_1d(16, "kaiser", 8.0)
    assert k.square().sum().item() == pytest.approx(1.0)
    ref = torch.kaiser_window(16, periodic=False, beta=8.0, dtype=torch.float64)
    assert torch.allclose(k, ref / ref.norm())
    h = window_1d(16, "hann")
    assert h[0].item() == 0 and h.square().sum().item() == pytest.approx(1.0)
    with pytest.raises(UserError, match="window"):
        window_1d(16, "box")


def _direct_spectrum(images, mean, std, window, interp):
    """The official recipe, literally: whiten, window, pad, full FFT, mean over channels and images."""
    size = images.shape[-1] * interp
    w = window_1d(images.shape[-1], window, 8.0)
    x = (images.double() - mean) / std * torch.outer(w, w)
    x = torch.nn.functional.pad(x, [0, size - images.shape[-1], 0, size - images.shape[-1]])
    return torch.fft.fftn(x, dim=[2, 3]).abs().square().mean(dim=[0, 1]).numpy()


@pytest.mark.parametrize("window,interp", [("kaiser", 4), ("hann", 1), ("kaiser", 3)])
def test_accumulated_spectrum_equals_the_direct_computation(window, interp):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (5, 3, 8, 8), generator=g, dtype=torch.uint8)
    acc = SpectrumAccumulator(8, window=window, interp=interp)
    acc.add(images[:2])
    acc.add(images[2:])
    mean, std = acc.moments()
    assert mean == pytest.approx(images.double().mean().item())
    assert std == pytest.approx(images.double().std(unbiased=False).item())
    assert np.allclose(acc.spectrum(), _direct_spectrum(images, mean, std, window, interp), rtol=1e-9, atol=1e-12)
    assert np.allclose(
        acc.spectrum(100.0, 50.0), _direct_spectrum(images, 100.0, 50.0, window, interp), rtol=1e-9, atol=1e-12
    )


def test_a_sinusoid_peaks_at_its_frequency():
    x = torch.arange(32, dtype=torch.float64)
    wave = 128 + 100 * torch.cos(2 * math.pi * 5 * x / 32)  # 5 cycles per image along x
    acc = SpectrumAccumulator(32, window="hann", interp=1)
    acc.add(wave.expand(1, 1, 32, 32))
    spectrum = acc.spectrum()
    peaks = {tuple(int(i) for i in np.unravel_index(k, spectrum.shape)) for k in np.argsort(spectrum.ravel())[-2:]}
    assert peaks == {(0, 5), (0, 27)}
    hmap = heatmap_db(spectrum, 32)
    assert hmap.shape == (33, 33) and np.argmax(hmap[16]) in (16 + 5, 16 - 5)  # DC in the centre
    slices = radial_slices(hmap, 32)
    freqs, values = slices["0"]
    assert freqs[-1] == 16 and freqs[np.argmax(values)] == 5
    assert slices["45"][0][-1] == pytest.approx(32 / math.sqrt(2))


def test_generated_batches_match_generate(tiny_G):
    batches = list(generated_batches(tiny_G, 5, seed=3, batch_size=2, noise_mode="const"))
    assert [b.shape[0] for b in batches] == [2, 2, 1]
    expected = to_uint8(generate_images(tiny_G, [3, 4, 5, 6, 7]))
    assert np.abs(torch.cat(batches).permute(0, 2, 3, 1).numpy().astype(int) - expected.astype(int)).max() <= 1
    with pytest.raises(UserError, match="unconditional"):
        generated_batches(tiny_G, 1, class_idx=0)


def test_average_spectra_share_the_reference_statistics(tmp_path):
    g = torch.Generator().manual_seed(1)
    bright = [torch.randint(150, 256, (3, 1, 8, 8), generator=g, dtype=torch.uint8)]
    dark = [torch.randint(0, 100, (2, 1, 8, 8), generator=g, dtype=torch.uint8)]
    result = average_spectra({"generated": bright, "dataset": dark}, 8, reference="dataset")
    assert result.mean == pytest.approx(dark[0].double().mean().item())
    assert result.counts == {"generated": 3, "dataset": 2}
    assert np.allclose(result.spectra["generated"], _direct_spectrum(bright[0], result.mean, result.std, "kaiser", 4))
    files = write_spectra(result, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "heatmap_dataset.png",
        "heatmap_generated.png",
        "slices.png",
        "spectra.npz",
    ]
    with np.load(files.npz) as data:
        assert data["generated"].shape == (32, 32) and int(data["image_size"]) == 8
        assert float(data["mean"]) == pytest.approx(result.mean)
    heat = np.asarray(Image.open(files.heatmaps["dataset"]))
    assert heat.ndim == 3 and heat.shape[2] == 3 and heat.std() > 10  # a picture, not a blank
    with pytest.raises(UserError, match="nothing to measure"):
        average_spectra({}, 8)


def test_dataset_batches_read_toyfaces():
    count, resolution, batches = dataset_batches("toyfaces", 3, 16, batch_size=2)
    batches = list(batches)
    assert (count, resolution) == (3, 16)
    assert [tuple(b.shape) for b in batches] == [(2, 3, 16, 16), (1, 3, 16, 16)] and batches[0].dtype == torch.uint8
    with pytest.raises(UserError):
        dataset_batches("/no/such/dataset", 3, 16)
