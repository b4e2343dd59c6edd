"""An independent re-implementation of rosinality/stylegan2-pytorch's forward passes (model.py:
Generator with its fused modulated convs, Discriminator with ResBlocks and stddev), written
from its semantics on plain torch ops and reading its state-dict names directly, plus the
inverse of our importer's name mapping to make rosinality-format state dicts from our networks.

Nothing here uses stylegan.ops or stylegan.layers, so agreement with the imported networks
checks the importer (names, layouts, scales) against rosinality's own computation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2)


def make_kernel(k):
    k = torch.tensor(k, dtype=torch.float32)
    k = k[None, :] * k[:, None]
    return k / k.sum()


def upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):
    """Zero-insertion upsampling, padding, convolution with the (flipped) kernel, decimation."""
    n, c, h, w = x.shape
    if up > 1:
        y = x.new_zeros([n, c, h * up, w * up])
        y[:, :, ::up, ::up] = x
        x = y
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = torch.flip(kernel, [0, 1])[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down]


def fused_lrelu(x, bias):
    shape = [1, -1] + [1] * (x.ndim - 2)
    return F.leaky_relu(x + bias.view(shape), 0.2) * SQRT2


def equal_linear(sd, name, x, lr_mul=1.0, activation=False):
    w = sd[f"{name}.weight"]
    scale = lr_mul / math.sqrt(w.shape[1])
    if activation:
        return fused_lrelu(F.linear(x, w * scale), sd[f"{name}.bias"] * lr_mul)
    return F.linear(x, w * scale, sd[f"{name}.bias"] * lr_mul)


def modulated_conv(sd, name, x, style, demodulate=True, upsample=False, blur=(1, 3, 3, 1)):
    weight = sd[f"{name}.weight"]  # [1, out, in, k, k]
    _, out_ch, in_ch, k, _ = weight.shape
    batch = x.shape[0]
    s = equal_linear(sd, f"{name}.modulation", style).view(batch, 1, in_ch, 1, 1)
    weight = weight / math.sqrt(in_ch * k * k) * s
    if demodulate:
        weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(batch, out_ch, 1, 1, 1)
    h, w = x.shape[2:]
    x = x.reshape(1, batch * in_ch, h, w)
    if upsample:
        weight = weight.transpose(1, 2).reshape(batch * in_ch, out_ch, k, k)
        out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=batch)
        out = out.view(batch, out_ch, *out.shape[2:])
        p = (len(blur) - 2) - (k - 1)
        return upfirdn2d(out, make_kernel(blur) * 4, pad=((p + 1) // 2 + 1, p // 2 + 1))
    out = F.conv2d(x, weight.reshape(batch * out_ch, in_ch, k, k), padding=k // 2, groups=batch)
    return out.view(batch, out_ch, *out.shape[2:])


def styled_conv(sd, name, x, style, noise, upsample=False):
    out = modulated_conv(sd, f"{name}.conv", x, style, upsample=upsample)
    out = out + sd[f"{name}.noise.weight"] * noise
    return fused_lrelu(out, sd[f"{name}.activate.bias"])


def to_rgb(sd, name, x, style, skip=None, blur=(1, 3, 3, 1)):
    out = modulated_conv(sd, f"{name}.conv", x, style, demodulate=False) + sd[f"{name}.bias"]
    if skip is not None:
        p = len(blur) - 2
        out = out + upfirdn2d(skip, make_kernel(blur) * 4, up=2, pad=((p + 1) // 2 + 1, p // 2))
    return out


def mapping(sd, z, lr_mlp=0.01):
    x = z * torch.rsqrt(torch.mean(z**2, dim=1, keepdim=True) + 1e-8)
    i = 1
    while f"style.{i}.weight" in sd:
        x = equal_linear(sd, f"style.{i}", x, lr_mul=lr_mlp, activation=True)
        i += 1
    return x


def generator(sd, latent):
    """rosinality Generator.forward(..., input_is_latent=True, randomize_noise=False) on latent [N, n_latent, w]."""
    noise = [sd[f"noises.noise_{i}"] for i in range(len([k for k in sd if k.startswith("noises.")]))]
    out = sd["input.input"].repeat(latent.shape[0], 1, 1, 1)
    out = styled_conv(sd, "conv1", out, latent[:, 0], noise[0])
    skip = to_rgb(sd, "to_rgb1", out, latent[:, 1])
    i, k = 1, 0
    while f"convs.{2 * k}.conv.weight" in sd:
        out = styled_conv(sd, f"convs.{2 * k}", out, latent[:, i], noise[2 * k + 1], upsample=True)
        out = styled_conv(sd, f"convs.{2 * k + 1}", out, latent[:, i + 1], noise[2 * k + 2])
        skip = to_rgb(sd, f"to_rgbs.{k}", out, latent[:, i + 2], skip)
        i, k = i + 2, k + 1
    return skip


def conv_layer(sd, name, x, k, downsample=False, activate=True, blur=(1, 3, 3, 1)):
    """ConvLayer: [Blur] -> EqualConv2d -> [FusedLeakyReLU]; returns output and the next Sequential index."""
    idx = 0
    if downsample:
        p = (len(blur) - 2) + (k - 1)
        x = upfirdn2d(x, make_kernel(blur), pad=((p + 1) // 2, p // 2))
        idx += 1
    w = sd[f"{name}.{idx}.weight"]
    bias = None if activate else sd.get(f"{name}.{idx}.bias")
    x = F.conv2d(
        x,
        w / math.sqrt(w.shape[1] * k * k),
        bias=bias,
        stride=2 if downsample else 1,
        padding=0 if downsample else k // 2,
    )
    if activate:
        x = fused_lrelu(x, sd[f"{name}.{idx + 1}.bias"])
    return x


def discriminator(sd, img, stddev_group=4):
    out = conv_layer(sd, "convs.0", img, 1)
    j = 1
    while f"convs.{j}.conv1.0.weight" in sd:
        y = conv_layer(sd, f"convs.{j}.conv1", out, 3)
        y = conv_layer(sd, f"convs.{j}.conv2", y, 3, downsample=True)
        skip = conv_layer(sd, f"convs.{j}.skip", out, 1, downsample=True, activate=False)
        out = (y + skip) / SQRT2
        j += 1
    batch, channel, height, width = out.shape
    group = min(batch, stddev_group)
    stddev = out.view(group, -1, 1, channel, height, width)
    stddev = torch.sqrt(stddev.var(0, unbiased=False) + 1e-8)
    stddev = stddev.mean([2, 3, 4], keepdim=True).squeeze(2).repeat(group, 1, height, width)
    out = conv_layer(sd, "final_conv", torch.cat([out, stddev], 1), 3)
    out = equal_linear(sd, "final_linear.0", out.view(batch, -1), activation=True)
    return equal_linear(sd, "final_linear.1", out)


# --------------------------------------------------------------------------------------------
# Our networks -> rosinality state dicts (the inverse of stylegan.io.rosinality)


def generator_state(G) -> dict[str, torch.Tensor]:
    """rosinality Generator state dict (incl. noises and blur kernels) holding our generator's weights."""
    src = {k: v.detach().clone() for k, v in G.state_dict().items()}
    sd = {}
    for i in range(G.mapping.num_layers):
        sd[f"style.{i + 1}.weight"] = src[f"mapping.fc{i}.weight"]
        sd[f"style.{i + 1}.bias"] = src[f"mapping.fc{i}.bias"]
    sd["input.input"] = src["synthesis.b4.const"][None]
    noise_idx = 0

    def conv(theirs, ours, upsample):
        nonlocal noise_idx
        sd[f"{theirs}.conv.weight"] = src[f"{ours}.weight"][None]
        if upsample:
            sd[f"{theirs}.conv.blur.kernel"] = make_kernel([1, 3, 3, 1]) * 4
        sd[f"{theirs}.conv.modulation.weight"] = src[f"{ours}.affine.weight"]
        sd[f"{theirs}.conv.modulation.bias"] = src[f"{ours}.affine.bias"]
        sd[f"{theirs}.noise.weight"] = src[f"{ours}.noise_strength"].reshape(1)
        sd[f"{theirs}.activate.bias"] = src[f"{ours}.bias"]
        sd[f"noises.noise_{noise_idx}"] = src[f"{ours}.noise_const"][None, None]
        noise_idx += 1

    def rgb(theirs, ours, upsample):
        if upsample:
            sd[f"{theirs}.upsample.kernel"] = make_kernel([1, 3, 3, 1]) * 4
        sd[f"{theirs}.conv.weight"] = src[f"{ours}.weight"][None]
        sd[f"{theirs}.conv.modulation.weight"] = src[f"{ours}.affine.weight"]
        sd[f"{theirs}.conv.modulation.bias"] = src[f"{ours}.affine.bias"]
        sd[f"{theirs}.bias"] = src[f"{ours}.bias"].view(1, -1, 1, 1)

    conv("conv1", "synthesis.b4.conv1", False)
    rgb("to_rgb1", "synthesis.b4.torgb", False)
    for k, res in enumerate(G.synthesis.block_resolutions[1:]):
        conv(f"convs.{2 * k}", f"synthesis.b{res}.conv0", True)
        conv(f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", False)
        rgb(f"to_rgbs.{k}", f"synthesis.b{res}.torgb", True)
    # rosinality keeps the noise buffers in registration order after the layers; order does not matter.
    return sd


def discriminator_state(D) -> dict[str, torch.Tensor]:
    src = {k: v.detach().clone() for k, v in D.state_dict().items()}
    top = D.img_resolution
    sd = {"convs.0.0.weight": src[f"b{top}.fromrgb.weight"], "convs.0.1.bias": src[f"b{top}.fromrgb.bias"]}
    for j, res in enumerate(D.block_resolutions, start=1):
        sd[f"convs.{j}.conv1.0.weight"] = src[f"b{res}.conv0.weight"]
        sd[f"convs.{j}.conv1.1.bias"] = src[f"b{res}.conv0.bias"]
        sd[f"convs.{j}.conv2.0.kernel"] = make_kernel([1, 3, 3, 1])
        sd[f"convs.{j}.conv2.1.weight"] = src[f"b{res}.conv1.weight"]
        sd[f"convs.{j}.conv2.2.bias"] = src[f"b{res}.conv1.bias"]
        sd[f"convs.{j}.skip.0.kernel"] = make_kernel([1, 3, 3, 1])
        sd[f"convs.{j}.skip.1.weight"] = src[f"b{res}.skip.weight"]
    sd["final_conv.0.weight"] = src["b4.conv.weight"]
    sd["final_conv.1.bias"] = src["b4.conv.bias"]
    sd["final_linear.0.weight"] = src["b4.fc.weight"]
    sd["final_linear.0.bias"] = src["b4.fc.bias"]
    sd["final_linear.1.weight"] = src["b4.out.weight"]
    sd["final_linear.1.bias"] = src["b4.out.bias"]
    return sd
