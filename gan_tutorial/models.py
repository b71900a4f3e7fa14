"""Generators G and discriminators D.

Conventions: G maps latents ``z (B, latent_dim) float32`` to images ``(B, C, H, W) float32 in
[-1, 1]`` (tanh output); D maps images to raw logits ``(B,) float32, unbounded`` (no sigmoid:
the losses apply it inside ``binary_cross_entropy_with_logits``). Both check the shape and dtype
of their input and raise a ``ValueError`` that gives the expected shape. They do not check the
value range: that would cost a device synchronisation on every call; ``fit`` checks the range
of the data once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

MNIST_SHAPE = (1, 28, 28)


def _mlp(sizes: Sequence[int], slope: float = 0.2) -> list[nn.Module]:
    """Linear layers between consecutive ``sizes``, each followed by LeakyReLU(slope)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(slope)]
    return layers


def _check_positive_ints(name: str, values: Sequence[int]) -> tuple[int, ...]:
    values = tuple(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"{name} must be a non-empty sequence of positive integers, "
                         f"got {values!r}")
    return values


def _check_input(who: str, name: str, x: object, shape: Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``x`` is a floating-point tensor of shape ``(B, *shape)``.

    Reads only metadata, so it costs no device synchronisation. The message reads
    ``"<who> expected <name> of shape (B, ...) with a floating-point dtype, got ..."``.
    """
    ok = (isinstance(x, torch.Tensor) and x.is_floating_point()
          and tuple(x.shape[1:]) == tuple(shape) and x.dim() == len(shape) + 1)
    if not ok:
        got = (f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor)
               else type(x).__name__)
        raise ValueError(f"{who} expected {name} of shape (B, {', '.join(map(str, shape))}) "
                         f"with a floating-point dtype, got {got}")


class MLPGenerator(nn.Module):
    """Fully connected generator G: z -> image (Goodfellow et al. 2014, Section 5 used MLPs).

    Layout with the defaults: ``100 -> 256 -> 512 -> 1024 -> 784``, LeakyReLU(0.2) after each
    hidden layer, tanh at the output so images lie in ``[-1, 1]`` like the data. 1,486,352
    parameters.

    Args:
        latent_dim: size of z, >= 1.
        img_shape: ``(C, H, W)`` of the images, default MNIST ``(1, 28, 28)``.
        hidden: widths of the hidden layers.

    Input ``z``: ``(B, latent_dim)`` float. Output: ``(B, C, H, W)`` float in ``[-1, 1]``.

    Raises:
        ValueError: on bad constructor arguments, or if ``z`` is not a floating-point tensor
            of shape ``(B, latent_dim)``.
    """

    def __init__(self, latent_dim: int = 100, img_shape: Sequence[int] = MNIST_SHAPE,
                 hidden: Sequence[int] = (256, 512, 1024)) -> None:
        super().__init__()
        (self.latent_dim,) = _check_positive_ints("latent_dim", (latent_dim,))
        self.img_shape = _check_positive_ints("img_shape", img_shape)
        if len(self.img_shape) != 3:
            raise ValueError(f"img_shape must be (C, H, W), got {self.img_shape!r}")
        sizes = (self.latent_dim, *_check_positive_ints("hidden", hidden))
        self.net = nn.Sequential(*_mlp(sizes), nn.Linear(sizes[-1], math.prod(self.img_shape)),
                                 nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_input("G", "z", z, (self.latent_dim,))
        return self.net(z).view(z.shape[0], *self.img_shape)


class MLPDiscriminator(nn.Module):
    """Fully connected discriminator D: image -> logit that the image is real.

    Layout with the defaults: ``784 -> 512 -> 256 -> 1``, LeakyReLU(0.2) after each hidden
    layer, no sigmoid (D returns logits; ``D(x) = sigmoid(logit)``). 533,505 parameters.

    Args:
        img_shape: ``(C, H, W)`` of the images, default MNIST ``(1, 28, 28)``.
        hidden: widths of the hidden layers.

    Input ``x``: ``(B, C, H, W)`` float in ``[-1, 1]``. Output: logits ``(B,)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments, or if ``x`` is not a floating-point tensor
            of shape ``(B, C, H, W)``.
    """

    def __init__(self, img_shape: Sequence[int] = MNIST_SHAPE,
                 hidden: Sequence[int] = (512, 256)) -> None:
        super().__init__()
        self.img_shape = _check_positive_ints("img_shape", img_shape)
        if len(self.img_shape) != 3:
            raise ValueError(f"img_shape must be (C, H, W), got {self.img_shape!r}")
        sizes = (math.prod(self.img_shape), *_check_positive_ints("hidden", hidden))
        self.net = nn.Sequential(*_mlp(sizes), nn.Linear(sizes[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input("D", "images", x, self.img_shape)
        return self.net(x.flatten(1)).squeeze(1)


def _elu_mlp(sizes: Sequence[int]) -> list[nn.Module]:
    """The layers of :func:`_mlp` with ELU in place of LeakyReLU (smooth, for the point models)."""
    return [nn.ELU() if isinstance(layer, nn.LeakyReLU) else layer for layer in _mlp(sizes)]


class PointGenerator(nn.Module):
    """Fully connected generator G for low-dimensional points: z -> x in R^data_dim.

    For the toy problems (a 1-D Gaussian, 2-D mixtures of Gaussians). Layout with the defaults:
    ``1 -> 32 -> 32 -> 1``, ELU after each hidden layer (smooth, so a smooth latent density maps
    to a smooth ``p_g``; see :class:`PointDiscriminator` for why not LeakyReLU) and a **linear**
    output, because points, unlike images, are unbounded: a tanh output could never reach data
    such as N(4, 0.5^2). 1,153 parameters.

    Args:
        latent_dim: size of z, >= 1.
        data_dim: size of each point, >= 1.
        hidden: widths of the hidden layers.

    Input ``z``: ``(B, latent_dim)`` float. Output: points ``(B, data_dim)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments, or if ``z`` does not have shape
            ``(B, latent_dim)``.
    """

    def __init__(self, latent_dim: int = 1, data_dim: int = 1,
                 hidden: Sequence[int] = (32, 32)) -> None:
        super().__init__()
        (self.latent_dim, self.data_dim) = _check_positive_ints("latent_dim and data_dim",
                                                                (latent_dim, data_dim))
        sizes = (self.latent_dim, *_check_positive_ints("hidden", hidden))
        self.net = nn.Sequential(*_elu_mlp(sizes), nn.Linear(sizes[-1], self.data_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"G expected z of shape (B, {self.latent_dim}), "
                             f"got {tuple(z.shape)}")
        return self.net(z)


class PointDiscriminator(nn.Module):
    """Fully connected discriminator D for low-dimensional points: x -> logit that x is real.

    Layout with the defaults: ``1 -> 32 -> 32 -> 1``, ELU after each hidden layer, no sigmoid
    (D returns logits; ``D(x) = sigmoid(logit)``). The logit must follow
    ``log p_data(x) - log p_g(x)``, the logit of the optimal discriminator (Goodfellow et al.
    2014, Proposition 1), which *bends* wherever the data lie: for two Gaussians of different
    widths it is a parabola. ELU bends smoothly over a wide range of inputs. With LeakyReLU the
    logit is piecewise linear with kinks that start near the origin; on data around x = 4 such
    a D is almost linear, can see a wrong mean but not a wrong width: in five of six seeded 1-D
    GAN runs on N(4, 0.5^2) with LeakyReLU players, the generator's standard deviation stalled
    between 0.26 and 0.45 instead of 0.5. 1,153 parameters.

    Args:
        data_dim: size of each point, >= 1.
        hidden: widths of the hidden layers.

    Input ``x``: ``(B, data_dim)`` float, unbounded. Output: logits ``(B,)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments, or if ``x`` does not have shape
            ``(B, data_dim)``.
    """

    def __init__(self, data_dim: int = 1, hidden: Sequence[int] = (32, 32)) -> None:
        super().__init__()
        (self.data_dim,) = _check_positive_ints("data_dim", (data_dim,))
        sizes = (self.data_dim, *_check_positive_ints("hidden", hidden))
        self.net = nn.Sequential(*_elu_mlp(sizes), nn.Linear(sizes[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"D expected points of shape (B, {self.data_dim}), "
                             f"got {tuple(x.shape)}")
        return self.net(x).squeeze(1)
