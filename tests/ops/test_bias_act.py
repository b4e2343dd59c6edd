import math

import pytest
import torch

from stylegan.ops.bias_act import ACTIVATIONS, bias_act


def test_lrelu_gain_bias_clamp():
    x = torch.tensor([[-2.0, 0.5], [3.0, -0.1]])
    b = torch.tensor([1.0, -1.0])
    y = bias_act(x, b, act="lrelu", clamp=1.0)
    expected = torch.nn.functional.leaky_relu(x + b, 0.2) * math.sqrt(2)
    torch.testing.assert_close(y, expected.clamp(-1, 1))


def test_linear_defaults_and_dim():
    x = torch.randn(2, 3, 4)
    b = torch.randn(4)
    torch.testing.assert_close(bias_act(x, b, dim=2), x + b)
    torch.testing.assert_close(bias_act(x, gain=2.0), 2 * x)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_every_activation_differentiable_twice(act):
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    if act in ("relu", "lrelu"):
        x = (x.detach() + 0.05 * torch.sign(x.detach())).requires_grad_()
    assert torch.autograd.gradgradcheck(lambda a, c: bias_act(a, c, act=act), (x, b))


def test_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        bias_act(torch.zeros(1), act="nope")
