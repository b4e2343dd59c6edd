"""Differentiable augmentation pipeline of ADA (Karras et al., "Training Generative Adversarial Networks with
Limited Data", NeurIPS 2020, Sec. 2 and Appendix B).

Each transform is applied to each image independently, with probability ``multiplier * p``: ``multiplier`` is the
transform's constructor argument (0 disables it, 1 is the paper's setting) and ``p`` is the pipeline's overall
strength, a buffer steered during training by :class:`stylegan.training.ada.AdaController`.

Order of the stages (Appendix B.1):

1. Pixel blitting: x-flip, rotation by a multiple of 90 degrees, integer translation.
2. General geometry: isotropic scaling, arbitrary rotation, anisotropic scaling, fractional translation.
   Stages 1 and 2 are composed into one 3x3 matrix per image and executed at once. Images whose matrix is a pixel
   permutation are copied pixel by pixel (exact, borders by reflection); the others are reflection-padded,
   upsampled x2 with the Symlet-6 low-pass filter, resampled bilinearly and downsampled x2 with the same filter
   (reversed), so that the warp does not alias.
3. Colour: brightness, contrast, luma flip, hue rotation, saturation, composed into one 4x4 matrix acting on
   homogeneous RGB (luma axis (1, 1, 1) / sqrt(3); grey is 0 for images in [-1, 1]).
4. Image-space filtering: random amplification of four octave bands.
5. Corruptions: additive Gaussian noise, cutout.

Everything is differentiable with respect to the images (twice, for R1 through the augmentation). Random numbers
come from ``generator`` when given (on its device), else from the global RNG of the images' device.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stylegan.errors import UserError
from stylegan.ops.upfirdn2d import downsample2d, setup_filter, upsample2d

# Low-pass decomposition filters of Daubechies' least-asymmetric wavelets (Symlets) with 2 and 6 vanishing moments.
SYMLET2 = [-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025]
SYMLET6 = [
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
    0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
    -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
]  # fmt: skip

_BLIT: dict[str, float] = {"xflip": 1, "rotate90": 1, "xint": 1}
_GEOM: dict[str, float] = {"scale": 1, "rotate": 1, "aniso": 1, "xfrac": 1}
_COLOR: dict[str, float] = {"brightness": 1, "contrast": 1, "lumaflip": 1, "hue": 1, "saturation": 1}

# Named sets of transforms (the paper's ablations); "bgc" is the ADA default.
PRESETS: dict[str, dict[str, float]] = {
    "blit": _BLIT,
    "geom": _GEOM,
    "color": _COLOR,
    "filter": {"imgfilter": 1},
    "noise": {"noise": 1},
    "cutout": {"cutout": 1},
    "bg": {**_BLIT, **_GEOM},
    "bgc": {**_BLIT, **_GEOM, **_COLOR},
    "bgcf": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1},
    "bgcfn": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1, "noise": 1},
    "bgcfnc": {**_BLIT, **_GEOM, **_COLOR, "imgfilter": 1, "noise": 1, "cutout": 1},
}


def preset_kwargs(name: str) -> dict[str, float]:
    """Constructor arguments of :class:`AugmentPipe` for a named preset (a fresh dict)."""
    if name not in PRESETS:
        raise UserError(f"unknown augmentation preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])


# ---------------------------------------------------------------------------------------------------------------------
# Batched homogeneous matrices. Arguments are [N] tensors or Python numbers; the result is [N, R, C].


def _matrix(rows, like: torch.Tensor) -> torch.Tensor:
    cells = [c if torch.is_tensor(c) else torch.full_like(like, float(c)) for row in rows for c in row]
    return torch.stack(cells, dim=-1).reshape(like.shape[0], len(rows), len(rows[0]))


def _mm(*mats: torch.Tensor) -> torch.Tensor:
    """Batched matrix product a @ b @ ... written as multiply-and-sum, so that it is never rounded to TF32."""
    out = mats[0]
    for m in mats[1:]:
        out = (out[..., :, :, None] * m[..., None, :, :]).sum(dim=-2)
    return out


def translate2d(tx, ty, like: torch.Tensor) -> torch.Tensor:
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], like)


def scale2d(sx, sy, like: torch.Tensor) -> torch.Tensor:
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], like)


def rotate2d(cos, sin, like: torch.Tensor) -> torch.Tensor:
    """Counter-clockwise rotation (in x-right, y-up terms) given its cosine and sine."""
    return _matrix([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], like)


def translate3d(tx, ty, tz, like: torch.Tensor) -> torch.Tensor:
    return _matrix([[1, 0, 0, tx], [0, 1, 0, ty], [0, 0, 1, tz], [0, 0, 0, 1]], like)


def scale3d(sx, sy, sz, like: torch.Tensor) -> torch.Tensor:
    return _matrix([[sx, 0, 0, 0], [0, sy, 0, 0], [0, 0, sz, 0], [0, 0, 0, 1]], like)


def _embed_linear3d(m: torch.Tensor) -> torch.Tensor:
    """[N, 3, 3] linear map -> [N, 4, 4] homogeneous matrix."""
    out = torch.zeros(m.shape[0], 4, 4, dtype=m.dtype, device=m.device)
    out[:, :3, :3] = m
    out[:, 3, 3] = 1
    return out


def rotate3d(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Rotation by ``theta`` [N] around the unit vector ``axis`` [3] (Rodrigues' formula), as [N, 4, 4]."""
    x, y, z = axis.tolist()
    cross = torch.tensor([[0, -z, y], [z, 0, -x], [-y, x, 0]], dtype=theta.dtype, device=theta.device)
    outer = torch.outer(axis, axis).to(theta)
    eye = torch.eye(3, dtype=theta.dtype, device=theta.device)
    c, s = theta.cos()[:, None, None], theta.sin()[:, None, None]
    return _embed_linear3d(c * eye + s * cross + (1 - c) * outer)


# ---------------------------------------------------------------------------------------------------------------------


class _Draws:
    """The random numbers of one forward pass.

    With ``percentile`` set, every parameter draw is pinned to that quantile of its distribution and every enabled
    transform is switched on (for visualising a transform at a given strength).
    """

    def __init__(self, device, generator: torch.Generator | None, percentile: float | None, dtype: torch.dtype):
        self.device = generator.device if generator is not None else device
        self.dtype = dtype  # draws are made in float32 (the same numbers whatever the images' dtype), then cast
        self.generator = generator
        self.percentile = None if percentile is None else float(percentile)

    def uniform(self, shape) -> torch.Tensor:
        """U[0, 1)."""
        if self.percentile is not None:
            return torch.full(shape, min(max(self.percentile, 0.0), 1.0), device=self.device, dtype=self.dtype)
        return torch.rand(shape, generator=self.generator, device=self.device).to(self.dtype)

    def normal(self, shape, pinned: bool = True) -> torch.Tensor:
        """N(0, 1); ``pinned=False`` stays random even with ``percentile`` (noise images)."""
        if self.percentile is not None and pinned:
            q = min(max(self.percentile, 1e-6), 1 - 1e-6)
            return torch.full(shape, NormalDist().inv_cdf(q), device=self.device, dtype=self.dtype)
        return torch.randn(shape, generator=self.generator, device=self.device).to(self.dtype)

    def choice(self, shape, n: int) -> torch.Tensor:
        """Uniform integer in [0, n), as float."""
        return torch.floor(self.uniform(shape) * n).clamp(max=n - 1)

    def gate(self, shape, prob) -> torch.Tensor:
        """Bernoulli(prob) as bool; all on with ``percentile``."""
        if self.percentile is not None:
            return torch.ones(shape, dtype=torch.bool, device=self.device)
        return torch.rand(shape, generator=self.generator, device=self.device) < prob


def _reflect_index(i: torch.Tensor, size: int) -> torch.Tensor:
    """Fold integer coordinates into [0, size) by mirror reflection without repeating the edge pixel."""
    if size == 1:
        return torch.zeros_like(i)
    period = 2 * (size - 1)
    i = i.remainder(period)
    return torch.where(i >= size, period - i, i)


def _octave_filter_bank(lowpass, num_bands: int) -> np.ndarray:
    """Zero-phase FIR filters splitting the spectrum into octave bands, lowest first; they sum to a unit impulse.

    Built from the half-band pair lo(z) lo(1/z) / 2 + hi(z) hi(1/z) / 2 = 1 of an orthogonal wavelet: each level
    splits the lowest band again (dilating the finer filters by 2 and low-passing them).
    """
    lo = np.asarray(lowpass, dtype=np.float64)
    hi = lo * (-1.0) ** np.arange(lo.size)
    lo2 = np.convolve(lo, lo[::-1]) / 2
    hi2 = np.convolve(hi, hi[::-1]) / 2
    bands = [np.ones(1)]
    for _ in range(num_bands - 1):
        dilated = []
        for b in bands:
            d = np.zeros(2 * b.size - 1)
            d[::2] = b
            dilated.append(np.convolve(d, lo2))
        bands = dilated + [hi2]
    taps = max(b.size for b in bands)
    bank = np.zeros((num_bands, taps))
    for i, b in enumerate(bands):
        start = (taps - b.size) // 2
        bank[i, start : start + b.size] = b
    return bank


class AugmentPipe(nn.Module):
    """ADA augmentation pipeline (Karras et al. 2020, Appendix B). Every multiplier defaults to 0 (off); see
    :data:`PRESETS`. ``p`` is the initial overall probability (the ``p`` buffer).

    Strengths: ``xint_max`` is relative to the image size; ``*_std`` of scaling, contrast, saturation and filter
    gains are log2 standard deviations; ``xfrac_std`` is relative to the image size; ``rotate_max`` and ``hue_max``
    are fractions of a full turn.
    """

    def __init__(
        self,
        xflip: float = 0, rotate90: float = 0, xint: float = 0, xint_max: float = 0.125,
        scale: float = 0, rotate: float = 0, aniso: float = 0, xfrac: float = 0,
        scale_std: float = 0.2, rotate_max: float = 1, aniso_std: float = 0.2, xfrac_std: float = 0.125,
        brightness: float = 0, contrast: float = 0, lumaflip: float = 0, hue: float = 0, saturation: float = 0,
        brightness_std: float = 0.2, contrast_std: float = 0.5, hue_max: float = 1, saturation_std: float = 1,
        imgfilter: float = 0, imgfilter_bands=(1, 1, 1, 1), imgfilter_std: float = 1,
        noise: float = 0, cutout: float = 0, noise_std: float = 0.1, cutout_size: float = 0.5,
        p: float = 0.0,
    ):  # fmt: skip
        super().__init__()
        self.register_buffer("p", torch.tensor(float(p)))
        strengths = dict(
            xflip=xflip, rotate90=rotate90, xint=xint, xint_max=xint_max,
            scale=scale, rotate=rotate, aniso=aniso, xfrac=xfrac,
            scale_std=scale_std, rotate_max=rotate_max, aniso_std=aniso_std, xfrac_std=xfrac_std,
            brightness=brightness, contrast=contrast, lumaflip=lumaflip, hue=hue, saturation=saturation,
            brightness_std=brightness_std, contrast_std=contrast_std, hue_max=hue_max, saturation_std=saturation_std,
            imgfilter=imgfilter, imgfilter_std=imgfilter_std,
            noise=noise, cutout=cutout, noise_std=noise_std, cutout_size=cutout_size,
        )  # fmt: skip
        for name, value in strengths.items():
            setattr(self, name, float(value))
        self.imgfilter_bands = [float(b) for b in imgfilter_bands]

        # Orthogonal low-pass filter for the x2 up/down-sampling around geometric warps; constants, not state.
        self.register_buffer("geom_filter", setup_filter(SYMLET6), persistent=False)
        # Group delay of the filter at DC relative to a symmetric filter, in upsampled pixels: the upsampled image
        # is shifted by this much, so warps in the upsampled space are conjugated by it.
        taps = np.asarray(SYMLET6)
        self.geom_filter_shift = float((np.arange(taps.size) * taps).sum() / taps.sum() - (taps.size - 1) / 2)
        bank = _octave_filter_bank(SYMLET2, num_bands=4)
        if len(self.imgfilter_bands) != bank.shape[0]:
            raise ValueError(f"imgfilter_bands needs {bank.shape[0]} entries")
        self.register_buffer("filter_bank", torch.as_tensor(bank, dtype=torch.float32), persistent=False)

    def extra_repr(self) -> str:
        names = ["xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness", "contrast",
                 "lumaflip", "hue", "saturation", "imgfilter", "noise", "cutout"]  # fmt: skip
        on = ", ".join(f"{n}={getattr(self, n):g}" for n in names if getattr(self, n) > 0)
        return f"p={float(self.p):.4f}, {on or 'no transforms'}"

    # -----------------------------------------------------------------------------------------------------------------

    def forward(
        self, images: torch.Tensor, generator: torch.Generator | None = None, percentile: float | None = None
    ) -> torch.Tensor:
        """Augment a batch [N, C, H, W] (colour transforms need C = 1 or 3).

        ``generator``: source of randomness (its device is used for the draws); default: the global RNG.
        ``percentile``: if given, apply every enabled transform with its parameter at that quantile (debugging).
        """
        if images.ndim != 4:
            raise ValueError(f"expected images of shape [N, C, H, W], got {list(images.shape)}")
        batch, _, height, width = images.shape
        # Transform matrices in float64 for float64 images (exact tests, gradcheck), else float32.
        dtype = torch.float64 if images.dtype == torch.float64 else torch.float32
        draws = _Draws(images.device, generator, percentile, dtype)
        p = self.p.to(device=draws.device, dtype=torch.float32)
        like = torch.zeros(batch, device=draws.device, dtype=dtype)

        if max(self.xflip, self.rotate90, self.xint, self.scale, self.rotate, self.aniso, self.xfrac) > 0:
            images = self._geometry(images, self._sample_geometry(draws, p, like, width, height))
        if max(self.brightness, self.contrast, self.lumaflip, self.hue, self.saturation) > 0:
            images = self._color(images, draws, p, like)
        if self.imgfilter > 0:
            images = self._filter_bands(images, draws, p)
        if self.noise > 0:
            images = self._add_noise(images, draws, p)
        if self.cutout > 0:
            images = self._cutout(images, draws, p)
        return images

    # -- geometry ------------------------------------------------------------------------------------------------------

    def _sample_geometry(self, draws: _Draws, p, like, width: int, height: int) -> torch.Tensor:
        """Per-image inverse transform [N, 3, 3]: output pixel -> input pixel, in pixels from the image centre.

        Each transform T composes as G_inv <- G_inv @ T^-1, i.e. the transforms act on the image in the order listed.
        """
        n = like.shape[0]
        g_inv = torch.eye(3, device=like.device, dtype=like.dtype).expand(n, 3, 3)
        ones, zeros = torch.ones_like(like), torch.zeros_like(like)

        if self.xflip > 0:
            flip = draws.choice([n], 2)
            flip = torch.where(draws.gate([n], self.xflip * p), flip, zeros)
            g_inv = _mm(g_inv, scale2d(1 - 2 * flip, ones, like))

        if self.rotate90 > 0:
            quarter = draws.choice([n], 4).long()
            quarter = torch.where(draws.gate([n], self.rotate90 * p), quarter, torch.zeros_like(quarter))
            cos = like.new_tensor([1.0, 0.0, -1.0, 0.0])[quarter]  # exact, unlike cos(k pi / 2)
            sin = like.new_tensor([0.0, 1.0, 0.0, -1.0])[quarter]
            g_inv = _mm(g_inv, rotate2d(cos, sin, like))

        if self.xint > 0:
            t = (draws.uniform([n, 2]) * 2 - 1) * self.xint_max
            t = torch.where(draws.gate([n, 1], self.xint * p), t, torch.zeros_like(t))
            g_inv = _mm(g_inv, translate2d(-torch.round(t[:, 0] * width), -torch.round(t[:, 1] * height), like))

        if self.scale > 0:
            s = torch.exp2(draws.normal([n]) * self.scale_std)
            s = torch.where(draws.gate([n], self.scale * p), s, ones)
            g_inv = _mm(g_inv, scale2d(1 / s, 1 / s, like))

        # Rotation happens before and/or after anisotropic scaling, each with p_rot, so that P(any) = rotate * p.
        p_rot = 1 - torch.sqrt((1 - self.rotate * p).clamp(0, 1))
        if self.rotate > 0:
            theta = (draws.uniform([n]) * 2 - 1) * math.pi * self.rotate_max
            theta = torch.where(draws.gate([n], p_rot), theta, zeros)
            g_inv = _mm(g_inv, rotate2d(theta.cos(), theta.sin(), like))

        if self.aniso > 0:
            s = torch.exp2(draws.normal([n]) * self.aniso_std)
            s = torch.where(draws.gate([n], self.aniso * p), s, ones)
            g_inv = _mm(g_inv, scale2d(1 / s, s, like))

        if self.rotate > 0:
            theta = (draws.uniform([n]) * 2 - 1) * math.pi * self.rotate_max
            theta = torch.where(draws.gate([n], p_rot), theta, zeros)
            if draws.percentile is not None:
                theta = zeros  # one pinned rotation is enough
            g_inv = _mm(g_inv, rotate2d(theta.cos(), theta.sin(), like))

        if self.xfrac > 0:
            t = draws.normal([n, 2]) * self.xfrac_std
            t = torch.where(draws.gate([n, 1], self.xfrac * p), t, torch.zeros_like(t))
            g_inv = _mm(g_inv, translate2d(-t[:, 0] * width, -t[:, 1] * height, like))
        return g_inv

    def _geometry(self, images: torch.Tensor, g_inv: torch.Tensor) -> torch.Tensor:
        """Apply per-image inverse transforms; identity images are passed through untouched."""
        batch, _, height, width = images.shape
        cx, cy = (width - 1) / 2, (height - 1) / 2
        # The same map in pixel indices (origin at the top-left pixel) to recognise identities and permutations.
        to_index = _mm(translate2d(cx, cy, g_inv[:, 0, 0]), g_inv, translate2d(-cx, -cy, g_inv[:, 0, 0]))
        linear = to_index[:, :2, :2]
        identity = (to_index == torch.eye(3, device=g_inv.device, dtype=g_inv.dtype)).all(dim=2).all(dim=1)
        permutation = (
            ((linear == 0) | (linear.abs() == 1)).all(dim=2).all(dim=1)
            & ((linear[:, 0, 0] * linear[:, 1, 1] - linear[:, 0, 1] * linear[:, 1, 0]).abs() == 1)
            & (to_index[:, :2, 2] == to_index[:, :2, 2].round()).all(dim=1)
        )
        blit = permutation & ~identity
        general = ~permutation
        if bool(blit.any()):
            idx = blit.nonzero()[:, 0].to(images.device)
            images = images.index_copy(0, idx, self._blit(images.index_select(0, idx), to_index[blit]))
        if bool(general.any()):
            idx = general.nonzero()[:, 0].to(images.device)
            images = images.index_copy(0, idx, self._resample(images.index_select(0, idx), g_inv[general]))
        return images

    @staticmethod
    def _blit(images: torch.Tensor, to_index: torch.Tensor) -> torch.Tensor:
        """Exact pixel permutation: output pixel (x, y) copies input pixel ``to_index @ (x, y, 1)``, reflected."""
        n, c, h, w = images.shape
        m = to_index.to(images.device)[:, :2, :, None]  # [n, 2, 3, 1]; elementwise, no (TF32) matmul
        ys = torch.arange(h, device=images.device, dtype=m.dtype).repeat_interleave(w)[None]  # [1, h * w]
        xs = torch.arange(w, device=images.device, dtype=m.dtype).repeat(h)[None]
        src_x = (m[:, 0, 0] * xs + m[:, 0, 1] * ys + m[:, 0, 2]).round().long()
        src_y = (m[:, 1, 0] * xs + m[:, 1, 1] * ys + m[:, 1, 2]).round().long()
        index = _reflect_index(src_y, h) * w + _reflect_index(src_x, w)  # [n, h * w]
        out = images.reshape(n, c, h * w).gather(2, index[:, None, :].expand(n, c, h * w))
        return out.reshape(n, c, h, w)

    def _resample(self, images: torch.Tensor, g_inv: torch.Tensor) -> torch.Tensor:
        """Band-limited warp: reflect-pad, upsample x2 (Symlet-6), bilinear resampling, downsample x2."""
        n, c, h, w = images.shape
        f = self.geom_filter
        pad = f.shape[0] // 4  # filter reach in input pixels, per up- or down-sampling step
        g_inv = g_inv.to(device=images.device, dtype=images.dtype)
        ref = g_inv[:, 0, 0]
        cx, cy = (w - 1) / 2, (h - 1) / 2

        # Reflection padding covering everything the corners of the output map to, plus the filters' reach.
        corners = torch.tensor(
            [[-cx, cx, cx, -cx], [-cy, -cy, cy, cy], [1, 1, 1, 1]], dtype=g_inv.dtype, device=g_inv.device
        )
        src = _mm(g_inv, corners)  # [n, 3, 4]
        reach = torch.stack([(-src[:, 0]).amax(), (-src[:, 1]).amax(), src[:, 0].amax(), src[:, 1].amax()])
        limits = [w - 1, h - 1, w - 1, h - 1]
        centres = [cx, cy, cx, cy]
        left, top, right, bottom = (
            int(min(max(math.ceil(r - ctr + 2 * pad), 0), lim)) for r, ctr, lim in zip(reach.tolist(), centres, limits)
        )
        images = F.pad(images, [left, right, top, bottom], mode="reflect")
        g_inv = _mm(translate2d((left - right) / 2, (top - bottom) / 2, ref), g_inv)

        # Upsample; warp coordinates scale by 2 and follow the filter's shift.
        images = upsample2d(images, f, up=2)
        d = self.geom_filter_shift
        g_inv = _mm(scale2d(2, 2, ref), g_inv, scale2d(0.5, 0.5, ref))
        g_inv = _mm(translate2d(d, d, ref), g_inv, translate2d(-d, -d, ref))

        # Resample onto the output grid (plus the downsampling filter's reach), in grid_sample's [-1, 1] units.
        out_h, out_w = (h + 2 * pad) * 2, (w + 2 * pad) * 2
        theta = _mm(scale2d(2 / images.shape[3], 2 / images.shape[2], ref), g_inv, scale2d(out_w / 2, out_h / 2, ref))
        grid = F.affine_grid(theta[:, :2, :], [n, c, out_h, out_w], align_corners=False)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return downsample2d(images, f, down=2, padding=-2 * pad, flip_filter=True)

    # -- colour --------------------------------------------------------------------------------------------------------

    def _color(self, images: torch.Tensor, draws: _Draws, p, like) -> torch.Tensor:
        n, channels = images.shape[:2]
        ones, zeros = torch.ones_like(like), torch.zeros_like(like)
        c_mat = torch.eye(4, device=like.device, dtype=like.dtype).expand(n, 4, 4)
        selected = torch.zeros_like(like, dtype=torch.bool)
        luma = like.new_tensor([1.0, 1.0, 1.0]) / math.sqrt(3)
        luma_proj = torch.outer(luma, luma)
        eye3 = torch.eye(3, device=like.device, dtype=like.dtype)

        if self.brightness > 0:
            b = draws.normal([n]) * self.brightness_std
            on = draws.gate([n], self.brightness * p)
            shift = torch.where(on, b, zeros)
            c_mat = _mm(translate3d(shift, shift, shift, like), c_mat)
            selected |= on
        if self.contrast > 0:
            k = torch.exp2(draws.normal([n]) * self.contrast_std)
            on = draws.gate([n], self.contrast * p)
            gain = torch.where(on, k, ones)
            c_mat = _mm(scale3d(gain, gain, gain, like), c_mat)
            selected |= on
        if self.lumaflip > 0:
            flip = draws.choice([n], 2)
            on = draws.gate([n], self.lumaflip * p)
            flip = torch.where(on, flip, zeros)[:, None, None]
            c_mat = _mm(_embed_linear3d(eye3 - 2 * luma_proj * flip), c_mat)  # Householder reflection of the luma axis
            selected |= on
        if self.hue > 0 and channels > 1:
            theta = (draws.uniform([n]) * 2 - 1) * math.pi * self.hue_max
            on = draws.gate([n], self.hue * p)
            c_mat = _mm(rotate3d(luma, torch.where(on, theta, zeros)), c_mat)
            selected |= on
        if self.saturation > 0 and channels > 1:
            s = torch.exp2(draws.normal([n]) * self.saturation_std)
            on = draws.gate([n], self.saturation * p)
            s = torch.where(on, s, ones)[:, None, None]
            c_mat = _mm(_embed_linear3d(luma_proj + (eye3 - luma_proj) * s), c_mat)  # scale chroma, keep luma
            selected |= on

        if not bool(selected.any()):
            return images
        m = c_mat.to(device=images.device, dtype=images.dtype)[:, :3, :, None, None]  # [n, 3, 4, 1, 1]
        if channels == 3:
            # Written out per input channel (no matmul) so that identity rows stay exact under TF32.
            return m[:, :, 0] * images[:, 0:1] + m[:, :, 1] * images[:, 1:2] + m[:, :, 2] * images[:, 2:3] + m[:, :, 3]
        if channels == 1:
            # A grey image is (v, v, v): the output is the mean of the three output channels.
            gain = m[:, :, :3].sum(dim=2).mean(dim=1)
            return images * gain + m[:, :, 3].mean(dim=1)
        raise ValueError(f"colour augmentation needs 1 or 3 channels, got {channels}")

    # -- image-space filtering and corruptions ------------------------------------------------------------------------

    def _filter_bands(self, images: torch.Tensor, draws: _Draws, p) -> torch.Tensor:
        """Amplify each octave band by 2^N(0, imgfilter_std), keeping the expected power of a 1/f image."""
        n, c, h, w = images.shape
        num_bands = self.filter_bank.shape[0]
        expected_power = torch.tensor([10.0, 1.0, 1.0, 1.0], device=draws.device) / 13
        gains = torch.ones(n, num_bands, device=draws.device)
        selected = torch.zeros(n, dtype=torch.bool, device=draws.device)
        for band, band_strength in enumerate(self.imgfilter_bands):
            t_band = torch.exp2(draws.normal([n]) * self.imgfilter_std)
            on = draws.gate([n], self.imgfilter * p * band_strength)
            if band_strength <= 0:
                on = torch.zeros_like(on)
            t = torch.ones(n, num_bands, device=draws.device)
            t[:, band] = torch.where(on, t_band, torch.ones_like(t_band))
            gains = gains * t / (expected_power * t.square()).sum(dim=1, keepdim=True).sqrt()
            selected |= on
        if not bool(selected.any()):
            return images
        idx = selected.nonzero()[:, 0]
        taps = _mm(gains[idx], self.filter_bank.to(draws.device)).to(device=images.device, dtype=images.dtype)
        idx = idx.to(images.device)
        k = idx.shape[0]
        x = images.index_select(0, idx).reshape(1, k * c, h, w)
        r = taps.shape[1] // 2
        x = F.pad(x, [r, r, r, r], mode="reflect" if min(h, w) > r else "replicate")
        weight = taps.repeat_interleave(c, dim=0)  # symmetric taps: convolution == correlation
        x = F.conv2d(x, weight[:, None, None, :], groups=k * c)
        x = F.conv2d(x, weight[:, None, :, None], groups=k * c)
        return images.index_copy(0, idx, x.reshape(k, c, h, w))

    def _add_noise(self, images: torch.Tensor, draws: _Draws, p) -> torch.Tensor:
        """Add N(0, sigma^2) per pixel and channel, sigma = |N(0, noise_std^2)| per image."""
        n = images.shape[0]
        sigma = draws.normal([n]).abs() * self.noise_std
        on = draws.gate([n], self.noise * p)
        if not bool(on.any()):
            return images
        sigma = torch.where(on, sigma, torch.zeros_like(sigma)).to(device=images.device, dtype=images.dtype)
        noise = draws.normal(list(images.shape), pinned=False).to(device=images.device, dtype=images.dtype)
        return images + noise * sigma[:, None, None, None]

    def _cutout(self, images: torch.Tensor, draws: _Draws, p) -> torch.Tensor:
        """Zero a rectangle of cutout_size x cutout_size (relative) at a uniformly random centre."""
        n, _, h, w = images.shape
        on = draws.gate([n], self.cutout * p)
        centre = draws.uniform([n, 2])
        if not bool(on.any()):
            return images
        half = torch.where(on, self.cutout_size / 2, 0.0).to(images.device)[:, None, None, None]
        centre = centre.to(images.device)[:, :, None, None, None]
        xs = ((torch.arange(w, device=images.device) + 0.5) / w).reshape(1, 1, 1, w)
        ys = ((torch.arange(h, device=images.device) + 0.5) / h).reshape(1, 1, h, 1)
        keep = ((xs - centre[:, 0]).abs() >= half) | ((ys - centre[:, 1]).abs() >= half)
        return images * keep.to(images.dtype)
