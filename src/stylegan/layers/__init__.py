"""nn.Modules built from ops: equalized layers, modulated layers, normalisations."""

from stylegan.layers.equalized import Conv2dLayer, FullyConnectedLayer
from stylegan.layers.minibatch_std import MinibatchStdLayer, minibatch_stddev
from stylegan.layers.modulated import ModulatedConvLayer, ToRGBLayer

__all__ = [
    "Conv2dLayer",
    "FullyConnectedLayer",
    "MinibatchStdLayer",
    "ModulatedConvLayer",
    "ToRGBLayer",
    "minibatch_stddev",
]
