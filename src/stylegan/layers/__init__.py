"""nn.Modules built from ops: equalized layers, modulated layers, normalisations."""

from stylegan.layers.adain import InstanceNorm, LayerEpilogue, NoiseInjection, StyleModulation, make_normalization
from stylegan.layers.equalized import Conv2dLayer, FullyConnectedLayer
from stylegan.layers.minibatch_std import MinibatchStdLayer, minibatch_stddev
from stylegan.layers.modulated import ModulatedConvLayer, ToRGBLayer
from stylegan.layers.pin import GateSchedule, PixelInstanceNorm, project_gates_
from stylegan.layers.wscale import WScaleConv2d, WScaleDense

__all__ = [
    "Conv2dLayer",
    "FullyConnectedLayer",
    "GateSchedule",
    "InstanceNorm",
    "LayerEpilogue",
    "MinibatchStdLayer",
    "ModulatedConvLayer",
    "NoiseInjection",
    "PixelInstanceNorm",
    "StyleModulation",
    "ToRGBLayer",
    "WScaleConv2d",
    "WScaleDense",
    "make_normalization",
    "minibatch_stddev",
    "project_gates_",
]
