"""Pure tensor functions with no parameters: the signal-processing core."""

from stylegan.ops.bias_act import activation_gain, bias_act
from stylegan.ops.conv2d_resample import conv2d_resample
from stylegan.ops.fastpath import reference_enabled, reference_ops, use_reference
from stylegan.ops.modulated_conv2d import modulated_conv2d
from stylegan.ops.norm import instance_norm, normalize_2nd_moment, pixel_instance_norm, pixel_norm
from stylegan.ops.resample import blur2d, conv_downscale2d, downscale2d, lerp_clip, upscale2d, upscale_conv2d
from stylegan.ops.upfirdn2d import downsample2d, filter2d, setup_filter, upfirdn2d, upsample2d

__all__ = [
    "activation_gain",
    "bias_act",
    "blur2d",
    "conv_downscale2d",
    "conv2d_resample",
    "downsample2d",
    "downscale2d",
    "filter2d",
    "instance_norm",
    "lerp_clip",
    "modulated_conv2d",
    "normalize_2nd_moment",
    "pixel_instance_norm",
    "pixel_norm",
    "reference_enabled",
    "reference_ops",
    "setup_filter",
    "upfirdn2d",
    "upsample2d",
    "upscale2d",
    "upscale_conv2d",
    "use_reference",
]
