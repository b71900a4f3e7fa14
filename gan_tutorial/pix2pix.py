"""Image-to-image translation with a conditional GAN: pix2pix on 4x super-resolution of MNIST.

Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks": the
generator is a U-Net (an encoder-decoder whose skip connections carry the input's details
straight to the output, Section 3.2.1), the discriminator a *PatchGAN* that judges every
overlapping patch of the pair ``(input, output)`` as real or fake (Section 3.2.2), and G
minimises the adversarial loss plus ``lambda_l1`` times the L1 distance to the target
(Eq. 4, ``lambda = 100``). The task here is 4x super-resolution: the input is a digit reduced
to 7 x 7 pixels (:func:`low_resolution`) and brought back to 28 x 28 by bicubic
interpolation (:func:`bicubic_upsample`, also the baseline), and G must restore the 28 x 28
digit.

All images are ``(B, 1, 28, 28) float32 in [-1, 1]``; the PatchGAN returns logits
``(B, 7, 7)`` (one per patch of the input, unbounded).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .losses import d_loss_bce, g_loss_nonsaturating
from .models import MNIST_SHAPE, _check_input
from .validation import check_images, check_int, check_ints, check_number, describe


def low_resolution(x: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Average each ``factor x factor`` block of pixels: 28 x 28 -> 7 x 7 for ``factor = 4``.

    Args:
        x: images ``(B, 1, H, W) float32 in [-1, 1]``, ``H`` and ``W`` multiples of ``factor``.
        factor: the reduction, an integer >= 1.

    Returns:
        ``(B, 1, H / factor, W / factor) float32`` in ``[-1, 1]``.

    Raises:
        ValueError: if ``x`` is not float32 images in [-1, 1] (uint8 pixels, NaN, ...), or
            ``factor`` is not an integer >= 1 or does not divide the sides.
    """
    factor = check_int("factor", factor, minimum=1)
    check_images("x", x)
    if x.dim() != 4 or x.shape[-1] % factor or x.shape[-2] % factor:
        raise ValueError(f"x must be images (B, C, H, W) with H and W multiples of "
                         f"factor={factor}, got shape {tuple(x.shape)}")
    return F.avg_pool2d(x, factor)


def bicubic_upsample(x: torch.Tensor, size: int | tuple[int, int] = 28) -> torch.Tensor:
    """Bicubic interpolation to ``size x size``, clamped to ``[-1, 1]``: the baseline and G's
    input (bicubic overshoots a little at sharp edges, hence the clamp).

    Args:
        x: images ``(B, C, h, w) float32`` in ``[-1, 1]``.
        size: side of the (square) output, an integer >= 1, or its ``(height, width)``.

    Returns:
        ``(B, C, height, width) float32`` in ``[-1, 1]``.

    Raises:
        ValueError: if ``size`` is not an integer >= 1 or a pair of them.
    """
    if isinstance(size, tuple):
        if len(size) != 2:
            raise ValueError(f"size must be an integer >= 1 or a pair (height, width) of "
                             f"them, got {describe(size)}")
        height, width = check_ints("size", size, minimum=1)
    else:
        height = width = check_int("size", size, minimum=1)
    return F.interpolate(x, size=(height, width), mode="bicubic",
                         align_corners=False).clamp(-1, 1)


def degrade(x: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """The task's input: :func:`low_resolution` then :func:`bicubic_upsample` back to the
    old size: the output has ``x``'s shape, also for images that are not square.

    Raises:
        ValueError: as :func:`low_resolution` (sides not multiples of ``factor`` included).
    """
    low = low_resolution(x, factor)
    return bicubic_upsample(low, size=(x.shape[-2], x.shape[-1]))


def _block(n_in: int, n_out: int, down: bool) -> nn.Sequential:
    """Stride-2 conv (down, LeakyReLU 0.2) or transposed conv (up, ReLU), kernel 4, BatchNorm."""
    conv = (nn.Conv2d(n_in, n_out, 4, 2, 1, bias=False) if down
            else nn.ConvTranspose2d(n_in, n_out, 4, 2, 1, bias=False))
    return nn.Sequential(conv, nn.BatchNorm2d(n_out), nn.LeakyReLU(0.2) if down else nn.ReLU())


class UNetGenerator(nn.Module):
    """A small U-Net generator for 28 x 28 images (Isola et al. 2017, Section 3.2.1, Fig. 3).

    Encoder ``1 x 28 x 28 -> w x 14 x 14 -> 2w x 7 x 7``, a 3 x 3 convolution at 7 x 7, and a
    decoder that mirrors the encoder; each decoder layer also receives the encoder's feature map
    of the same size (a skip connection, concatenated along the channels), and the last layer
    receives the input image itself. The output is ``tanh`` of a 3 x 3 convolution. As in the
    paper, there is no noise input: the randomness of a GAN generator is dropped, so G is a
    deterministic function of its input. With ``w = 32``, 169,162 parameters.

    Args:
        width: channels of the first feature map ``w``, >= 1.

    Input ``x``: ``(B, 1, 28, 28) float32 in [-1, 1]`` (e.g. :func:`degrade` of a digit).
    Output: ``(B, 1, 28, 28) float32 in [-1, 1]``.

    Raises:
        ValueError: on a bad ``width``, or an input that is not ``(B, 1, 28, 28)`` float.
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = check_int("width", width, minimum=1)
        self.down1 = nn.Sequential(nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2))  # no BN at input
        self.down2 = _block(w, 2 * w, down=True)
        self.middle = nn.Sequential(nn.Conv2d(2 * w, 2 * w, 3, 1, 1, bias=False),
                                    nn.BatchNorm2d(2 * w), nn.ReLU())
        self.up1 = _block(4 * w, w, down=False)  # [middle, down2] -> 14 x 14
        self.up2 = _block(2 * w, w, down=False)  # [up1, down1] -> 28 x 28
        self.out = nn.Sequential(nn.Conv2d(w + 1, 1, 3, 1, 1), nn.Tanh())  # [up2, input]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input("UNetGenerator", "x", x, MNIST_SHAPE)
        d1 = self.down1(x)
        d2 = self.down2(d1)
        u1 = self.up1(torch.cat([self.middle(d2), d2], dim=1))
        u2 = self.up2(torch.cat([u1, d1], dim=1))
        return self.out(torch.cat([u2, x], dim=1))


class PatchDiscriminator(nn.Module):
    """A PatchGAN discriminator D(output, input) (Isola et al. 2017, Section 3.2.2).

    D sees the pair as two channels, ``[candidate, input]``: a conditional GAN must judge
    whether the output fits *this* input, not only whether it looks like a digit (Eq. 1).
    ``2 x 28 x 28 -> w x 14 x 14 -> 2w x 7 x 7 -> 1 x 7 x 7``: two stride-2 convolutions
    (LeakyReLU 0.2, BatchNorm on the second only) and a 3 x 3 convolution to one logit per
    position. Each logit sees an 18 x 18 pixel patch of the 28 x 28 pair (its receptive field),
    so D classifies patches, not whole images; the loss averages over them. With ``w = 64``,
    134,593 parameters.

    Args:
        width: channels of the first feature map ``w``, >= 1.

    Input ``x``: candidate output ``(B, 1, 28, 28)`` and ``condition``: the task's input
    ``(B, 1, 28, 28)``, both float in ``[-1, 1]``. Output: logits ``(B, 7, 7)`` float, unbounded.

    Raises:
        ValueError: on a bad ``width``, or inputs that are not ``(B, 1, 28, 28)`` float.
    """

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        w = check_int("width", width, minimum=1)
        self.net = nn.Sequential(nn.Conv2d(2, w, 4, 2, 1), nn.LeakyReLU(0.2),
                                 _block(w, 2 * w, down=True),
                                 nn.Conv2d(2 * w, 1, 3, 1, 1))

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        _check_input("PatchDiscriminator", "x", x, MNIST_SHAPE)
        _check_input("PatchDiscriminator", "condition", condition, MNIST_SHAPE)
        return self.net(torch.cat([x, condition], dim=1)).squeeze(1)


def pix2pix_d_loss(D: nn.Module, x_in: torch.Tensor, x_target: torch.Tensor,
                   x_out: torch.Tensor) -> torch.Tensor:
    """D's loss: binary cross-entropy of every patch, real pairs ``(target, input)`` labelled 1
    and generated pairs ``(G(input), input)`` labelled 0 (Isola et al. 2017, Eq. 1; the
    patches' logits are flattened into one batch for :func:`gan_tutorial.losses.d_loss_bce`).

    ``x_out`` is detached here, so the loss trains D only. Returns a 0-dim tensor (nats).
    """
    real = D(x_target, x_in).flatten()
    fake = D(x_out.detach(), x_in).flatten()
    return d_loss_bce(real, fake)


def _check_same_shape(**images: object) -> None:
    """Raise ``ValueError`` unless every value is a tensor, all of one shape (metadata only)."""
    for name, x in images.items():
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a tensor of images, got {describe(x)}")
    shapes = {name: tuple(x.shape) for name, x in images.items()}  # type: ignore[union-attr]
    if len(set(shapes.values())) > 1:
        names = ", ".join(list(shapes)[:-1]) + f" and {list(shapes)[-1]}"
        got = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{names} must have one shape (they are not broadcast), got {got}")


def pix2pix_g_loss(D: nn.Module | None, x_in: torch.Tensor, x_target: torch.Tensor,
                   x_out: torch.Tensor, lambda_l1: float = 100.0
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """G's loss ``L_adv + lambda_l1 * L1`` (Isola et al. 2017, Eq. 4) and its L1 part.

    ``L_adv`` is the non-saturating loss ``-mean log D(G(x), x)`` over all patches (their
    Section 3.3, following Goodfellow et al. 2014); ``L1 = mean |target - G(x)|`` over the
    pixels (model range, so in ``[0, 2]``). With ``D = None`` the adversarial term is left out:
    the same G trained by L1 alone, the paper's "L1" row of Table 1.

    ``x_in``, ``x_target`` and ``x_out`` must be tensors of one shape (only their shapes are
    checked, which costs no device synchronisation).

    Returns:
        0-dim tensors ``(total, l1)``; ``total`` is differentiable with respect to ``x_out``.

    Raises:
        ValueError: if ``lambda_l1`` is negative or not finite, or the three images are not
            tensors of one shape (they are not broadcast).
    """
    lambda_l1 = check_number("lambda_l1", lambda_l1, minimum=0)
    _check_same_shape(x_in=x_in, x_target=x_target, x_out=x_out)
    l1 = (x_target - x_out).abs().mean()
    if D is None:
        return l1, l1.detach()
    adversarial = g_loss_nonsaturating(D(x_out, x_in).flatten())
    return adversarial + lambda_l1 * l1, l1.detach()
