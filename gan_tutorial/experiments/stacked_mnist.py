"""Stacked MNIST (PacGAN Table 2): 1,000 modes made of three MNIST digits, one per channel.

An image of Stacked MNIST is three real digits stacked as the red, green and blue channels of
one ``3 x 28 x 28`` image (Metz et al. 2017; Srivastava et al. 2017, VEEGAN, Section 5.2;
Lin et al. 2018, PacGAN, Section 5.2), so the data have ``10^3 = 1,000`` modes, one per triple
of classes. A generator is scored on 26,000 samples: the book's MNIST evaluator
(:func:`gan_tutorial.metrics.mnist_evaluator`) classifies each channel, a sample's mode is the
triple of classes, and the scores are the number of modes with at least one sample and the
KL divergence of the mode histogram to the uniform distribution over the 1,000 modes.

The triples are drawn at random (with replacement) from the digits given, e.g. the 5,000
offline MNIST digits. The networks are the package's DCGAN (:mod:`gan_tutorial.models`) with
3 channels; PacDCGAN packs ``m`` images by concatenating them along the channels, so D sees
``3 m`` channels (Lin et al. 2018, Section 5.2). D's loss comes from the package's loss
registry, and training is :func:`gan_tutorial.train.training_loop`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from ..callbacks import TimeLimit
from ..config import TrainConfig
from ..metrics import MNISTEvaluator, kl_to_uniform, predict_classes
from ..models import MNIST_SHAPE, DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from ..runner import make_optimizers
from ..sampling import evaluating
from ..train import training_loop
from ..validation import check_images, check_int, check_number, check_seed, describe

#: The number of modes of Stacked MNIST, one per triple of digit classes.
NUM_MODES = 1_000
#: The shape of one Stacked MNIST image, three digits as three channels.
STACKED_SHAPE = (3, 28, 28)
#: The integer dtypes that mode ids and indices may have.
_INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


@dataclass(frozen=True)
class StackedSetting:
    """One Stacked MNIST method and its training sizes (PacGAN's values in brackets).

    Not a :class:`~gan_tutorial.config.TrainConfig`, because it adds what a Stacked MNIST run
    has and a plain run has not: the packing ``m``, the triples drawn and a time limit;
    :meth:`train_config` gives the TrainConfig of its training.

    Attributes:
        name: label in tables.
        pack: images per decision of D (PacDCGAN's m), >= 1 [1 and 2].
        r1_gamma: R1 weight (Mescheder et al. 2018, Eq. 9), >= 0; 0 adds nothing.
        steps: G updates [50 epochs of 128,000 triples at batch 64: 100,000].
        batch_size: packs per minibatch [64].
        lr, beta1: Adam's settings of both players [2e-4, 0.5; beta2 0.999].
        latent_dim: size of z [100].
        d_width: channels of D's first feature map, >= 1; G's is 64 [64]. 16 makes D a
            quarter of G's width, the collapse-prone setting of Metz et al. 2017 (PacGAN,
            Table 3).
        n_train: training triples drawn once [128,000].
        time_limit: seconds; if set, training stops after the first step that ends past it.

    Raises:
        ValueError: naming the field, on a size that is not a positive integer, a negative
            ``r1_gamma``, a penalty with ``pack > 1``, or a non-positive ``lr``.
    """

    name: str
    pack: int = 1
    r1_gamma: float = 0.0
    steps: int = 5_000
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    latent_dim: int = 100
    d_width: int = 64
    n_train: int = 128_000
    time_limit: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a str, got {describe(self.name)}")
        for name in ("pack", "steps", "batch_size", "latent_dim", "d_width", "n_train"):
            check_int(name, getattr(self, name), minimum=1)
        check_number("r1_gamma", self.r1_gamma, minimum=0)
        check_number("lr", self.lr, minimum=0, above=True)
        check_number("beta1", self.beta1, minimum=0, maximum=1, below=True)
        if self.pack > 1 and self.r1_gamma:
            raise ValueError("the R1 penalty needs one score per image: use it with pack=1")
        if self.time_limit is not None:
            check_number("time_limit", self.time_limit, minimum=0, above=True)

    def train_config(self) -> TrainConfig:
        """The TrainConfig of the training: ``batch_size * pack`` images per minibatch, Adam
        with ``lr`` and ``(beta1, 0.999)`` for both players, no snapshots."""
        return TrainConfig(steps=self.steps, batch_size=self.batch_size * self.pack,
                           latent_dim=self.latent_dim, lr_g=self.lr, lr_d=self.lr,
                           beta1=self.beta1, r1_gamma=self.r1_gamma, snapshot_every=0,
                           log_every=self.steps, checkpoint_every=self.steps)


def stack_triples(digits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Stack the digits ``digits[index[:, c]]`` as channel c: ``(n, 3, 28, 28)``.

    Args:
        digits: MNIST images ``(N, 1, 28, 28) float32 in [-1, 1]`` (background at -1).
        index: ``(n, 3)`` integer indices into ``digits``, each in ``[0, N)`` (a negative
            index is refused, not counted from the end).

    Raises:
        ValueError: if the shapes are not as stated, ``digits`` are not such digits (uint8,
            pixels in [0, 1] or [0, 255], NaN) or an index is not an integer in ``[0, N)``.
    """
    check_images("digits", digits, shape=MNIST_SHAPE, signed=True)
    if not isinstance(index, torch.Tensor) or index.dim() != 2 or index.shape[1] != 3 \
            or index.dtype not in _INTEGER_DTYPES:
        raise ValueError(f"index must be (n, 3) integer indices, got {describe(index)}")
    if len(index) and (int(index.min()) < 0 or int(index.max()) >= len(digits)):
        raise ValueError(f"index must lie in [0, {len(digits) - 1}] (len(digits) = "
                         f"{len(digits)}), got values in [{int(index.min())}, "
                         f"{int(index.max())}]")
    return _stack(digits, index)


def _stack(digits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """:func:`stack_triples` without its checks, for indices valid by construction."""
    return digits[index, 0]


def pack_images(x: torch.Tensor, pack: int) -> torch.Tensor:
    """PacGAN's packing of images: ``(B * m, C, H, W) -> (B, m * C, H, W)``.

    Images ``m i .. m i + m - 1`` are concatenated along the channels into pack i (Lin et al.
    2018, Section 5.2: "we concatenate m samples along the channel dimension").

    Raises:
        ValueError: if ``pack`` is not an integer >= 1, or ``x`` is not 4-D or its length
            is not a multiple of ``pack``.
    """
    pack = check_int("pack", pack, minimum=1)
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or len(x) % pack:
        raise ValueError(f"x must be (B * {pack}, C, H, W), got {describe(x)}")
    return x.reshape(len(x) // pack, pack * x.shape[1], *x.shape[2:])


def random_triples(n: int, n_digits: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, 3)`` int64 indices drawn uniformly, with replacement, from ``range(n_digits)``."""
    return torch.randint(check_int("n_digits", n_digits, minimum=1),
                         (check_int("n", n, minimum=1), 3), generator=generator,
                         device=generator.device)


def channel_modes(images: torch.Tensor, evaluator: MNISTEvaluator,
                  batch_size: int = 2_000) -> torch.Tensor:
    """The mode ``100 c_0 + 10 c_1 + c_2`` of each image, ``c_k`` the class of channel k.

    Args:
        images: ``(N, 3, 28, 28) float32 in [-1, 1]``, each channel a digit with its
            background at -1 (checked once, not per batch).
        evaluator: the book's MNIST classifier, on any device.
        batch_size: stacked images per batch, >= 1.

    Returns:
        ``(N,)`` int64 in [0, 1000), on the CPU.

    Raises:
        ValueError: if ``images`` is not ``(N, 3, 28, 28)`` float32 in [-1, 1] (uint8, pixels
            in [0, 1] or [0, 255], NaN or infinite values), or ``batch_size`` < 1.
    """
    check_images("images", images, shape=STACKED_SHAPE, signed=True)
    return _channel_modes(images, evaluator, check_int("batch_size", batch_size, minimum=1))


def _channel_modes(images: torch.Tensor, evaluator: MNISTEvaluator,
                   batch_size: int) -> torch.Tensor:
    """:func:`channel_modes` without its checks (for G's outputs, batch by batch)."""
    # each channel as one digit image; the same batches of 3 * batch_size digit images
    digits = predict_classes(evaluator, images.reshape(-1, 1, 28, 28), 3 * batch_size)
    return (digits.view(-1, 3) * torch.tensor([100, 10, 1])).sum(1)


def mode_scores(modes: torch.Tensor) -> dict[str, float]:
    """Modes covered and ``KL(histogram || uniform over 1,000)`` of mode ids ``(N,)``.

    Returns:
        ``{"modes": int in [0, 1000], "kl": float >= 0 (nats)}``.

    Raises:
        ValueError: if ``modes`` is not a non-empty 1-D integer tensor, or holds values
            outside [0, 1000).
    """
    if not isinstance(modes, torch.Tensor) or modes.dim() != 1 or not len(modes) \
            or modes.dtype not in _INTEGER_DTYPES or modes.min() < 0 or modes.max() >= NUM_MODES:
        raise ValueError(f"modes must be a non-empty (N,) integer tensor of ids in "
                         f"[0, {NUM_MODES}), got {describe(modes)}")
    counts = torch.bincount(modes, minlength=NUM_MODES).double()
    return {"modes": int((counts > 0).sum()), "kl": kl_to_uniform(counts / len(modes))}


class _Packed(nn.Module):
    """D judging packs: ``x (B * m, C, H, W)`` -> ``(B,)``, m images per decision (PacGAN)."""

    def __init__(self, D: nn.Module, pack: int) -> None:
        super().__init__()
        self.D, self.pack = D, pack

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.D(pack_images(x, self.pack))


def train_stacked(setting: StackedSetting, digits: torch.Tensor, seed: int,
                  device: torch.device | str = "cpu") -> tuple[DCGANGenerator, int, float]:
    """Train a (Pac)DCGAN on random triples of ``digits``; return G, steps done and seconds.

    :func:`gan_tutorial.train.training_loop` with :meth:`StackedSetting.train_config`: one D
    step and one G step per iteration, the non-saturating loss (Goodfellow et al. 2014,
    Section 3), Adam for both players, DCGAN initialisation. Seeded by ``seed`` (weights,
    triples and latents).

    Args:
        setting: the method and its sizes.
        digits: MNIST digits ``(N, 1, 28, 28) float32 in [-1, 1]`` (background at -1).
        seed: an integer in ``[0, 2**63)``.
        device: where to train.

    Raises:
        ValueError: if ``setting`` is not a :class:`StackedSetting`, ``digits`` are not such
            digits (uint8, pixels in [0, 1] or [0, 255], NaN, another shape), or ``seed`` is
            not an integer in ``[0, 2**63)``.
    """
    if not isinstance(setting, StackedSetting):
        raise ValueError(f"setting must be a StackedSetting, got {describe(setting)}")
    check_images("digits", digits, shape=MNIST_SHAPE, signed=True)
    seed = check_seed("seed", seed)
    torch.manual_seed(seed)
    config = setting.train_config()
    G = DCGANGenerator(setting.latent_dim, channels=3).to(device)
    D = _Packed(DCGANDiscriminator(channels=3 * setting.pack, width=setting.d_width),
                setting.pack).to(device)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    opt_g, opt_d = make_optimizers(G, D, config)
    rng = torch.Generator(device).manual_seed(seed)
    digits = digits.to(device)
    triples = random_triples(setting.n_train, len(digits), rng)

    def batches() -> Iterator[tuple[torch.Tensor, None]]:
        while True:
            index = torch.randint(setting.n_train, (config.batch_size,), generator=rng,
                                  device=device)
            yield _stack(digits, triples[index]), None  # valid indices: no check per step

    start = time.perf_counter()
    callback = TimeLimit(setting.time_limit) if setting.time_limit is not None else None
    steps = training_loop(G, D, opt_g, opt_d, batches(), config, callback)
    return G, steps, time.perf_counter() - start


def sample_modes(G: DCGANGenerator, evaluator: MNISTEvaluator, n: int = 26_000,
                 seed: int = 0, batch_size: int = 2_000) -> torch.Tensor:
    """Mode ids ``(n,)`` of ``n`` samples of ``G`` (eval mode, latents seeded by ``seed``).

    G's outputs are classified batch by batch of ``batch_size`` samples.

    Raises:
        ValueError: if ``n`` or ``batch_size`` is not an integer >= 1, or ``seed`` is not an
            integer in ``[0, 2**63)``.
    """
    n = check_int("n", n, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    device = next(G.parameters()).device
    rng = torch.Generator(device).manual_seed(check_seed("seed", seed))
    modes = []
    with evaluating(G):
        for size in [batch_size] * (n // batch_size) + [n % batch_size]:
            if size:
                z = torch.randn(size, G.latent_dim, generator=rng, device=device)
                modes.append(_channel_modes(G(z), evaluator, 2_000))  # channel_modes' default
    return torch.cat(modes)
