"""The protocols of the applications chapter, one function per measured run.

The chapter runs one instance of each live; ``benchmarks/applications.py`` runs every seed (and
every held-out digit) with the same functions and settings, and writes the per-run CSVs the
chapter summarises. Data: the digits are split once, as the book's evaluator was trained
(:func:`data_split`): 100 digits per class are held out for testing and never used to train a
GAN or a classifier; everything else is the *pool* that training sets are drawn from.

* :func:`train_dcgan` -- a (conditional) DCGAN with the book's settings.
* :func:`conditional_accuracy`, :func:`per_class_fid` -- section 1, class-conditional generation.
* :func:`augmentation_run` -- section 2, classifiers trained with and without GAN samples.
* :func:`pix2pix_run` -- section 3, 4x super-resolution: bicubic, L1 only, L1 + adversarial.
* :func:`anomaly_run` -- section 4, one-class anomaly detection for one held-out digit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from ..anomaly import (
    auroc,
    discriminator_score,
    latent_reconstruction_score,
    nearest_neighbour_score,
)
from ..classifier import accuracy, stratified_split, train_classifier
from ..config import TrainConfig
from ..metrics import (NUM_CLASSES, MNISTEvaluator, classifier_fid, predict_classes,
                       restoration_scores)
from ..models import MNIST_SHAPE, DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from ..pix2pix import PatchDiscriminator, UNetGenerator, degrade, pix2pix_d_loss, pix2pix_g_loss
from ..callbacks import History
from ..runner import fit
from ..sampling import evaluating, fixed_labels, sample
from ..train import _frozen
from ..utils import seed_everything
from ..validation import check_bool, check_images, check_int, check_labels, check_number

#: The integer fields of :class:`Settings`, each >= 1.
_SIZES = ("width", "batch_size", "latent_dim", "gan_steps", "cgan_width", "cgan_steps",
          "classifier_steps", "pix2pix_steps", "anogan_steps", "n_samples")


@dataclass(frozen=True)
class Settings:
    """Every size of the chapter's runs (the benchmark uses the same, the smoke test shrinks).

    Not a :class:`~gan_tutorial.config.TrainConfig`: it sizes four different protocols
    (GANs, classifiers, pix2pix, AnoGAN's search); :func:`train_dcgan` makes the TrainConfig of
    each GAN from it.

    Attributes:
        width: width of the unconditional DCGANs of the anomaly study (G's last and D's first
            feature map; the DCGAN chapter uses 64).
        batch_size: minibatch of every GAN and classifier.
        latent_dim: size of z.
        gan_steps: generator updates of those unconditional DCGANs.
        cgan_width: width of the conditional DCGANs (sections 1 and 2 of the chapter).
        cgan_steps: generator updates of the conditional DCGANs of the augmentation study.
        classifier_steps: optimiser steps of each classifier of the augmentation study.
        pix2pix_steps: generator updates of each pix2pix model.
        lambda_l1: weight of the L1 term of pix2pix (Isola et al. 2017 use 100).
        anogan_steps: Adam updates of each image's latent in AnoGAN.
        n_samples: generated images per conditional-accuracy measurement.

    Raises:
        ValueError: naming the field, if a size or step count is not an integer >= 1 or
            ``lambda_l1`` is not a finite number >= 0.
    """

    width: int = 16
    batch_size: int = 64
    latent_dim: int = 100
    gan_steps: int = 500
    cgan_width: int = 32
    cgan_steps: int = 3_000
    classifier_steps: int = 300
    pix2pix_steps: int = 1_500
    lambda_l1: float = 100.0
    anogan_steps: int = 50
    n_samples: int = 10_000

    def __post_init__(self) -> None:
        for name in _SIZES:
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=1))
        object.__setattr__(self, "lambda_l1", check_number("lambda_l1", self.lambda_l1,
                                                           minimum=0))

    def to_dict(self) -> dict[str, float]:
        """The settings as a plain dict (for CSVs and printouts)."""
        return asdict(self)


def data_split(x: torch.Tensor, y: torch.Tensor, test_per_class: int = 100, seed: int = 0
               ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """``((x_pool, y_pool), (x_test, y_test))``: ``test_per_class`` digits of each class held
    out for testing (the book evaluator's split with the defaults), the rest the pool."""
    test, pool = stratified_split(y, test_per_class, seed)
    return (x[pool], y[pool]), (x[test], y[test])


def train_dcgan(x: torch.Tensor, y: torch.Tensor | None, settings: Settings, seed: int,
                device: torch.device | str, steps: int | None = None, progress: bool = False,
                checkpoint_dir: str | None = None) -> tuple[nn.Module, nn.Module, History]:
    """A DCGAN (conditional on ``y`` if given, with a projection D) trained with
    :func:`~gan_tutorial.runner.fit`.

    DCGAN settings (Radford et al. 2015): N(0, 0.02) initialisation, Adam lr 2e-4, beta1 0.5,
    non-saturating loss, one D step per G step; ``settings.width`` and ``batch_size``.
    ``steps=None`` trains ``settings.gan_steps`` generator updates; an explicit ``steps``
    must be an integer >= 1 (0 is refused, not read as "use the settings").

    Returns:
        ``(G, D, history)``, the networks on ``device``.

    Raises:
        ValueError: if ``steps`` is given and not an integer >= 1, ``seed`` is not an integer
            in [0, 2**32 - 1], or as :func:`~gan_tutorial.runner.fit` on bad data.
    """
    steps = settings.gan_steps if steps is None else check_int("steps", steps, minimum=1)
    num_classes = None if y is None else NUM_CLASSES
    seed_everything(seed)
    G = DCGANGenerator(settings.latent_dim, width=settings.width, num_classes=num_classes)
    D = DCGANDiscriminator(width=settings.width, num_classes=num_classes)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    config = TrainConfig(steps=steps, batch_size=settings.batch_size,
                         latent_dim=settings.latent_dim, snapshot_every=0, log_every=50,
                         seed=seed)
    history = fit(G, D, x if y is None else (x, y), config, device=device, progress=progress,
                  checkpoint_dir=checkpoint_dir)
    return G, D, history


def conditional_accuracy(G: nn.Module, evaluator: MNISTEvaluator, n: int, seed: int
                         ) -> tuple[float, torch.Tensor]:
    """Share of ``n`` samples ``G(z, y)`` (labels 0, 1, ..., 9, 0, ...) that the evaluator
    classifies as the requested ``y``, and the per-class shares ``(10,) float64``."""
    labels = fixed_labels(check_int("n", n, minimum=NUM_CLASSES), NUM_CLASSES)
    hits = (predict_classes(evaluator, sample(G, n, seed=seed, labels=labels)) == labels).double()
    per_class = torch.stack([hits[labels == c].mean() for c in range(NUM_CLASSES)])
    return hits.mean().item(), per_class


def per_class_fid(G: nn.Module, x_real: torch.Tensor, y_real: torch.Tensor,
                  evaluator: MNISTEvaluator, n_per_class: int, seed: int) -> list[float]:
    """Classifier FID of ``n_per_class`` samples of each class against the real digits of that
    class (all of them); one float per digit."""
    fids = []
    for c in range(NUM_CLASSES):
        labels = torch.full((n_per_class,), c, dtype=torch.int64)
        fake = sample(G, n_per_class, seed=seed + c, labels=labels)
        fids.append(classifier_fid(fake, x_real[y_real == c], evaluator))
    return fids


def gan_batches(G: nn.Module
                ) -> Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]:
    """``extra`` for :func:`gan_tutorial.classifier.train_classifier`: ``n`` fresh samples of
    the conditional G for uniformly random labels, drawn from the classifier's generator."""
    device = next(G.parameters()).device

    def extra(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, NUM_CLASSES, (n,), generator=generator)
        z = torch.randn(n, G.latent_dim, generator=generator)
        with evaluating(G):
            return G(z.to(device), labels.to(device)), labels

    return extra


def augmentation_run(pool: tuple[torch.Tensor, torch.Tensor],
                     test: tuple[torch.Tensor, torch.Tensor], n_real: int, settings: Settings,
                     seed: int, evaluator: MNISTEvaluator, device: torch.device | str
                     ) -> dict[str, float]:
    """Section 2 for one training-set size and seed.

    Draws ``n_real / 10`` digits per class from the pool (seeded), trains a conditional DCGAN
    (``settings.cgan_width``, ``settings.cgan_steps``) on exactly those digits, then two
    classifiers of the evaluator's architecture for the same number of steps on the same real
    minibatches: one on the real digits alone, one with as many fresh GAN samples added to
    every minibatch. Both are scored on the held-out test digits.

    Returns:
        ``{"n_real", "seed", "acc_real", "acc_real_gan", "gan_conditional_accuracy",
        "seconds"}``; accuracies in [0, 1].

    Raises:
        ValueError: if ``n_real`` is not a multiple of 10 (the number of classes), is below
            10, or asks more digits of some class than the pool holds; or on bad pool labels.
    """
    start = time.perf_counter()
    n_real = _check_n_real(n_real, pool[1])
    chosen, _ = stratified_split(pool[1], n_real // NUM_CLASSES, seed)
    x, y = pool[0][chosen], pool[1][chosen]
    G, _, _ = train_dcgan(x, y, replace(settings, width=settings.cgan_width), seed, device,
                          steps=settings.cgan_steps)
    cond_acc, _ = conditional_accuracy(G, evaluator, 1_000, seed)
    real_only = train_classifier(x, y, settings.classifier_steps, seed,
                                 batch_size=settings.batch_size, device=device)
    with_gan = train_classifier(x, y, settings.classifier_steps, seed,
                                batch_size=settings.batch_size, extra=gan_batches(G),
                                device=device)
    return {"n_real": n_real, "seed": seed, "acc_real": accuracy(real_only, *test),
            "acc_real_gan": accuracy(with_gan, *test), "gan_conditional_accuracy": cond_acc,
            "seconds": time.perf_counter() - start}


def _check_n_real(n_real: object, y_pool: torch.Tensor) -> int:
    """``n_real`` as an int: a multiple of 10 whose share per class the pool can serve."""
    n_real = check_int("n_real", n_real, minimum=NUM_CLASSES)
    if n_real % NUM_CLASSES:
        raise ValueError(f"n_real must be a multiple of {NUM_CLASSES} (n_real / {NUM_CLASSES} "
                         f"digits of each class), got {n_real}")
    smallest = int(torch.bincount(check_labels("pool labels", y_pool, None, NUM_CLASSES),
                                  minlength=NUM_CLASSES).min())
    if n_real // NUM_CLASSES > smallest:
        raise ValueError(f"n_real must be at most {NUM_CLASSES * smallest} ({NUM_CLASSES} x "
                         f"the pool's smallest class, {smallest} digits), got {n_real}")
    return n_real


def train_pix2pix(x: torch.Tensor, settings: Settings, seed: int, adversarial: bool,
                  device: torch.device | str) -> tuple[nn.Module, list[float]]:
    """Train the U-Net G on ``(degrade(x), x)`` pairs, with a PatchGAN D if ``adversarial``.

    Adam lr 2e-4, betas (0.5, 0.999) for G and D (Isola et al. 2017, Section 3.3), one D update
    per G update, ``settings.pix2pix_steps`` steps of ``settings.batch_size`` pairs, minibatch
    order seeded. Without ``adversarial`` only the L1 term trains G.

    This is the one GAN of the package trained outside :func:`gan_tutorial.train.training_loop`,
    because pix2pix's G maps an input image to an output (no latent z) and its D judges
    (input, output) pairs, so neither of Algorithm 1's steps fits it.

    Args:
        x: the training digits ``(N, 1, 28, 28) float32 in [-1, 1]`` (background at -1).
        settings: sizes (``pix2pix_steps``, ``batch_size``, ``lambda_l1``).
        seed: an integer in [0, 2**32 - 1].
        adversarial: True or False.
        device: where to train.

    Returns:
        ``(G in eval mode, L1 loss of every 50th step)``.

    Raises:
        ValueError: naming the argument, if ``x`` is not such digits (uint8, float64, pixels
            in [0, 1] or [0, 255], NaN, another shape), ``adversarial`` is not a bool or
            ``seed`` is out of range.
    """
    check_images("x", x, shape=MNIST_SHAPE, signed=True)
    check_bool("adversarial", adversarial)
    seed_everything(seed)
    G = UNetGenerator().to(device)
    D = PatchDiscriminator().to(device) if adversarial else None
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = (torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
             if D is not None else None)
    generator = torch.Generator().manual_seed(seed)
    x = x.to(device)
    x_low = degrade(x)
    l1_curve = []
    for step in range(settings.pix2pix_steps):
        index = torch.randint(0, len(x), (settings.batch_size,), generator=generator).to(device)
        x_in, x_target = x_low[index], x[index]
        x_out = G(x_in)
        if D is not None:
            d_loss = pix2pix_d_loss(D, x_in, x_target, x_out)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        with _frozen(D) if D is not None else contextlib.nullcontext():
            # D's weights need no gradient in G's step (as in train.g_step)
            g_loss, l1 = pix2pix_g_loss(D, x_in, x_target, x_out, settings.lambda_l1)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if step % 50 == 0:
            l1_curve.append(l1.item())
    return G.eval(), l1_curve


def restore(G: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``G(degrade(x))`` on the CPU, in eval mode without autograd.

    ``x``: digits ``(N, 1, 28, 28) float32 in [-1, 1]`` (background at -1).

    Raises:
        ValueError: if ``x`` is not such digits (uint8, pixels in [0, 1] or [0, 255], NaN,
            another shape).
    """
    check_images("x", x, shape=MNIST_SHAPE, signed=True)
    device = next(G.parameters()).device
    with evaluating(G):
        return G(degrade(x).to(device)).cpu()


def pix2pix_run(pool: tuple[torch.Tensor, torch.Tensor],
                test: tuple[torch.Tensor, torch.Tensor], settings: Settings, seed: int,
                evaluator: MNISTEvaluator, device: torch.device | str) -> list[dict]:
    """Section 3 for one seed: bicubic, L1 only and L1 + adversarial, scored on the test set.

    Returns:
        Three dicts ``{"method", "seed", "psnr", "ssim", "accuracy", "seconds"}``.
    """
    x_test, y_test = test
    rows = [{"method": "bicubic", "seed": seed, "seconds": 0.0,
             **restoration_scores(degrade(x_test), x_test, y_test, evaluator)}]
    for method, adversarial in (("L1", False), ("L1 + adversarial", True)):
        start = time.perf_counter()
        G, _ = train_pix2pix(pool[0], settings, seed, adversarial, device)
        rows.append({"method": method, "seed": seed,
                     "seconds": time.perf_counter() - start,
                     **restoration_scores(restore(G, x_test), x_test, y_test, evaluator)})
    return rows


def anomaly_scores(G: nn.Module, D: nn.Module, x_normal: torch.Tensor, x_test: torch.Tensor,
                   settings: Settings, seed: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The three anomaly scores of ``x_test`` (higher = more anomalous), and AnoGAN's
    reconstructions ``G(z*)``: ``({"D": ..., "AnoGAN": ..., "nearest neighbour": ...},
    recon)``, scores ``(N,) float32`` on the CPU. ``x_normal`` are the GAN's training digits."""
    anogan, recon = latent_reconstruction_score(G, D, x_test, steps=settings.anogan_steps,
                                                seed=seed)
    device = next(G.parameters()).device  # the pixel distances are computed there too
    nearest = nearest_neighbour_score(x_test.to(device), x_normal.to(device)).cpu()
    return {"D": discriminator_score(D, x_test), "AnoGAN": anogan,
            "nearest neighbour": nearest}, recon


def anomaly_run(pool: tuple[torch.Tensor, torch.Tensor],
                test: tuple[torch.Tensor, torch.Tensor], anomaly_class: int,
                settings: Settings, seed: int, device: torch.device | str
                ) -> dict[str, float]:
    """Section 4 for one held-out digit and seed (the one-class protocol).

    An unconditional DCGAN trains on the pool's digits of the other nine classes; the test
    digits of all ten classes are scored (``anomaly_class`` is the anomaly) by D, by AnoGAN's
    latent reconstruction and by the pixel distance to the nearest normal training digit
    (:func:`anomaly_scores`).

    Returns:
        ``{"anomaly_class", "seed", "auroc_d", "auroc_anogan", "auroc_nn", "seconds"}``.
    """
    start = time.perf_counter()
    anomaly_class = check_int("anomaly_class", anomaly_class, minimum=0, maximum=9)
    x_normal = pool[0][pool[1] != anomaly_class]
    G, D, _ = train_dcgan(x_normal, None, settings, seed, device)
    scores, _ = anomaly_scores(G, D, x_normal, test[0], settings, seed)
    is_anomaly = test[1] == anomaly_class
    return {"anomaly_class": anomaly_class, "seed": seed,
            "auroc_d": auroc(scores["D"], is_anomaly),
            "auroc_anogan": auroc(scores["AnoGAN"], is_anomaly),
            "auroc_nn": auroc(scores["nearest neighbour"], is_anomaly),
            "seconds": time.perf_counter() - start}
