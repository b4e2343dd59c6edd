"""Equivariance metrics EQ-T, EQ-T_frac and EQ-R (StyleGAN3 paper, Section 2 and Appendix E).

A generator is equivariant to a transformation when transforming its input transforms its
output the same way. For each sample the generator makes an image ``orig`` with an identity
input transform and an image ``img`` with a random transform of its input; ``orig`` transformed
by a reference operator should equal ``img``. The score is a PSNR in dB over the pixels that
both sides define (images in [-1, 1], peak-to-peak 2)::

    PSNR = 20 log10(2) - 10 log10( sum_masked (ref - img)^2 / sum(mask) )

summed over all samples, channels and pixels before the division, as the official tool does.

- ``eqt`` (EQ-T, Appendix E.1): integer translations, t ~ U(-0.125, 0.125)^2 of the image size,
  rounded to whole pixels; the reference shifts pixels and masks what moved in from outside.
- ``eqt_frac`` (EQ-T_frac, E.2): fractional translations, the reference interpolates with a
  Lanczos-windowed sinc (a = 3) and masks a border of a pixels.
- ``eqr`` (EQ-R, E.3): rotations by U(-pi, pi); the reference rotates ``orig`` with an ideal
  band-limited (oriented sinc, Lanczos-windowed) resampling filter, and ``img`` is passed through
  the same band limit without rotating ("pseudo-rotation"), so that neither side is penalised for
  frequencies a rotated grid cannot hold.

One random transform is drawn per batch (shared by its samples) and ``num_samples`` samples are
used in all, as in the official ``metrics/equivariance.py`` (eqt50k_int, eqt50k_frac, eqr50k:
50k samples, batches of 4).

Which input is transformed:

- StyleGAN3 generators: their Fourier-feature input's transform, set with ``G.set_transform`` (the official way).
- Other generators with one Fourier-feature input (StyleGAN2 with ``fourier_input``, the StyleGAN3
  paper's configs B-D): that input's ``transform`` buffer, set the same way.
- Generators that start from a learned constant (StyleGAN2, StyleGAN): the official tool refuses
  them. Here the constant is transformed instead, with the same band-limited operators as the
  reference (Lanczos translation by t times its size, band-limited rotation), zero outside. This
  is this package's extension: it measures how far the synthesis network carries a transformed
  input to a transformed image, and is not a number the paper defines.

Noise inputs (``*.noise_const`` buffers) are redrawn for every batch and stay fixed to the pixel
grid between ``orig`` and ``img``, as officially: noise that does not move with the content
counts against equivariance.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

from stylegan.errors import UserError
from stylegan.layers.fourier import FourierFeatureInput
from stylegan.models.interface import Generator, Transformable
from stylegan.models.stylegan3 import input_transform
from stylegan.ops.upfirdn2d import filter2d, upsample2d

METRICS = ("eqt", "eqt_frac", "eqr")


# --------------------------------------------------------------------------------------------
# Reference operators


def sinc(x: torch.Tensor) -> torch.Tensor:
    """Normalised sinc, sin(pi x) / (pi x), with sinc(0) = 1."""
    y = (x * math.pi).abs()
    return torch.where(y < 1e-30, torch.ones_like(x), torch.sin(y) / y.clamp(min=1e-30))


def lanczos_window(x: torch.Tensor, a: int) -> torch.Tensor:
    """The Lanczos window of support a: sinc(x / a) for |x| < a, 0 outside."""
    x = x.abs() / a
    return torch.where(x < 1, sinc(x), torch.zeros_like(x))


def rotation_matrix(angle) -> torch.Tensor:
    """3x3 matrix [[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]] of ``angle`` radians (float32)."""
    angle = torch.as_tensor(angle, dtype=torch.float32)
    m = torch.eye(3, device=angle.device)
    m[0, 0] = m[1, 1] = angle.cos()
    m[0, 1] = angle.sin()
    m[1, 0] = -angle.sin()
    return m


def apply_integer_translation(x: torch.Tensor, tx, ty) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the content of [N, C, H, W] ``x`` by (round(tx W), round(ty H)) pixels (x right, y
    down); returns the shifted images and the mask of pixels that came from inside."""
    _, _, h, w = x.shape
    dx = int(torch.as_tensor(tx * w, dtype=torch.float32).round())
    dy = int(torch.as_tensor(ty * h, dtype=torch.float32).round())
    out = torch.zeros_like(x)
    mask = torch.zeros_like(x)
    if abs(dx) < w and abs(dy) < h:
        dst = (slice(None), slice(None), slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0)))
        src = (slice(None), slice(None), slice(max(-dy, 0), h + min(-dy, 0)), slice(max(-dx, 0), w + min(-dx, 0)))
        out[dst] = x[src]
        mask[dst] = 1
    return out, mask


def apply_fractional_translation(x: torch.Tensor, tx, ty, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the content of ``x`` by (tx W, ty H) pixels with Lanczos-windowed sinc interpolation of
    support ``a``; the mask keeps pixels whose whole 2a-tap footprint lies inside the image."""
    _, _, h, w = x.shape
    sx = torch.as_tensor(tx * w, dtype=torch.float32, device=x.device)
    sy = torch.as_tensor(ty * h, dtype=torch.float32, device=x.device)
    ix, iy = int(sx.floor()), int(sy.floor())  # whole-pixel part of the shift
    fx, fy = sx - ix, sy - iy  # fractional part, in [0, 1)
    b = a - 1
    taps = torch.arange(2 * a, device=x.device) - b  # tap offsets -b .. a

    out = torch.zeros_like(x)
    x0, y0 = max(ix - b, 0), max(iy - b, 0)  # output pixels reached by at least one input tap
    x1, y1 = min(ix + a, 0) + w, min(iy + a, 0) + h
    if x0 < x1 and y0 < y1:
        kx = (sinc(taps - fx) * sinc((taps - fx) / a)).unsqueeze(0)  # [1, 2a]: horizontal kernel
        ky = (sinc(taps - fy) * sinc((taps - fy) / a)).unsqueeze(1)  # [2a, 1]: vertical kernel
        # Column j (row i) of the filtered image is output column j + ix - b (row i + iy - b).
        y = filter2d(x, kx / kx.sum(), padding=[b, a, 0, 0])
        y = filter2d(y, ky / ky.sum(), padding=[0, 0, b, a])
        y = y[:, :, max(b - iy, 0) : h + b + a + min(-iy - a, 0), max(b - ix, 0) : w + b + a + min(-ix - a, 0)]
        out[:, :, y0:y1, x0:x1] = y

    mask = torch.zeros_like(x)
    mx0, my0 = max(ix + a, 0), max(iy + a, 0)
    mx1, my1 = min(ix - b, 0) + w, min(iy - b, 0) + h
    if mx0 < mx1 and my0 < my1:
        mask[:, :, my0:my1, mx0:mx1] = 1
    return out, mask


def affine_bandlimit_filter(
    mat: torch.Tensor,
    a: int = 3,
    amax: int = 16,
    aflt: int = 64,
    up: int = 4,
    cutoff_in: float = 1,
    cutoff_out: float = 1,
) -> torch.Tensor:
    """2-D low-pass filter for resampling through the affine map ``mat`` (3x3, only its 2x2 part
    matters): the convolution of the ideal low-pass of the input grid (a sinc) with that of the
    output grid seen through ``mat`` (an oriented sinc), windowed by the convolution of the two
    corresponding Lanczos windows. Sampled at ``up`` taps per pixel over ``2 amax`` pixels, each
    of the ``up^2`` polyphase components normalised to unit gain; returned as a square odd-sized
    filter of ``2 amax up - 1`` taps for ``upsample2d``."""
    if not a <= amax < aflt:
        raise ValueError("need a <= amax < aflt")
    mat = torch.as_tensor(mat, dtype=torch.float32)
    n = aflt * up * 2 - 1  # working grid, large enough that the circular convolutions do not wrap
    # Tap positions in input pixels, rolled so that position 0 sits at index 0 (FFT convention).
    taps = ((torch.arange(n, device=mat.device) + 1) / up - aflt).roll(1 - aflt * up)
    yi, xi = torch.meshgrid(taps, taps, indexing="ij")
    xo, yo = (torch.stack([xi, yi], dim=2) @ mat[:2, :2].t()).unbind(2)  # the same points, output grid

    def circular_conv(p, q):
        return torch.fft.ifftn(torch.fft.fftn(p) * torch.fft.fftn(q)).real

    lowpass = circular_conv(sinc(xi * cutoff_in) * sinc(yi * cutoff_in), sinc(xo * cutoff_out) * sinc(yo * cutoff_out))
    window = circular_conv(lanczos_window(xi, a) * lanczos_window(yi, a), lanczos_window(xo, a) * lanczos_window(yo, a))
    f = lowpass * window

    # Centre the filter, keep 2 amax pixels of support, normalise every polyphase component.
    c = (aflt - amax) * up
    f = f.roll([aflt * up - 1] * 2, dims=[0, 1])[c:-c, c:-c]
    f = F.pad(f, [0, 1, 0, 1]).reshape(amax * 2, up, amax * 2, up)
    f = f / f.sum([0, 2], keepdim=True) / up**2
    return f.reshape(amax * 2 * up, amax * 2 * up)[:-1, :-1]


def apply_affine_transformation(x: torch.Tensor, mat: torch.Tensor, up: int = 4, **filter_kwargs):
    """Resample ``x`` through ``mat`` (image coordinates in [-1, 1]): band-limited upsampling by
    ``up``, then bilinear lookup; the mask keeps pixels whose filter footprint lies inside."""
    _, _, h, w = x.shape
    mat = torch.as_tensor(mat, dtype=torch.float32, device=x.device)
    f = affine_bandlimit_filter(mat, up=up, **filter_kwargs)
    p = f.shape[0] // 2

    # Sampling grid on the upsampled (and padded by p) image: the inverse map, with the
    # translation in [-1, 1] units, the half-pixel offset of the upsampling and the padding.
    theta = mat.inverse()
    theta[:2, 2] *= 2
    theta[0, 2] += 1 / up / w
    theta[1, 2] += 1 / up / h
    theta[0, :] *= w / (w + p / up * 2)
    theta[1, :] *= h / (h + p / up * 2)
    grid = F.affine_grid(theta[:2, :3].unsqueeze(0).repeat([x.shape[0], 1, 1]), list(x.shape), align_corners=False)

    y = upsample2d(x, f, up=up, padding=p)
    out = F.grid_sample(y, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mask = torch.zeros_like(y)
    c = p * 2 + 1
    mask[:, :, c:-c, c:-c] = 1
    mask = F.grid_sample(mask, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out, mask


def apply_fractional_rotation(x: torch.Tensor, angle, a: int = 3, **filter_kwargs):
    """Rotate the content of ``x`` by ``angle`` radians (counter-clockwise as displayed), band-limited."""
    mat = rotation_matrix(torch.as_tensor(angle, dtype=torch.float32, device=x.device))
    return apply_affine_transformation(x, mat, a=a, amax=a * 2, **filter_kwargs)


def apply_fractional_pseudo_rotation(x: torch.Tensor, angle, a: int = 3, **filter_kwargs):
    """Apply the band limit of a rotation by ``angle`` without rotating (operator R* of E.3)."""
    mat = rotation_matrix(-torch.as_tensor(angle, dtype=torch.float32, device=x.device))
    f = affine_bandlimit_filter(mat, a=a, amax=a * 2, up=1, **filter_kwargs)
    y = filter2d(x, f)
    mask = torch.zeros_like(y)
    c = f.shape[0] // 2
    mask[:, :, c:-c, c:-c] = 1
    return y, mask


def psnr(sum_squared_error: float, num_valid: float) -> float:
    """PSNR in dB of images in [-1, 1] from the masked squared error and the mask's size
    (``inf`` for a zero error)."""
    if num_valid <= 0:
        raise ValueError("no valid pixels to compare")
    mse = sum_squared_error / num_valid
    return math.inf if mse == 0 else 20 * math.log10(2) - 10 * math.log10(mse)


# --------------------------------------------------------------------------------------------
# Transforming a generator's input


class _InputTransform:
    """Sets a translation or rotation of a generator's input, and resets it."""

    def __init__(self, G: Generator):
        self.G = G if isinstance(G, Transformable) else None
        inputs = [m for m in G.synthesis.modules() if isinstance(m, FourierFeatureInput)]
        self.fourier = inputs[0] if self.G is None and len(inputs) == 1 else None
        if self.G is None and self.fourier is None:
            consts = [p for name, p in G.synthesis.named_parameters() if name.split(".")[-1] == "const" and p.ndim == 3]
            if len(consts) != 1:
                raise UserError(
                    "cannot measure equivariance: this generator has neither a transformable input "
                    "(StyleGAN3's set_transform) nor a single learned constant input"
                )
            self.const = consts[0]
            self.const_orig = self.const.detach().clone()

    def _set(self, translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0) -> bool:
        """Transform a Fourier-feature input; False if the generator has a constant input instead."""
        if self.G is not None:
            self.G.set_transform(translate, angle_deg)
        elif self.fourier is not None:
            self.fourier.transform.copy_(input_transform(translate, angle_deg))
        return self.G is not None or self.fourier is not None

    def identity(self) -> None:
        if not self._set():
            self.const.copy_(self.const_orig)

    def translate(self, t: torch.Tensor) -> None:
        """Move the image content by t = (x, y) image sizes."""
        if not self._set((float(t[0]), float(t[1]))):
            self.const.copy_(apply_fractional_translation(self.const_orig[None], t[0], t[1])[0][0])

    def rotate(self, angle: torch.Tensor) -> None:
        """Rotate the image content by ``angle`` radians."""
        if not self._set(angle_deg=math.degrees(float(angle))):
            self.const.copy_(apply_fractional_rotation(self.const_orig[None], angle)[0][0])


# --------------------------------------------------------------------------------------------
# The metrics


def compute_equivariance_metrics(
    G: Generator,
    metrics: tuple[str, ...] | list[str] = METRICS,
    num_samples: int = 50000,
    batch_size: int = 4,
    seed: int = 0,
    device: str | torch.device | None = None,
    translate_max: float = 0.125,
    rotate_max: float = 1.0,
    progress: bool = False,
) -> dict[str, float]:
    """PSNRs in dB of the requested ``metrics`` (any of ``eqt``, ``eqt_frac``, ``eqr``), sharing the
    untransformed images; see the module docstring.

    ``num_samples`` samples in batches of ``batch_size`` (one random transform per batch);
    ``seed`` fixes latents, labels, noise and transforms (drawn on the CPU, so results do not
    depend on the device); ``translate_max`` bounds the translation (image sizes) and
    ``rotate_max`` the rotation (multiples of pi). ``G`` is not modified (a copy is measured).
    """
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise UserError(f"unknown equivariance metric(s) {unknown}; choose from {', '.join(METRICS)}")
    if num_samples < 1 or batch_size < 1:
        raise UserError("num_samples and batch_size must be positive")
    if device is None:
        device = next(G.parameters()).device
    device = torch.device(device)
    G = copy.deepcopy(G).eval().requires_grad_(False).to(device)
    transform = _InputTransform(G)
    rng = torch.Generator().manual_seed(seed)
    synthesis_kwargs = dict(noise_mode="const")
    if device.type == "cuda":
        synthesis_kwargs["force_fp32"] = True  # as the official metrics: no float16 noise in the score

    def synthesize(ws):
        return G.synthesis(ws, **synthesis_kwargs)

    sums = {m: torch.zeros(2, dtype=torch.float64) for m in metrics}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=num_samples, desc="equivariance", unit="img")
    with torch.no_grad():
        for start in range(0, num_samples, batch_size):
            n = min(batch_size, num_samples - start)
            for name, buf in G.named_buffers():
                if name.endswith("noise_const"):
                    buf.copy_(torch.randn(buf.shape, generator=rng))
            z = torch.randn([n, G.z_dim], generator=rng)
            c = torch.zeros([n, G.c_dim])
            if G.c_dim > 0:
                c[torch.arange(n), torch.randint(G.c_dim, [n], generator=rng)] = 1
            ws = G.mapping(z.to(device), c.to(device))
            transform.identity()
            orig = synthesize(ws)

            for metric in metrics:
                if metric == "eqt":
                    t = (torch.rand(2, generator=rng) * 2 - 1) * translate_max
                    t = (t * G.img_resolution).round() / G.img_resolution
                    transform.translate(t.to(device))
                    ref, mask = apply_integer_translation(orig, t[0], t[1])
                    img = synthesize(ws)
                elif metric == "eqt_frac":
                    t = (torch.rand(2, generator=rng) * 2 - 1) * translate_max
                    transform.translate(t.to(device))
                    ref, mask = apply_fractional_translation(orig, t[0], t[1])
                    img = synthesize(ws)
                else:
                    angle = (torch.rand([], generator=rng) * 2 - 1) * (rotate_max * math.pi)
                    transform.rotate(angle.to(device))
                    ref, ref_mask = apply_fractional_rotation(orig, angle)
                    img, img_mask = apply_fractional_pseudo_rotation(synthesize(ws), angle)
                    mask = ref_mask * img_mask
                err = ((ref - img).square() * mask).to(torch.float64).sum().cpu()
                sums[metric] += torch.stack([err, mask.to(torch.float64).sum().cpu()])
            if bar is not None:
                bar.update(n)
    if bar is not None:
        bar.close()
    return {m: psnr(float(s[0]), float(s[1])) for m, s in sums.items()}


def compute_equivariance(
    G: Generator,
    metric: str,
    num_samples: int = 50000,
    batch_size: int = 4,
    seed: int = 0,
    device: str | torch.device | None = None,
    translate_max: float = 0.125,
    rotate_max: float = 1.0,
    progress: bool = False,
) -> float:
    """PSNR in dB of one equivariance metric, ``"eqt"``, ``"eqt_frac"`` or ``"eqr"`` (see
    ``compute_equivariance_metrics``): the official eqt50k_int, eqt50k_frac and eqr50k with the
    defaults (50k samples, batches of 4). ``inf`` when the images match exactly."""
    return compute_equivariance_metrics(
        G, (metric,), num_samples, batch_size, seed, device, translate_max, rotate_max, progress
    )[metric]


__all__ = [
    "METRICS",
    "apply_fractional_pseudo_rotation",
    "apply_fractional_rotation",
    "apply_integer_translation",
    "apply_fractional_translation",
    "compute_equivariance",
    "compute_equivariance_metrics",
    "psnr",
    "rotation_matrix",
]
