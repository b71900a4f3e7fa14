"""Generators G and discriminators D.

Conventions: G maps latents ``z (B, latent_dim) float32`` to images ``(B, C, H, W) float32 in
[-1, 1]`` (tanh output); D maps images to raw logits ``(B,) float32, unbounded`` (no sigmoid:
the losses apply it inside ``binary_cross_entropy_with_logits``). Both check the shape and dtype
of their input and raise a ``ValueError`` that gives the expected shape. They do not check the
value range: that would cost a device synchronisation on every call; ``fit`` checks the range
of the data once.
"""

from __future__ import annotations

import itertools
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


#: Hidden activations of the point models, by name.
POINT_ACTIVATIONS: dict[str, type[nn.Module]] = {"elu": nn.ELU, "relu": nn.ReLU}


def _point_mlp(sizes: Sequence[int], activation: str) -> list[nn.Module]:
    """The layers of :func:`_mlp` with ``activation`` (a key of ``POINT_ACTIVATIONS``)."""
    if activation not in POINT_ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(POINT_ACTIVATIONS)}, "
                         f"got {activation!r}")
    make = POINT_ACTIVATIONS[activation]
    return [make() if isinstance(layer, nn.LeakyReLU) else layer for layer in _mlp(sizes)]


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
        activation: ``"elu"`` (default) or ``"relu"``. ReLU is piecewise linear like the ReLU
            generator and maxout discriminator of PacGAN (Lin et al. 2018, Appendix), and on a
            CPU whose ``exp`` is slow it is many times cheaper (the failure-modes chapter uses it).

    Input ``z``: ``(B, latent_dim)`` float. Output: points ``(B, data_dim)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments, or if ``z`` is not a float tensor of shape
            ``(B, latent_dim)``.
    """

    def __init__(self, latent_dim: int = 1, data_dim: int = 1,
                 hidden: Sequence[int] = (32, 32), activation: str = "elu") -> None:
        super().__init__()
        (self.latent_dim, self.data_dim) = _check_positive_ints("latent_dim and data_dim",
                                                                (latent_dim, data_dim))
        sizes = (self.latent_dim, *_check_positive_ints("hidden", hidden))
        self.net = nn.Sequential(*_point_mlp(sizes, activation),
                                 nn.Linear(sizes[-1], self.data_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_input("G", "z", z, (self.latent_dim,))
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

    **Packing** (PacGAN, Lin et al. 2018, Section 3): with ``pack = m > 1``, D judges ``m``
    samples at once. Consecutive rows of the input are concatenated into one vector of size
    ``m * data_dim`` -- rows ``0..m-1`` form pack 0, and so on -- and D returns one logit per
    pack. All ``m`` samples of a pack must be real, or all generated. Only the first layer
    grows (``m * data_dim`` inputs); a set of samples from a collapsed G is easier to spot than
    one sample.

    Args:
        data_dim: size of each point, >= 1.
        hidden: widths of the hidden layers.
        pack: samples per decision m, >= 1 (1 = the ordinary D).
        activation: ``"elu"`` (default) or ``"relu"``, as in :class:`PointGenerator`.

    Input ``x``: ``(B, data_dim)`` float, unbounded, B a multiple of ``pack``. Output: logits
    ``(B // pack,)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments, if ``x`` is not a float tensor of shape
            ``(B, data_dim)``, or if B is not a multiple of ``pack``.
    """

    def __init__(self, data_dim: int = 1, hidden: Sequence[int] = (32, 32),
                 pack: int = 1, activation: str = "elu") -> None:
        super().__init__()
        (self.data_dim, self.pack) = _check_positive_ints("data_dim and pack", (data_dim, pack))
        sizes = (self.pack * self.data_dim, *_check_positive_ints("hidden", hidden))
        self.net = nn.Sequential(*_point_mlp(sizes, activation), nn.Linear(sizes[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input("D", "points", x, (self.data_dim,))
        if x.shape[0] % self.pack:
            raise ValueError(f"D packs {self.pack} samples per decision, so it expected a "
                             f"number of points divisible by {self.pack}, got {x.shape[0]}")
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).squeeze(1)


# --- DCGAN (Radford et al. 2015) -------------------------------------------------------------

#: Supported ``image_size`` -> (side of the smallest feature map, number of stride-2 layers).
DCGAN_LAYOUTS: dict[int, tuple[int, int]] = {28: (7, 2), 32: (4, 3), 64: (4, 4)}


def _dcgan_layout(image_size: int, channels: int, width: int) -> tuple[int, list[int]]:
    """Validate the DCGAN arguments; return the base side and the channel ladder.

    The ladder lists the feature-map channels from the smallest map to the largest hidden one,
    e.g. ``[2 * width, width]`` for 28 x 28 (7 -> 14 -> 28): channels halve as the side doubles.
    """
    if isinstance(image_size, bool) or image_size not in DCGAN_LAYOUTS:
        raise ValueError(f"image_size must be one of {sorted(DCGAN_LAYOUTS)}, got {image_size!r}")
    _check_positive_ints("channels and width", (channels, width))
    base, n_up = DCGAN_LAYOUTS[image_size]
    return base, [width * 2 ** (n_up - 1 - i) for i in range(n_up)]


def _up(n_in: int, n_out: int) -> nn.ConvTranspose2d:
    """Fractional-strided convolution that doubles the side: kernel 4, stride 2, padding 1."""
    return nn.ConvTranspose2d(n_in, n_out, kernel_size=4, stride=2, padding=1, bias=False)


def _down(n_in: int, n_out: int, bias: bool = False) -> nn.Conv2d:
    """Strided convolution that halves the side: kernel 4, stride 2, padding 1."""
    return nn.Conv2d(n_in, n_out, kernel_size=4, stride=2, padding=1, bias=bias)


class DCGANGenerator(nn.Module):
    """Convolutional generator G: z -> image (Radford et al. 2015, Section 3 and Figure 1).

    A linear projection of z, reshaped to ``(ladder[0], base, base)``, then fractional-strided
    (transposed) convolutions, kernel 4, stride 2, padding 1, each doubling the side and halving
    the channels. BatchNorm + ReLU after every layer except the output, which is a transposed
    convolution to ``channels`` followed by tanh (no BatchNorm there). Layouts:
    28: ``2w x 7 x 7 -> w x 14 x 14 -> C x 28 x 28``; 32: ``4w x 4 x 4 -> ... -> C x 32 x 32``;
    64: ``8w x 4 x 4 -> ... -> C x 64 x 64`` (``w = width``). Layers followed by BatchNorm have no
    bias (BatchNorm's beta replaces it). With the defaults, 759,681 parameters.

    Args:
        latent_dim: size of z, >= 1.
        channels: image channels C (1 for MNIST, 3 for colour), >= 1.
        image_size: side H = W of the images, one of ``DCGAN_LAYOUTS`` (28, 32, 64).
        width: channels of the last hidden feature map, >= 1.

    Input ``z``: ``(B, latent_dim)`` float. Output: ``(B, C, H, W)`` float in ``[-1, 1]``.

    Raises:
        ValueError: on bad constructor arguments (an unsupported ``image_size`` lists the
            supported ones), or if ``z`` is not a float tensor of shape ``(B, latent_dim)``.
    """

    def __init__(self, latent_dim: int = 100, channels: int = 1, image_size: int = 28,
                 width: int = 64) -> None:
        super().__init__()
        (self.latent_dim,) = _check_positive_ints("latent_dim", (latent_dim,))
        base, ladder = _dcgan_layout(image_size, channels, width)
        self.img_shape = (channels, image_size, image_size)
        layers: list[nn.Module] = [
            nn.Linear(self.latent_dim, ladder[0] * base * base, bias=False),
            nn.Unflatten(1, (ladder[0], base, base)),
            nn.BatchNorm2d(ladder[0]), nn.ReLU(),
        ]
        for n_in, n_out in itertools.pairwise(ladder):
            layers += [_up(n_in, n_out), nn.BatchNorm2d(n_out), nn.ReLU()]
        output = nn.ConvTranspose2d(ladder[-1], channels, kernel_size=4, stride=2, padding=1)
        self.net = nn.Sequential(*layers, output, nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_input("G", "z", z, (self.latent_dim,))
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """Convolutional discriminator D: image -> logit (Radford et al. 2015, Section 3).

    Strided convolutions (kernel 4, stride 2, padding 1) instead of pooling, each halving the
    side and doubling the channels, LeakyReLU(0.2) after each; BatchNorm after every one except
    the first (D's input layer). The last feature map is flattened into one linear unit, as in
    the paper ("flattened and then fed into a single sigmoid output"), except that D returns
    the logit: no sigmoid. Layouts mirror :class:`DCGANGenerator`, e.g. 28:
    ``C x 28 x 28 -> w x 14 x 14 -> 2w x 7 x 7 -> 1``. With the defaults, 138,689 parameters.

    Args:
        channels: image channels C, >= 1.
        image_size: side H = W of the images, one of ``DCGAN_LAYOUTS`` (28, 32, 64).
        width: channels of the first feature map, >= 1.

    Input ``x``: ``(B, C, H, W)`` float in ``[-1, 1]``. Output: logits ``(B,)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments (an unsupported ``image_size`` lists the
            supported ones), or if ``x`` is not a float tensor of shape ``(B, C, H, W)``.
    """

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 64) -> None:
        super().__init__()
        base, ladder = _dcgan_layout(image_size, channels, width)
        ladder = ladder[::-1]  # width, 2 * width, ...
        self.img_shape = (channels, image_size, image_size)
        layers: list[nn.Module] = [_down(channels, ladder[0], bias=True), nn.LeakyReLU(0.2)]
        for n_in, n_out in itertools.pairwise(ladder):
            layers += [_down(n_in, n_out), nn.BatchNorm2d(n_out), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(ladder[-1] * base * base, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input("D", "images", x, self.img_shape)
        return self.net(x).squeeze(1)


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation of one layer; use it as ``G.apply(init_dcgan_weights)``.

    Radford et al. 2015, Section 4: "All weights were initialized from a zero-centered Normal
    distribution with standard deviation 0.02." Convolution, transposed-convolution and linear
    weights ~ N(0, 0.02), their biases 0; BatchNorm scale gamma ~ N(1, 0.02) and shift beta 0
    (the convention of the reference implementations). Other modules are left alone.

    Args:
        module: any module; only the layers above are changed, in place.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, mean=1.0, std=0.02)
        nn.init.zeros_(module.bias)
