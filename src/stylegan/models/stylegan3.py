"""StyleGAN3, the alias-free generator (Karras et al., NeurIPS 2021): configs T and R.

Every signal inside the synthesis network is treated as a continuous, band-limited function
sampled on a grid (Section 3). The network is a Fourier-feature input followed by
``num_layers`` (14) alias-free layers and a ToRGB layer (num_ws = num_layers + 2):

    affine(w) -> modulated conv (3x3 for T, 1x1 for R; weights and styles pre-normalised,
    input scaled by the EMA of its magnitude) -> filtered leaky ReLU (bias, upsample,
    lrelu * sqrt(2), clamp, low-pass, downsample).

Layer i has cutoff f_c, minimum stopband f_t, sampling rate s, transition half-width f_h and
size s + 2 * margin (the last two layers: the image resolution), following a geometric
progression from the first layer to the critically sampled last ones (Section 3.2, Figure 4b;
see ``synthesis_schedule``). Config R uses radially symmetric downsampling filters and doubled
channels. Module and parameter names follow the official implementation (``synthesis.input``,
``synthesis.L0_36_512``, ...), so its state dicts load as they are.

Switches for the paper's configuration ladder (Figure 3, Section 3.2; defaults: config T/R):
``layer_schedule="stylegan2"`` lays the layers out as StyleGAN2 does (configs E-H, see
``stylegan2_schedule``), ``num_critical`` then says how many of them are critically sampled
(E, F: all; G, H: those at the output resolution), ``lrelu_upsampling=1`` applies the leaky ReLU
unfiltered at the layer's own rate (E; F on: 2), and ``fourier_transform=False`` keeps the
Fourier features fixed instead of transforming them by w (E-G; on from H).

User transforms: ``make_transform(translate, angle_deg)`` gives the image transformation in the
official ``gen_images.py`` convention; the generator's input applies its inverse
(``input_transform``, or ``G.set_transform(translate, angle_deg)``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.utils.checkpoint
from torch import nn

from stylegan.layers.equalized import FullyConnectedLayer
from stylegan.layers.fourier import FourierFeatureInput
from stylegan.layers.modulated import check_noise_mode, magnitude_gain
from stylegan.models.config_io import at_most
from stylegan.models.generator import GeneratorBase
from stylegan.models.mapping import MappingConfig
from stylegan.ops.filtered_lrelu import filtered_lrelu
from stylegan.ops.filters import design_lowpass_filter
from stylegan.ops.modulated_conv2d import modulated_conv2d


@dataclass(frozen=True)
class StyleGAN3GeneratorConfig:
    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_resolution: int = 1024
    img_channels: int = 3
    mapping: MappingConfig = field(default_factory=lambda: MappingConfig(num_layers=2, w_avg_beta=0.998))
    channel_base: int = 32768  # channels of layer i: rint(min(channel_base / 2 / f_c[i], channel_max))
    channel_max: int = 512
    num_layers: int = field(default=14, metadata=at_most(64))  # alias-free layers, without the input and ToRGB
    num_critical: int = 2  # critically sampled layers at the end
    first_cutoff: float = 2.0  # f_c of the first layer
    first_stopband: float = 2**2.1  # minimum f_t of the first layer
    last_stopband_rel: float = 2**0.3  # minimum f_t of the last layer, relative to its cutoff
    margin_size: int = 10  # extra pixels on each side of the non-final layers
    output_scale: float = 0.25
    # float16 in layers whose sampling rate * 2^num_fp16_res > resolution (CUDA only)
    num_fp16_res: int = field(default=4, metadata=at_most(64))
    conv_kernel: int = 3  # 3 for config T, 1 for config R
    filter_size: int = field(default=6, metadata=at_most(64))  # filter taps per factor of up/downsampling
    lrelu_upsampling: int = field(default=2, metadata=at_most(16))  # oversampling of the leaky ReLU
    use_radial_filters: bool = False  # radial downsampling filters in non-critical layers (config R)
    conv_clamp: float | None = 256
    magnitude_ema_beta: float = 0.999  # decay of the input-magnitude EMA (official trainer: 0.5 ** (batch / 20k))
    # Paper, Figure 3: "flexible" (config T) or "stylegan2" (configs E-H: two layers per octave from 4 px)
    layer_schedule: str = "flexible"
    fourier_transform: bool = True  # per-sample rotation/translation of the input by w (config H on)


def synthesis_schedule(
    img_resolution: int,
    img_channels: int,
    channel_base: int = 32768,
    channel_max: int = 512,
    num_layers: int = 14,
    num_critical: int = 2,
    first_cutoff: float = 2.0,
    first_stopband: float = 2**2.1,
    last_stopband_rel: float = 2**0.3,
    margin_size: int = 10,
) -> dict[str, np.ndarray]:
    """Per-layer cutoffs f_c, stopbands f_t, sampling rates s, half-widths f_h, sizes and channels
    of layers 0..num_layers (index 0 also describes the Fourier input; the last is ToRGB).

    With e = min(i / (num_layers - num_critical), 1): f_c = f_c0 (res/2 / f_c0)^e,
    f_t = f_t0 (res/2 * rel / f_t0)^e, s = 2^ceil(log2(min(2 f_t, res))), f_h = max(f_t, s/2) - f_c,
    size = s + 2 margin (the image resolution for the last two), channels =
    rint(min(channel_base / 2 / f_c, channel_max)) (img_channels for ToRGB).
    """
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    sampling_rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, sampling_rates / 2) - cutoffs
    sizes = sampling_rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    return dict(
        cutoffs=cutoffs,
        stopbands=stopbands,
        sampling_rates=sampling_rates,
        half_widths=half_widths,
        sizes=sizes,
        channels=channels,
    )


def stylegan2_schedule(
    img_resolution: int,
    img_channels: int,
    channel_base: int = 32768,
    channel_max: int = 512,
    num_critical: int = 2,
    margin_size: int = 10,
) -> dict[str, np.ndarray]:
    """The layer specification of the paper's configs E-H (Figure 3, Section 3.2): StyleGAN2's layout,
    one layer at 4 px and two per octave above it (the first of each upsamples), so
    num_layers = 2 log2(res) - 3; same keys as ``synthesis_schedule``.

    Layer i samples at s = min(4 * 2^ceil(i / 2), res) and uses windowed-sinc filters with
    transition half-width f_h = (sqrt(2) - 1) s / 2. The last ``num_critical`` layers and ToRGB are
    critically sampled, f_c = s / 2 (configs E, F: all layers); the others have f_c = s / 2 - f_h,
    so that the stopband f_t = f_c + f_h lies at s / 2 (config G's non-critical sampling). Channels
    rint(min(channel_base / 2 / f_c, channel_max)): StyleGAN2's channel_base / s where critical.
    """
    num_layers = 2 * int(np.log2(img_resolution)) - 3
    idx = np.arange(num_layers + 1)
    sampling_rates = np.minimum(4 * np.exp2(np.ceil(idx / 2)), img_resolution)
    half_widths = (np.sqrt(2) - 1) * sampling_rates / 2
    critical = idx >= num_layers - num_critical
    cutoffs = np.where(critical, sampling_rates / 2, sampling_rates / 2 - half_widths)
    sizes = sampling_rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    return dict(
        cutoffs=cutoffs,
        stopbands=cutoffs + half_widths,
        sampling_rates=sampling_rates,
        half_widths=half_widths,
        sizes=sizes,
        channels=channels,
    )


LAYER_SCHEDULES = ("flexible", "stylegan2")


class SynthesisLayer(nn.Module):
    """One alias-free layer (or the final ToRGB layer): modulated conv + filtered leaky ReLU.

    The conv runs with padding kernel - 1 (the image grows by kernel - 1 pixels); the filtered
    leaky ReLU upsamples by ``up_factor`` to ``tmp_sampling_rate``, low-passes at ``out_cutoff``
    and downsamples by ``down_factor``. Its padding centres the sample locations as in the
    paper's symmetric interpretation (Appendix C.3).

    ``recompute`` (default off; see ``set_recompute``) makes the filtered leaky ReLU recompute its
    upsampled activations in the backward pass instead of storing them (less memory, more time).
    """

    recompute = False

    def __init__(
        self,
        w_dim: int,
        is_torgb: bool,
        is_critically_sampled: bool,
        use_fp16: bool,
        in_channels: int,
        out_channels: int,
        in_size: int,
        out_size: int,
        in_sampling_rate: int,
        out_sampling_rate: int,
        in_cutoff: float,
        out_cutoff: float,
        in_half_width: float,
        out_half_width: float,
        conv_kernel: int = 3,
        filter_size: int = 6,
        lrelu_upsampling: int = 2,
        use_radial_filters: bool = False,
        conv_clamp: float | None = 256,
        magnitude_ema_beta: float = 0.999,
    ):
        super().__init__()
        self.w_dim = w_dim
        self.is_torgb = is_torgb
        self.is_critically_sampled = is_critically_sampled
        self.use_fp16 = use_fp16
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.in_size = int(in_size)
        self.out_size = int(out_size)
        self.in_sampling_rate = in_sampling_rate
        self.out_sampling_rate = out_sampling_rate
        self.tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.in_cutoff = in_cutoff
        self.out_cutoff = out_cutoff
        self.in_half_width = in_half_width
        self.out_half_width = out_half_width
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta

        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        # Upsampling filter: low-pass at the input cutoff, on the temporary (oversampled) grid.
        self.up_factor = self._ratio(self.tmp_sampling_rate, in_sampling_rate)
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer(
            "up_filter",
            design_lowpass_filter(self.up_taps, in_cutoff, in_half_width * 2, self.tmp_sampling_rate),
        )
        # Downsampling filter: low-pass at the output cutoff (radial in config R's non-critical layers).
        self.down_factor = self._ratio(self.tmp_sampling_rate, out_sampling_rate)
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled
        self.register_buffer(
            "down_filter",
            design_lowpass_filter(
                self.down_taps, out_cutoff, out_half_width * 2, self.tmp_sampling_rate, radial=self.down_radial
            ),
        )

        # Padding of the upsampled signal so that exactly out_size samples come out, centred.
        pad_total = (self.out_size - 1) * self.down_factor + 1  # size before downsampling
        pad_total -= (self.in_size + self.conv_kernel - 1) * self.up_factor  # size after conv and upsampling
        pad_total += self.up_taps + self.down_taps - 2  # shrinkage of the two filters
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [pad_lo, pad_hi, pad_lo, pad_hi]

    @staticmethod
    def _ratio(high: float, low: float) -> int:
        factor = int(np.rint(high / low))
        if low * factor != high:
            raise ValueError(f"sampling rates {high:g} and {low:g} are not in an integer ratio")
        return factor

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: str = "random",
        force_fp32: bool = False,
        update_emas: bool = False,
    ) -> torch.Tensor:
        check_noise_mode(noise_mode)  # StyleGAN3 has no noise inputs; accepted for a uniform interface
        input_gain = magnitude_gain(self.magnitude_ema, x, self.magnitude_ema_beta, update_emas)

        styles = self.affine(w)
        weight = self.weight
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(self.in_channels * self.conv_kernel**2))
        else:  # pre-normalise weight (per output channel) and styles (over the whole batch)
            weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean().rsqrt()

        dtype = torch.float16 if self.use_fp16 and not force_fp32 and x.device.type == "cuda" else torch.float32
        if self.weight.dtype == torch.bfloat16:  # prepared for bfloat16 inference (utils.precision)
            dtype = torch.bfloat16
        x = modulated_conv2d(
            x.to(dtype),
            weight,
            styles,
            padding=self.conv_kernel - 1,
            demodulate=not self.is_torgb,
            input_gain=input_gain,
        )
        return filtered_lrelu(
            x,
            self.up_filter,
            self.down_filter,
            b=self.bias.to(x.dtype),
            up=self.up_factor,
            down=self.down_factor,
            padding=self.padding,
            gain=1 if self.is_torgb else math.sqrt(2),
            slope=1 if self.is_torgb else 0.2,
            clamp=self.conv_clamp,
            recompute=self.recompute,
        )

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}, out={self.out_channels}, size {self.in_size}->{self.out_size}, "
            f"rate {self.in_sampling_rate:g}->{self.out_sampling_rate:g}, cutoff {self.in_cutoff:g}->"
            f"{self.out_cutoff:g}, up={self.up_factor}, down={self.down_factor}, torgb={self.is_torgb}, "
            f"critical={self.is_critically_sampled}"
        )


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image [N, C, R, R]: Fourier input, ``num_layers`` layers, ToRGB.

    ``recompute_layers`` (default off; see ``set_recompute``) reruns each layer in the backward
    pass instead of storing its intermediate tensors."""

    recompute_layers = False

    def __init__(self, cfg: StyleGAN3GeneratorConfig):
        super().__init__()
        res = cfg.img_resolution
        if res < 4:
            raise ValueError(f"img_resolution must be at least 4, got {res}")
        if cfg.layer_schedule not in LAYER_SCHEDULES:
            raise ValueError(f"layer_schedule must be one of {LAYER_SCHEDULES}, got {cfg.layer_schedule!r}")
        if cfg.layer_schedule == "stylegan2":
            expected = 2 * int(math.log2(res)) - 3
            if cfg.num_layers != expected:
                raise ValueError(
                    f"layer_schedule 'stylegan2' at {res} px has num_layers {expected}, got {cfg.num_layers}"
                )
            if not 0 <= cfg.num_critical <= cfg.num_layers:
                raise ValueError("num_critical must lie in [0, num_layers]")
        elif not 0 <= cfg.num_critical < cfg.num_layers:
            raise ValueError("num_critical must lie in [0, num_layers)")
        self.w_dim = cfg.w_dim
        self.num_ws = cfg.num_layers + 2
        self.img_resolution = res
        self.img_channels = cfg.img_channels
        self.num_layers = cfg.num_layers
        self.num_critical = cfg.num_critical
        self.margin_size = cfg.margin_size
        self.output_scale = cfg.output_scale
        self.num_fp16_res = cfg.num_fp16_res

        if cfg.layer_schedule == "stylegan2":
            sched = stylegan2_schedule(
                res, cfg.img_channels, cfg.channel_base, cfg.channel_max, cfg.num_critical, cfg.margin_size
            )
        else:
            sched = synthesis_schedule(
                res,
                cfg.img_channels,
                cfg.channel_base,
                cfg.channel_max,
                cfg.num_layers,
                cfg.num_critical,
                cfg.first_cutoff,
                cfg.first_stopband,
                cfg.last_stopband_rel,
                cfg.margin_size,
            )
        self.schedule = sched
        cutoffs, rates, half_widths = sched["cutoffs"], sched["sampling_rates"], sched["half_widths"]
        sizes, channels = sched["sizes"], sched["channels"]

        self.input = FourierFeatureInput(
            cfg.w_dim,
            int(channels[0]),
            int(sizes[0]),
            sampling_rate=rates[0],
            bandwidth=cutoffs[0],
            transformed=cfg.fourier_transform,
        )
        self.layer_names: list[str] = []
        for idx in range(cfg.num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim=cfg.w_dim,
                is_torgb=idx == cfg.num_layers,
                is_critically_sampled=idx >= cfg.num_layers - cfg.num_critical,
                use_fp16=bool(rates[idx] * 2**cfg.num_fp16_res > res),
                in_channels=int(channels[prev]),
                out_channels=int(channels[idx]),
                in_size=int(sizes[prev]),
                out_size=int(sizes[idx]),
                in_sampling_rate=int(rates[prev]),
                out_sampling_rate=int(rates[idx]),
                in_cutoff=cutoffs[prev],
                out_cutoff=cutoffs[idx],
                in_half_width=half_widths[prev],
                out_half_width=half_widths[idx],
                conv_kernel=cfg.conv_kernel,
                filter_size=cfg.filter_size,
                lrelu_upsampling=cfg.lrelu_upsampling,
                use_radial_filters=cfg.use_radial_filters,
                conv_clamp=cfg.conv_clamp,
                magnitude_ema_beta=cfg.magnitude_ema_beta,
            )
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def layers(self) -> list[SynthesisLayer]:
        return [getattr(self, name) for name in self.layer_names]

    def forward(self, ws: torch.Tensor, **layer_kwargs) -> torch.Tensor:
        """``layer_kwargs``: ``noise_mode`` (ignored: no noise), ``force_fp32``, ``update_emas``."""
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0])
        recompute = self.recompute_layers and torch.is_grad_enabled() and not layer_kwargs.get("update_emas")
        for layer, w in zip(self.layers(), ws[1:]):
            if recompute:  # keep only the layer's input; rerun the layer in the backward pass
                x = torch.utils.checkpoint.checkpoint(layer, x, w, use_reentrant=False, **layer_kwargs)
            else:
                x = layer(x, w, **layer_kwargs)
        if self.output_scale != 1:
            x = x * self.output_scale
        return x.to(torch.float32)


# What the synthesis layers recompute in the backward pass instead of storing (see ``set_recompute``).
RECOMPUTE_MODES = ("none", "activations", "layers")


def set_recompute(module: nn.Module, mode: str) -> int:
    """What every StyleGAN3 synthesis network inside ``module`` recomputes in the backward pass
    instead of storing it (activation checkpointing, Chen et al. 2016): ``"none"``;
    ``"activations"``, the upsampled tensors of each filtered leaky ReLU, which keeps each layer's
    input and its convolution's output; ``"layers"``, whole layers (convolutions too), which keeps
    each layer's input only. The gradients are the same. Returns the number of layers set (0: none)."""
    if mode not in RECOMPUTE_MODES:
        raise ValueError(f"recompute must be one of {RECOMPUTE_MODES}, got {mode!r}")
    layers = [m for m in module.modules() if isinstance(m, SynthesisLayer)]
    for layer in layers:
        layer.recompute = mode == "activations"
    for net in module.modules():
        if isinstance(net, SynthesisNetwork):
            net.recompute_layers = mode == "layers"
    return len(layers)


def make_transform(translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0) -> np.ndarray:
    """The 3x3 image transformation of the official ``gen_images.py``: rotate the content by
    ``angle_deg`` degrees (counter-clockwise as displayed) and move it by ``translate`` = (x, y), in
    units of the image size (x to the right, y down). The generator's input applies its inverse
    (``input_transform``)."""
    angle = angle_deg / 360.0 * np.pi * 2
    s, c = np.sin(angle), np.cos(angle)
    m = np.eye(3)
    m[0, 0], m[0, 1], m[0, 2] = c, s, translate[0]
    m[1, 0], m[1, 1], m[1, 2] = -s, c, translate[1]
    return m


def input_transform(translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0) -> torch.Tensor:
    """What to write into ``G.synthesis.input.transform``: the float32 inverse of ``make_transform``."""
    return torch.from_numpy(np.linalg.inv(make_transform(translate, angle_deg))).to(torch.float32)


class StyleGAN3Generator(GeneratorBase):
    kind = "stylegan3.generator"  # what checkpoints store (models.registry.NETWORKS)
    Config = StyleGAN3GeneratorConfig

    def __init__(self, config: StyleGAN3GeneratorConfig = StyleGAN3GeneratorConfig()):
        super().__init__(config, SynthesisNetwork(config))

    @torch.no_grad()
    def set_transform(self, translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0) -> None:
        """Translate and rotate every image this generator makes from now on (see ``make_transform``);
        no arguments restore the identity."""
        self.synthesis.input.transform.copy_(input_transform(translate, angle_deg))

    @contextlib.contextmanager
    def transformed(self, translate: tuple[float, float] = (0.0, 0.0), angle_deg: float = 0.0):
        """``set_transform(translate, angle_deg)`` within a ``with`` block; the transform before it is restored
        after (also when the block raises)."""
        matrix = self.synthesis.input.transform
        saved = matrix.detach().clone()
        self.set_transform(translate, angle_deg)
        try:
            yield self
        finally:
            with torch.no_grad():
                matrix.copy_(saved)
