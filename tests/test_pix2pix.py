"""pix2pix: the degradation, the U-Net and PatchGAN shapes, the losses against closed forms, and
the restoration scores on real digits."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan_tutorial import metrics
from gan_tutorial.pix2pix import (
    PatchDiscriminator,
    UNetGenerator,
    bicubic_upsample,
    degrade,
    low_resolution,
    pix2pix_d_loss,
    pix2pix_g_loss,
)


def test_low_resolution_averages_blocks() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4) / 8 - 1
    low = low_resolution(x, factor=2)
    assert low.shape == (1, 1, 2, 2)
    assert low[0, 0, 0, 0].item() == pytest.approx(x[0, 0, :2, :2].mean().item())
    with pytest.raises(ValueError, match="multiples of factor=3"):
        low_resolution(x, factor=3)
    with pytest.raises(ValueError, match="factor"):
        low_resolution(x, factor=0)


def test_degrade_keeps_constant_images_and_range(mnist_digits) -> None:
    flat = torch.full((2, 1, 28, 28), 0.25)
    assert torch.allclose(degrade(flat), flat, atol=1e-6)
    x = mnist_digits[0][:50]
    out = degrade(x)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1
    assert bicubic_upsample(low_resolution(x)).shape == x.shape
    assert (out - x).abs().mean() > 0.05  # information is lost


def test_unet_shapes_skip_connections_and_parameter_count() -> None:
    G = UNetGenerator(width=32)
    assert sum(p.numel() for p in G.parameters()) == 169_162
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    out = G(x)
    assert out.shape == (3, 1, 28, 28) and out.min() >= -1 and out.max() <= 1
    out.sum().backward()
    assert G.down1[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        G(torch.zeros(3, 1, 14, 14))


def test_patch_discriminator_sees_the_pair_and_returns_patch_logits() -> None:
    torch.manual_seed(0)
    D = PatchDiscriminator(width=64).eval()
    assert sum(p.numel() for p in D.parameters()) == 134_593
    x, cond = torch.rand(2, 2, 1, 28, 28) * 2 - 1
    logits = D(x, cond)
    assert logits.shape == (2, 7, 7)
    assert not torch.allclose(logits, D(x, -cond))  # the condition matters
    # a logit at position (0, 0) depends only on a corner patch of the input
    x2 = x.clone()
    x2[:, :, 20:, 20:] = 1
    assert torch.equal(D(x2, cond)[:, 0, 0], logits[:, 0, 0])
    with pytest.raises(ValueError, match="condition"):
        D(x, torch.zeros(2, 1, 7, 7))


def test_losses_match_closed_forms() -> None:
    class Constant(torch.nn.Module):  # a D whose every patch logit is 0: D = 1/2
        def forward(self, x, condition):
            return (x * 0).sum(dim=1) + 0 * condition.sum(dim=1)

    x_in, target, out = torch.zeros(3, 2, 1, 28, 28).unbind(0)
    out = out + 0.5
    d = pix2pix_d_loss(Constant(), x_in, target, out)
    assert d.item() == pytest.approx(math.log(4), rel=1e-6)
    total, l1 = pix2pix_g_loss(Constant(), x_in, target, out, lambda_l1=100)
    assert l1.item() == pytest.approx(0.5)
    assert total.item() == pytest.approx(math.log(2) + 100 * 0.5, rel=1e-6)
    only, l1_only = pix2pix_g_loss(None, x_in, target, out)
    assert only.item() == pytest.approx(0.5) and l1_only.item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="lambda_l1"):
        pix2pix_g_loss(None, x_in, target, out, lambda_l1=float("nan"))


def test_d_loss_does_not_reach_the_generator() -> None:
    G, D = UNetGenerator(width=4), PatchDiscriminator(width=4)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    pix2pix_d_loss(D, degrade(x), x, G(degrade(x))).backward()
    assert all(p.grad is None for p in G.parameters())


def test_restoration_scores_of_identical_and_degraded_digits(mnist_digits, evaluator) -> None:
    x, y = mnist_digits[0][::50], mnist_digits[1][::50]
    same = metrics.restoration_scores(x, x, y, evaluator)
    assert same["psnr"] == math.inf and same["ssim"] == pytest.approx(1.0)
    blurred = metrics.restoration_scores(degrade(x), x, y, evaluator)
    mse = F.mse_loss((degrade(x) + 1) / 2, (x + 1) / 2).item()
    assert blurred["psnr"] == pytest.approx(10 * math.log10(1 / mse), rel=1e-4)
    assert 0 < blurred["ssim"] < 1
    assert 0 <= blurred["accuracy"] <= same["accuracy"] <= 1
    with pytest.raises(ValueError, match="same number"):
        metrics.restoration_scores(x, x[:5], y, evaluator)
