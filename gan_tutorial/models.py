"""Generators G and discriminators D.

Conventions: G maps latents ``z (B, latent_dim) float32`` to images ``(B, C, H, W) float32 in
[-1, 1]`` (tanh output); D maps images to raw logits ``(B,) float32, unbounded`` (no sigmoid:
the losses apply it inside ``binary_cross_entropy_with_logits``). Both check the shape and dtype
of their input and raise a ``ValueError`` that gives the expected shape. They do not check the
value range: that would cost a device synchronisation on every call; ``fit`` checks the range
of the data once.

**Conditional models.** The image models take ``num_classes=K``: then ``G(z, y)`` and
``D(x, y)`` need class labels ``y (B,) int64 in [0, K)`` (Mirza & Osindero 2014, "Conditional
Generative Adversarial Nets"). G concatenates z with the one-hot label, as in that paper; D is
a projection discriminator (Miyato & Koyama 2018). The labels' range *is* checked, although
reading ``y.min()`` and ``y.max()`` waits for the device: an out-of-range label would index
outside D's embedding table, which on a GPU is a device-side assertion that kills the process
instead of an error naming the label. Inside :func:`labels_checked`, which
:func:`gan_tutorial.runner.fit` uses after checking every label where the data enter, that read
is skipped. Without ``num_classes`` (the default) a model is
unconditional, ``y`` must be None, and its parameters and ``state_dict`` keys are exactly those
of the unconditional layout, so older checkpoints load. (A conditional G saved when G still took
a learned label embedding does not load: its ``embed.weight`` and first layer do not fit.)
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from .validation import check_bool, check_int, check_ints, check_labels, describe

MNIST_SHAPE = (1, 28, 28)


def _mlp(sizes: Sequence[int], slope: float = 0.2) -> list[nn.Module]:
    """Linear layers between consecutive ``sizes``, each followed by LeakyReLU(slope)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.LeakyReLU(slope)]
    return layers


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


def _check_img_shape(img_shape: Sequence[int]) -> tuple[int, ...]:
    """``(C, H, W)`` as a tuple of three positive Python ints, else ``ValueError``."""
    shape = check_ints("img_shape", img_shape)
    if len(shape) != 3:
        raise ValueError(f"img_shape must be (C, H, W), got {shape!r}")
    return shape


def _check_num_classes(num_classes: int | None) -> int | None:
    """``None`` (unconditional) or the number of classes as an int >= 1."""
    return None if num_classes is None else check_int("num_classes", num_classes, minimum=1)


def _check_y(model: nn.Module, who: str, y: object, batch: int) -> torch.Tensor | None:
    """``y`` checked against the model's ``num_classes``: None for an unconditional model,
    labels ``(batch,) int64 in [0, num_classes)`` for a conditional one (reads their range
    unless inside :func:`labels_checked`)."""
    num_classes = model.num_classes
    if num_classes is None:
        if y is not None:
            raise ValueError(f"{who} was built without num_classes (unconditional), so y must be "
                             f"None; got {describe(y)}. Build it with num_classes=K to "
                             f"condition on labels")
        return None
    if y is None:
        raise ValueError(f"{who} was built with num_classes={num_classes}, so it needs class "
                         f"labels y of shape (B,) and dtype int64; got y=None")
    return check_labels("y", y, batch, num_classes,
                        check_range=not getattr(model, "labels_checked", False))


@contextlib.contextmanager
def labels_checked(*models: nn.Module) -> Iterator[None]:
    """Inside, the conditional models skip reading their labels' range on every forward pass
    (a device sync each); :func:`gan_tutorial.runner.fit` uses it after checking every label
    once, where the data enter. Shape and dtype are still checked."""
    previous = [getattr(model, "labels_checked", False) for model in models]
    for model in models:
        model.labels_checked = True
    try:
        yield
    finally:
        for model, value in zip(models, previous):
            model.labels_checked = value


def _generator_input(G: nn.Module, z: object, y: object) -> torch.Tensor:
    """Check ``z`` (and ``y``); return the first layer's input: ``z``, or ``[z, one_hot(y)]``."""
    _check_input("G", "z", z, (G.latent_dim,))
    y = _check_y(G, "G", y, len(z))  # type: ignore[arg-type]
    if y is None:
        return z
    return torch.cat([z, nn.functional.one_hot(y, G.num_classes).to(z.dtype)], dim=1)


def projection(D: nn.Module, x: torch.Tensor, y: object) -> torch.Tensor:
    """``psi(phi(x)) + <embed(y), phi(x)>`` with ``phi = D.net[:-1]`` and ``psi = D.net[-1]``
    (Miyato & Koyama 2018, Eq. 3); just ``psi(phi(x))`` for an unconditional D.

    ``x`` is D's input, ``y`` labels ``(B,) int64 in [0, D.num_classes)`` or None; returns
    logits ``(B,) float32``. Raises ``ValueError`` if ``y`` does not fit D (see the module).
    """
    y = _check_y(D, "D", y, len(x))
    *phi, psi = D.net
    for layer in phi:
        x = layer(x)
    logit = psi(x).squeeze(1)
    return logit if y is None else logit + (D.embed(y) * x).sum(dim=1)


def _label_embedding(num_classes: int | None, dim: int) -> nn.Embedding | None:
    """D's class vectors ``nn.Embedding(num_classes, dim)``, or None for an unconditional D.
    Drawn as Miyato & Koyama's reference code does (Glorot uniform, bound
    ``sqrt(6 / (num_classes + dim))``), so that ``<embed(y), phi(x)>`` starts on the scale of the
    final Linear layer's term (PyTorch's bound ``1 / sqrt(dim)``) rather than ``sqrt(dim)`` times
    larger, as PyTorch's default N(0, 1) would make it."""
    if num_classes is None:
        return None
    embed = nn.Embedding(num_classes, dim)
    nn.init.xavier_uniform_(embed.weight)
    return embed


class MLPGenerator(nn.Module):
    """Fully connected generator G: z -> image (Goodfellow et al. 2014, Section 5 used MLPs).

    Layout with the defaults: ``100 -> 256 -> 512 -> 1024 -> 784``, LeakyReLU(0.2) after each
    hidden layer, tanh at the output so images lie in ``[-1, 1]`` like the data. 1,486,352
    parameters.

    **Conditional** (``num_classes=K``): the conditional MLP of Mirza & Osindero 2014,
    Section 4.1: G's input is ``[z, one_hot(y)]``, so only the first Linear layer grows
    (``latent_dim + K`` inputs); the rest is unchanged. With the other defaults and K = 10,
    1,488,912 parameters (2,560 more).

    Args:
        latent_dim: size of z, >= 1.
        img_shape: ``(C, H, W)`` of the images, default MNIST ``(1, 28, 28)``.
        hidden: widths of the hidden layers.
        num_classes: number of classes K >= 1 to condition on, or None (unconditional).

    Input ``z``: ``(B, latent_dim)`` float; ``y``: ``(B,) int64 in [0, K)`` if conditional, else
    None. Output: ``(B, C, H, W)`` float in ``[-1, 1]``.

    Raises:
        ValueError: on bad constructor arguments, if ``z`` is not a floating-point tensor
            of shape ``(B, latent_dim)``, or if ``y`` is missing, given to an unconditional G,
            or not labels ``(B,) int64 in [0, K)``.
    """

    def __init__(self, latent_dim: int = 100, img_shape: Sequence[int] = MNIST_SHAPE,
                 hidden: Sequence[int] = (256, 512, 1024),
                 num_classes: int | None = None) -> None:
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.img_shape = _check_img_shape(img_shape)
        self.num_classes = _check_num_classes(num_classes)
        sizes = (self.latent_dim + (self.num_classes or 0), *check_ints("hidden", hidden))
        self.net = nn.Sequential(*_mlp(sizes), nn.Linear(sizes[-1], math.prod(self.img_shape)),
                                 nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(_generator_input(self, z, y)).view(z.shape[0], *self.img_shape)


class MLPDiscriminator(nn.Module):
    """Fully connected discriminator D: image -> logit that the image is real.

    Layout with the defaults: ``784 -> 512 -> 256 -> 1``, LeakyReLU(0.2) after each hidden
    layer, no sigmoid (D returns logits; ``D(x) = sigmoid(logit)``). 533,505 parameters.

    **Conditional** (``num_classes=K``): a projection discriminator (Miyato & Koyama 2018,
    Eq. 3 and Fig. 14): ``logit = psi(phi(x)) + <embed(y), phi(x)>``, where ``phi(x)`` is the
    last hidden activation (``self.net[:-1]``, 256 numbers with the defaults), ``psi`` the final
    Linear layer (``self.net[-1]``) and ``self.embed = nn.Embedding(K, 256)`` (Glorot-uniform
    initialisation, as in the paper's code). With the defaults and K = 10, 536,065 parameters.

    Args:
        img_shape: ``(C, H, W)`` of the images, default MNIST ``(1, 28, 28)``.
        hidden: widths of the hidden layers.
        num_classes: number of classes K >= 1 to condition on, or None (unconditional).

    Input ``x``: ``(B, C, H, W)`` float in ``[-1, 1]``; ``y``: ``(B,) int64 in [0, K)`` if
    conditional, else None. Output: logits ``(B,)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments, if ``x`` is not a floating-point tensor
            of shape ``(B, C, H, W)``, or if ``y`` is missing, given to an unconditional D, or
            not labels ``(B,) int64 in [0, K)``.
    """

    def __init__(self, img_shape: Sequence[int] = MNIST_SHAPE,
                 hidden: Sequence[int] = (512, 256), num_classes: int | None = None) -> None:
        super().__init__()
        self.img_shape = _check_img_shape(img_shape)
        self.num_classes = _check_num_classes(num_classes)
        sizes = (math.prod(self.img_shape), *check_ints("hidden", hidden))
        self.net = nn.Sequential(*_mlp(sizes), nn.Linear(sizes[-1], 1))
        self.embed = _label_embedding(self.num_classes, sizes[-1])

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        _check_input("D", "images", x, self.img_shape)
        return projection(self, x.flatten(1), y)


#: Hidden activations of the point models, by name.
POINT_ACTIVATIONS: dict[str, type[nn.Module]] = {"elu": nn.ELU, "relu": nn.ReLU}


def _point_mlp(sizes: Sequence[int], activation: str) -> list[nn.Module]:
    """The layers of :func:`_mlp` with ``activation`` (a key of ``POINT_ACTIVATIONS``)."""
    if activation not in POINT_ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(POINT_ACTIVATIONS)}, "
                         f"got {activation!r}")
    make = POINT_ACTIVATIONS[activation]
    return [make() if isinstance(layer, nn.LeakyReLU) else layer for layer in _mlp(sizes)]


def packs(x: torch.Tensor, data_dim: int, pack: int) -> torch.Tensor:
    """Points ``(B, data_dim)`` -> packs ``(B // pack, pack * data_dim)``: rows ``0..m-1`` form
    pack 0, and so on (PacGAN, Lin et al. 2018, Section 3). Raises ``ValueError`` on a bad
    shape or a B that is not a multiple of ``pack``."""
    _check_input("D", "points", x, (data_dim,))
    if x.shape[0] % pack:
        raise ValueError(f"D packs {pack} samples per decision, so it expected a "
                         f"number of points divisible by {pack}, got {x.shape[0]}")
    return x.reshape(x.shape[0] // pack, pack * data_dim)


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
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.num_classes = None  # unconditional; every model has the attribute
        sizes = (self.latent_dim, *check_ints("hidden", hidden))
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
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.pack = check_int("pack", pack, minimum=1)
        self.num_classes = None  # unconditional; every model has the attribute
        sizes = (self.pack * self.data_dim, *check_ints("hidden", hidden))
        self.net = nn.Sequential(*_point_mlp(sizes, activation), nn.Linear(sizes[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(packs(x, self.data_dim, self.pack)).squeeze(1)



class Maxout(nn.Module):
    """A linear layer followed by a maxout over ``pieces`` (Goodfellow et al. 2013, Eq. 1).

    ``h_i = max_j (W x + b)_{i, j}`` for ``j < pieces``: each of the ``n_out`` units is the
    largest of ``pieces`` linear functions of the input, a learned convex piecewise-linear
    activation. Input ``(B, n_in)`` float; output ``(B, n_out)`` float.

    Raises:
        ValueError: if a size is not an integer >= 1.
    """

    def __init__(self, n_in: int, n_out: int, pieces: int) -> None:
        super().__init__()
        self.n_out = check_int("n_out", n_out, minimum=1)
        self.pieces = check_int("pieces", pieces, minimum=1)
        self.linear = nn.Linear(check_int("n_in", n_in, minimum=1), n_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).unflatten(-1, (self.n_out, self.pieces)).max(-1).values


class BatchNormPointGenerator(nn.Module):
    """PacGAN's 2-D generator: ``Linear -> BatchNorm -> ReLU`` hidden layers, linear output.

    Lin et al. 2018 (PacGAN), Appendix, and their released code: four hidden layers of 400
    units, each a bias-free linear map, batch normalisation and ReLU; a linear output layer with
    a bias. BatchNorm here keeps no running averages (``track_running_stats=False``): it always
    normalises with the statistics of the batch it is given, in training and in sampling (PacGAN
    sampled with running averages; over the 2,500-point evaluation batch the two agree up to
    sampling noise). This also lets many copies be stacked with ``torch.func.vmap``.

    Args:
        latent_dim: size of z, >= 1.
        data_dim: size of each point, >= 1.
        hidden: widths of the hidden layers (PacGAN: ``(400,) * 4``).

    Input ``z``: ``(B, latent_dim)`` float, B >= 2. Output: points ``(B, data_dim)`` float,
    unbounded.

    Raises:
        ValueError: on bad constructor arguments, or if ``z`` is not a float tensor of shape
            ``(B, latent_dim)``.
    """

    def __init__(self, latent_dim: int = 2, data_dim: int = 2,
                 hidden: Sequence[int] = (400, 400, 400, 400)) -> None:
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.num_classes = None  # unconditional; every model has the attribute
        sizes = (self.latent_dim, *check_ints("hidden", hidden))
        layers: list[nn.Module] = []
        for n_in, n_out in itertools.pairwise(sizes):
            layers += [nn.Linear(n_in, n_out, bias=False),
                       nn.BatchNorm1d(n_out, track_running_stats=False), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], self.data_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_input("G", "z", z, (self.latent_dim,))
        return self.net(z)


class MaxoutPointDiscriminator(nn.Module):
    """PacGAN's 2-D discriminator: :class:`Maxout` hidden layers, one linear output logit.

    Lin et al. 2018 (PacGAN), Appendix, and their released code: three hidden layers of 200
    maxout units with 5 pieces each, no normalisation. Packing works as in
    :class:`PointDiscriminator`: consecutive rows ``0..m-1`` form pack 0, and only the first
    layer grows (``pack * data_dim`` inputs).

    Args:
        data_dim: size of each point, >= 1.
        hidden: widths of the hidden layers (PacGAN: ``(200,) * 3``).
        pack: samples per decision m, >= 1.
        pieces: linear pieces per maxout unit, >= 1 (PacGAN: 5).

    Input ``x``: ``(B, data_dim)`` float, B a multiple of ``pack``. Output: logits
    ``(B // pack,)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments, if ``x`` is not a float tensor of shape
            ``(B, data_dim)``, or if B is not a multiple of ``pack``.
    """

    def __init__(self, data_dim: int = 2, hidden: Sequence[int] = (200, 200, 200),
                 pack: int = 1, pieces: int = 5) -> None:
        super().__init__()
        self.data_dim = check_int("data_dim", data_dim, minimum=1)
        self.pack = check_int("pack", pack, minimum=1)
        self.num_classes = None  # unconditional; every model has the attribute
        sizes = (self.pack * self.data_dim, *check_ints("hidden", hidden))
        self.net = nn.Sequential(*(Maxout(n_in, n_out, pieces)
                                   for n_in, n_out in itertools.pairwise(sizes)),
                                 nn.Linear(sizes[-1], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(packs(x, self.data_dim, self.pack)).squeeze(1)

# --- DCGAN (Radford et al. 2015) -------------------------------------------------------------

#: Supported ``image_size`` -> (side of the smallest feature map, number of stride-2 layers).
DCGAN_LAYOUTS: dict[int, tuple[int, int]] = {28: (7, 2), 32: (4, 3), 64: (4, 4)}


def _dcgan_layout(image_size: int, channels: int,
                  width: int) -> tuple[tuple[int, int, int], int, list[int]]:
    """Validate the DCGAN arguments; return ``img_shape``, the base side and the channel ladder.

    The ladder lists the feature-map channels from the smallest map to the largest hidden one,
    e.g. ``[2 * width, width]`` for 28 x 28 (7 -> 14 -> 28): channels halve as the side doubles.
    """
    if (isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral)
            or int(image_size) not in DCGAN_LAYOUTS):
        raise ValueError(f"image_size must be one of {sorted(DCGAN_LAYOUTS)}, "
                         f"got {describe(image_size)}")
    side, channels = int(image_size), check_int("channels", channels, minimum=1)
    width = check_int("width", width, minimum=1)
    base, n_up = DCGAN_LAYOUTS[side]
    return (channels, side, side), base, [width * 2 ** (n_up - 1 - i) for i in range(n_up)]


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

    **Conditional** (``num_classes=K``): as in the conditional MLP of Mirza & Osindero 2014,
    Section 4.1, the one-hot label is concatenated with z and fed into the first (linear)
    layer, which alone grows to ``latent_dim + K`` inputs. With the other defaults and K = 10,
    822,401 parameters (62,720 more). A learned 50-number label embedding drawn N(0, 1) in its
    place made G ignore z within each class on MNIST (every sample of a digit nearly the same
    image); the one-hot label, of norm 1, did not (measured in the applications chapter).

    Args:
        latent_dim: size of z, >= 1.
        channels: image channels C (1 for MNIST, 3 for colour), >= 1.
        image_size: side H = W of the images, one of ``DCGAN_LAYOUTS`` (28, 32, 64).
        width: channels of the last hidden feature map, >= 1.
        num_classes: number of classes K >= 1 to condition on, or None (unconditional).

    Input ``z``: ``(B, latent_dim)`` float; ``y``: ``(B,) int64 in [0, K)`` if conditional, else
    None. Output: ``(B, C, H, W)`` float in ``[-1, 1]``.

    Raises:
        ValueError: on bad constructor arguments (an unsupported ``image_size`` lists the
            supported ones), if ``z`` is not a float tensor of shape ``(B, latent_dim)``, or if
            ``y`` is missing, given to an unconditional G, or not labels ``(B,) int64 in [0, K)``.
    """

    def __init__(self, latent_dim: int = 100, channels: int = 1, image_size: int = 28,
                 width: int = 64, num_classes: int | None = None) -> None:
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.img_shape, base, ladder = _dcgan_layout(image_size, channels, width)
        self.num_classes = _check_num_classes(num_classes)
        n_in = self.latent_dim + (self.num_classes or 0)
        layers: list[nn.Module] = [
            nn.Linear(n_in, ladder[0] * base * base, bias=False),
            nn.Unflatten(1, (ladder[0], base, base)),
            nn.BatchNorm2d(ladder[0]), nn.ReLU(),
        ]
        for n_in, n_out in itertools.pairwise(ladder):
            layers += [_up(n_in, n_out), nn.BatchNorm2d(n_out), nn.ReLU()]
        output = nn.ConvTranspose2d(ladder[-1], self.img_shape[0], kernel_size=4, stride=2,
                                    padding=1)
        self.net = nn.Sequential(*layers, output, nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(_generator_input(self, z, y))


class DCGANDiscriminator(nn.Module):
    """Convolutional discriminator D: image -> logit (Radford et al. 2015, Section 3).

    Strided convolutions (kernel 4, stride 2, padding 1) instead of pooling, each halving the
    side and doubling the channels, LeakyReLU(0.2) after each; BatchNorm after every one except
    the first (D's input layer). The last feature map is flattened into one linear unit, as in
    the paper ("flattened and then fed into a single sigmoid output"), except that D returns
    the logit: no sigmoid. Layouts mirror :class:`DCGANGenerator`, e.g. 28:
    ``C x 28 x 28 -> w x 14 x 14 -> 2w x 7 x 7 -> 1``. With the defaults, 138,689 parameters.

    **Conditional** (``num_classes=K``): a projection discriminator (Miyato & Koyama 2018,
    Eq. 3 and Fig. 14): ``logit = psi(phi(x)) + <embed(y), phi(x)>``, where ``phi(x)`` is the
    flattened last feature map (``self.net[:-1]``, 6,272 numbers with the defaults), ``psi`` the
    final Linear layer (``self.net[-1]``) and ``self.embed = nn.Embedding(K, 6272)``
    (Glorot-uniform initialisation, as in the paper's code; :func:`init_dcgan_weights` leaves it
    alone). With the defaults and K = 10, 201,409 parameters.

    **Spectral normalisation** (``spectral_norm=True``; Miyato et al. 2018, Eq. 8 and
    Algorithm 1): every convolution and the final linear layer compute with ``W / sigma(W)``,
    ``sigma`` the largest singular value estimated by one step of power iteration per forward
    pass in training mode (``torch.nn.utils.parametrizations.spectral_norm``), so each layer is
    1-Lipschitz and so is D (LeakyReLU is too). The trainable tensor of such a layer is
    ``layer.parametrizations.weight.original``. **Without BatchNorm** (``batch_norm=False``)
    D's hidden convolutions get a bias instead, and each sample's output depends on that
    sample only, as the gradient penalties (WGAN-GP, R1) assume; Miyato et al.'s and
    Gulrajani et al.'s critics have no BatchNorm either.

    Args:
        channels: image channels C, >= 1.
        image_size: side H = W of the images, one of ``DCGAN_LAYOUTS`` (28, 32, 64).
        width: channels of the first feature map, >= 1.
        num_classes: number of classes K >= 1 to condition on, or None (unconditional).
        batch_norm: BatchNorm after the hidden convolutions (Radford et al.'s D, the default).
        spectral_norm: spectral normalisation of every convolution and linear layer.

    Input ``x``: ``(B, C, H, W)`` float in ``[-1, 1]``; ``y``: ``(B,) int64 in [0, K)`` if
    conditional, else None. Output: logits ``(B,)`` float, unbounded.

    Raises:
        ValueError: on bad constructor arguments (an unsupported ``image_size`` lists the
            supported ones), if ``x`` is not a float tensor of shape ``(B, C, H, W)``, or if
            ``y`` is missing, given to an unconditional D, or not labels ``(B,) int64 in [0, K)``.
    """

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 64,
                 num_classes: int | None = None, batch_norm: bool = True,
                 spectral_norm: bool = False) -> None:
        super().__init__()
        self.img_shape, base, ladder = _dcgan_layout(image_size, channels, width)
        self.num_classes = _check_num_classes(num_classes)
        check_bool("batch_norm", batch_norm)
        check_bool("spectral_norm", spectral_norm)
        ladder = ladder[::-1]  # width, 2 * width, ...
        layers: list[nn.Module] = [_down(self.img_shape[0], ladder[0], bias=True),
                                   nn.LeakyReLU(0.2)]
        for n_in, n_out in itertools.pairwise(ladder):
            norm = [nn.BatchNorm2d(n_out)] if batch_norm else []
            layers += [_down(n_in, n_out, bias=not batch_norm), *norm, nn.LeakyReLU(0.2)]
        features = ladder[-1] * base * base
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, 1))
        if spectral_norm:
            for layer in self.net:
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    parametrizations.spectral_norm(layer)
        self.embed = _label_embedding(self.num_classes, features)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        _check_input("D", "images", x, self.img_shape)
        return projection(self, x, y)


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation of one layer; use it as ``G.apply(init_dcgan_weights)``.

    Radford et al. 2015, Section 4: "All weights were initialized from a zero-centered Normal
    distribution with standard deviation 0.02." Convolution, transposed-convolution and linear
    weights ~ N(0, 0.02), their biases 0; BatchNorm scale gamma ~ N(1, 0.02) and shift beta 0
    (the convention of the reference implementations). Other modules are left alone. A
    spectrally normalised layer gets its trainable ``original`` weight drawn instead (the
    normalisation then rescales it).

    Args:
        module: any module; only the layers above are changed, in place.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = (module.parametrizations.weight.original
                  if parametrize.is_parametrized(module, "weight") else module.weight)
        nn.init.normal_(weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, mean=1.0, std=0.02)
        nn.init.zeros_(module.bias)
