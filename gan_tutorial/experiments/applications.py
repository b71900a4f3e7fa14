"""The protocols of the applications chapter, one function per measured run.

The chapter runs one instance of each live; ``benchmarks/applications.py`` runs every seed (and
every held-out digit) with the same functions and settings, and writes the per-run CSVs the
chapter summarises. Data: the digits are split once, as the book's evaluator was trained
(:func:`data_split`): 100 digits per class are held out for testing and never used to train a
GAN or a classifier; everything else is the *pool* that training sets are drawn from.

* :func:`train_dcgan` -- a (conditional) DCGAN with the book's settings.
* :func:`conditional_accuracy`, :func:`per_class_fid` -- section 1, class-conditional generation.
* :func:`augmentation_shares_run` -- section 2, classifiers trained with GAN samples making
  0, 25 or 50 % of every minibatch (equal weight per example, the same shifts and rotations for
  GAN samples as for real digits).
* :func:`label_input_run` -- section 1's ablation of how the label enters G: one-hot
  (:class:`~gan_tutorial.models.DCGANGenerator`) or a learned embedding (:class:`EmbeddedLabelG`),
  measured by :func:`conditional_accuracy` and :func:`within_class_distance`.
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
from ..models import (MNIST_SHAPE, DCGANDiscriminator, DCGANGenerator, _check_input, _check_y,
                      init_dcgan_weights)
from ..pix2pix import PatchDiscriminator, UNetGenerator, degrade, pix2pix_d_loss, pix2pix_g_loss
from ..callbacks import History
from ..runner import fit
from ..sampling import evaluating, fixed_labels, sample
from ..train import _frozen
from ..utils import seed_everything
from ..validation import (check_bool, check_images, check_int, check_labels, check_number,
                          describe)

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
                checkpoint_dir: str | None = None,
                make_G: Callable[[], nn.Module] | None = None
                ) -> tuple[nn.Module, nn.Module, History]:
    """A DCGAN (conditional on ``y`` if given, with a projection D) trained with
    :func:`~gan_tutorial.runner.fit`.

    DCGAN settings (Radford et al. 2015): N(0, 0.02) initialisation, Adam lr 2e-4, beta1 0.5,
    non-saturating loss, one D step per G step; ``settings.width`` and ``batch_size``.
    ``steps=None`` trains ``settings.gan_steps`` generator updates; an explicit ``steps``
    must be an integer >= 1 (0 is refused, not read as "use the settings"). ``make_G()``, if
    given, builds another generator in place of the DCGAN generator (e.g. one whose label
    enters as an embedding: :func:`label_input_generator`), right after seeding, so that D
    and the initialisation draw the same random numbers as for the DCGAN generator.

    Returns:
        ``(G, D, history)``, the networks on ``device``.

    Raises:
        ValueError: if ``steps`` is given and not an integer >= 1, ``seed`` is not an integer
            in [0, 2**32 - 1], or as :func:`~gan_tutorial.runner.fit` on bad data.
    """
    steps = settings.gan_steps if steps is None else check_int("steps", steps, minimum=1)
    num_classes = None if y is None else NUM_CLASSES
    seed_everything(seed)
    G = (make_G() if make_G is not None else
         DCGANGenerator(settings.latent_dim, width=settings.width, num_classes=num_classes))
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
    the conditional G for uniformly random labels, drawn from the generator it is given."""
    device = next(G.parameters()).device

    def extra(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, NUM_CLASSES, (n,), generator=generator)
        z = torch.randn(n, G.latent_dim, generator=generator)
        with evaluating(G):
            return G(z.to(device), labels.to(device)), labels

    return extra


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


# --- section 2 with equal weight per example and a sweep of the GAN share ---------------------

#: The GAN shares of every minibatch of :func:`augmentation_shares_run`: 0 (real digits only),
#: a quarter and a half.
AUGMENTATION_SHARES = (0.0, 0.25, 0.5)


def gan_per_batch(share: float, batch_size: int) -> int:
    """GAN samples to add to ``batch_size`` real digits so that they make ``share`` of the
    minibatch: ``round(batch_size * share / (1 - share))`` (0, 21 and 64 for the shares 0,
    0.25 and 0.5 of 64 real digits; the share of 21 is 24.7 %).

    Raises:
        ValueError: if ``share`` is not a number in ``[0, 1)`` or ``batch_size`` is not an
            integer >= 1.
    """
    share = check_number("share", share, minimum=0, maximum=1, below=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    return round(batch_size * share / (1 - share))


def _check_shares(shares: object) -> tuple[float, ...]:
    """``shares`` as a tuple of distinct numbers in ``[0, 1)``, at least one."""
    if not isinstance(shares, (tuple, list)) or not shares:
        raise ValueError(f"shares must be a non-empty tuple of numbers in [0, 1), got "
                         f"{describe(shares)}")
    checked = tuple(check_number("share", share, minimum=0, maximum=1, below=True)
                    for share in shares)
    if len(set(checked)) != len(checked):
        raise ValueError(f"shares must be distinct, got {shares!r}")
    return checked


def augmentation_shares_run(pool: tuple[torch.Tensor, torch.Tensor],
                            test: tuple[torch.Tensor, torch.Tensor], n_real: int,
                            settings: Settings, seed: int, evaluator: MNISTEvaluator,
                            device: torch.device | str,
                            shares: tuple[float, ...] = AUGMENTATION_SHARES) -> list[dict]:
    """Section 2 for one training-set size and seed, measuring the GAN samples themselves.

    Draws ``n_real / 10`` digits per class from the pool (seeded) and trains the conditional
    DCGAN on exactly those digits once (Mirza & Osindero 2014 conditioning, section 1's
    settings: ``settings.cgan_width``, ``settings.cgan_steps``). Then one classifier of the
    evaluator's architecture per GAN share, with :func:`~gan_tutorial.classifier.train_classifier`
    for ``settings.classifier_steps`` steps (Adam 1e-3, cosine schedule): every minibatch holds
    ``settings.batch_size`` real digits -- the same minibatches in the same order, with the
    same random shifts and rotations, for every share -- plus :func:`gan_per_batch` fresh GAN
    samples for uniformly random labels (:func:`gan_batches`), which get the same kind of
    random shifts and rotations (:func:`~gan_tutorial.classifier.random_affine`). **Equal
    weight per example:** the loss is the sum of the per-example cross-entropies divided by the
    number of real digits, so each real digit weighs exactly what it weighs in the real-only
    arm (share 0) and each GAN sample as much as a real digit. Each classifier is scored on
    the test digits.

    Args:
        pool, test: ``(images (N, 1, 28, 28) float32 in [-1, 1], labels (N,) int64)`` from
            :func:`data_split`.
        n_real: real training digits, a multiple of 10 that the pool can serve.
        settings: the sizes (``cgan_width``, ``cgan_steps``, ``classifier_steps``,
            ``batch_size``, ``latent_dim``).
        seed: an integer in ``[0, 2**32 - 1]``; seeds the draw of the digits, the GAN and
            every classifier (the same for every share).
        evaluator: the book's classifier, on ``device``, for the GAN's conditional accuracy.
        device: where to train.
        shares: the GAN shares of each minibatch, distinct numbers in ``[0, 1)``.

    Returns:
        One dict per share, ``{"n_real", "seed", "share", "gan_per_batch", "accuracy",
        "gan_conditional_accuracy", "gan_seconds", "seconds"}``; accuracies in [0, 1]
        (``accuracy`` on the test digits; ``gan_conditional_accuracy`` over 1,000 samples,
        the same for every share); ``gan_seconds`` trained and measured the GAN (shared by the
        rows), ``seconds`` trained and scored that share's classifier.

    Raises:
        ValueError: if ``n_real`` is not a multiple of 10 (the number of classes), is below 10
            or asks more digits of some class than the pool holds; on bad pool labels; or if
            ``shares`` are not distinct numbers in ``[0, 1)``.
    """
    start = time.perf_counter()
    n_real, shares = _check_n_real(n_real, pool[1]), _check_shares(shares)
    chosen, _ = stratified_split(pool[1], n_real // NUM_CLASSES, seed)
    x, y = pool[0][chosen], pool[1][chosen]
    G, _, _ = train_dcgan(x, y, replace(settings, width=settings.cgan_width), seed, device,
                          steps=settings.cgan_steps)
    cond_acc, _ = conditional_accuracy(G, evaluator, 1_000, seed)
    gan_seconds = time.perf_counter() - start
    rows = []
    for share in shares:
        start = time.perf_counter()
        k = gan_per_batch(share, settings.batch_size)
        model = train_classifier(x, y, settings.classifier_steps, seed, gan_batches(G), k,
                                 batch_size=settings.batch_size, device=device)
        rows.append({"n_real": n_real, "seed": seed, "share": share, "gan_per_batch": k,
                     "accuracy": accuracy(model, *test), "gan_conditional_accuracy": cond_acc,
                     "gan_seconds": gan_seconds, "seconds": time.perf_counter() - start})
    return rows


# --- section 1's ablation: how the label enters G ---------------------------------------------

class EmbeddedLabelG(nn.Module):
    """A conditional DCGAN generator whose label enters as a learned embedding, not one-hot.

    ``G(z, y) = body([z, embed(y)])``: ``embed`` is ``nn.Embedding(num_classes, embed_dim)``,
    trained with G, and ``body`` an unconditional :class:`~gan_tutorial.models.DCGANGenerator`
    with ``latent_dim + embed_dim`` inputs. The common tutorial alternative to Mirza &
    Osindero's (2014, Section 4.1) one-hot label, which the package's conditional
    ``DCGANGenerator`` uses. The embedding is drawn N(0, 1) (PyTorch's default, ``init_std=1``)
    or, for another ``init_std``, drawn again N(0, init_std^2) (section 1's small-init
    variant); :func:`~gan_tutorial.models.init_dcgan_weights` leaves it alone. The embedding is
    built before the body, so the same seed gives the same network for every ``init_std``
    until the embedding is drawn again.

    Args:
        width: channels of the body's last hidden feature map, >= 1.
        latent_dim: size of z, >= 1.
        embed_dim: size of the label embedding, >= 1 (50 in the chapter).
        num_classes: number of classes K, >= 1.
        init_std: standard deviation of the embedding's initial entries, a number > 0.

    Input ``z``: ``(B, latent_dim)`` float; ``y``: ``(B,) int64 in [0, K)``. Output:
    ``(B, 1, 28, 28)`` float in ``[-1, 1]``.

    Raises:
        ValueError: on bad constructor arguments (naming the argument), if ``z`` is not a
            float tensor ``(B, latent_dim)`` or ``y`` is missing or not labels ``(B,) int64`` in
            ``[0, K)``.
    """

    def __init__(self, width: int = 32, latent_dim: int = 100, embed_dim: int = 50,
                 num_classes: int = NUM_CLASSES, init_std: float = 1.0) -> None:
        super().__init__()
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1)
        self.embed_dim = check_int("embed_dim", embed_dim, minimum=1)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        self.init_std = check_number("init_std", init_std, minimum=0, above=True)
        self.embed = nn.Embedding(self.num_classes, self.embed_dim)  # drawn N(0, 1)
        if self.init_std != 1.0:
            nn.init.normal_(self.embed.weight, std=self.init_std)
        self.body = DCGANGenerator(latent_dim=self.latent_dim + self.embed_dim, width=width)
        self.img_shape = self.body.img_shape

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        _check_input("G", "z", z, (self.latent_dim,))
        y = _check_y(self, "G", y, len(z))
        return self.body(torch.cat([z, self.embed(y)], dim=1))


#: The variants of :func:`label_input_run`: the package's one-hot label, a learned N(0, 1)
#: embedding, and a learned embedding drawn N(0, 0.1^2).
LABEL_INPUTS = {"one-hot": None, "embedding": 1.0, "embedding-small-init": 0.1}
#: Samples per class of the within-class distance of :func:`label_input_run` (the chapter's).
WITHIN_CLASS_SAMPLES = 100


def label_input_generator(variant: str, settings: Settings) -> nn.Module:
    """A fresh conditional G for ``variant``, one of :data:`LABEL_INPUTS`, of width
    ``settings.cgan_width`` and latent size ``settings.latent_dim`` (not yet initialised with
    :func:`~gan_tutorial.models.init_dcgan_weights`).

    Raises:
        ValueError: if ``variant`` is not one of :data:`LABEL_INPUTS`.
    """
    if variant not in LABEL_INPUTS:
        raise ValueError(f"variant must be one of {list(LABEL_INPUTS)}, got {describe(variant)}")
    if LABEL_INPUTS[variant] is None:
        return DCGANGenerator(settings.latent_dim, width=settings.cgan_width,
                              num_classes=NUM_CLASSES)
    return EmbeddedLabelG(settings.cgan_width, settings.latent_dim,
                          init_std=LABEL_INPUTS[variant])


def within_class_distance(images: torch.Tensor, labels: torch.Tensor,
                          num_classes: int = NUM_CLASSES) -> list[float]:
    """Mean Euclidean distance between two different images of the same class, per class.

    Near 0 when G draws one image per class whatever z (mode collapse within the class); the
    real digits of the pool give about 17.8 (the chapter, 100 per class).

    Args:
        images: ``(N, C, H, W) float32 in [-1, 1]``, on any device.
        labels: their classes ``(N,) int64`` in ``[0, num_classes)``, each class at least twice.
        num_classes: number of classes K, >= 1.

    Returns:
        K floats in pixel units (the distance over all ``C * H * W`` values), each in
        ``[0, 2 * sqrt(C * H * W)]``.

    Raises:
        ValueError: on bad images or labels, or a class with fewer than 2 images.
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    check_images("images", images)
    labels = check_labels("labels", labels, len(images), num_classes).to(images.device)
    counts = torch.bincount(labels, minlength=num_classes)
    if int(counts.min()) < 2:
        raise ValueError(f"labels must name every class at least twice, got counts "
                         f"{counts.tolist()}")
    return [torch.pdist(images[labels == c].flatten(1)).mean().item()
            for c in range(num_classes)]


def train_label_input(variant: str, x: torch.Tensor, y: torch.Tensor, settings: Settings,
                      seed: int, device: torch.device | str) -> tuple[nn.Module, History]:
    """Train :func:`label_input_generator`'s G against section 1's projection D:
    :func:`train_dcgan` at width ``settings.cgan_width`` for ``settings.cgan_steps`` steps (for
    ``"one-hot"``, exactly section 1's conditional DCGAN).

    Raises:
        ValueError: if ``variant`` is unknown, ``seed`` out of range, or as ``fit`` on bad data.
    """
    G, _, history = train_dcgan(x, y, replace(settings, width=settings.cgan_width), seed, device,
                                steps=settings.cgan_steps,
                                make_G=lambda: label_input_generator(variant, settings))
    return G, history

def label_input_run(pool: tuple[torch.Tensor, torch.Tensor], variant: str, settings: Settings,
                    seed: int, evaluator: MNISTEvaluator, device: torch.device | str
                    ) -> dict[str, float | str]:
    """Section 1's label-input ablation for one variant and seed.

    Trains :func:`train_label_input` on the whole pool, then measures what section 1
    measures: the conditional accuracy over ``settings.n_samples`` samples (seed
    ``seed + 100``) and the mean over the ten classes of :func:`within_class_distance` of
    :data:`WITHIN_CLASS_SAMPLES` samples per class (seed ``seed + 300``); for seed 0 these
    are the chapter's latents.

    Returns:
        ``{"variant", "seed", "steps", "conditional_accuracy" (in [0, 1]),
        "within_class_distance" (pixel units, >= 0), "seconds"}``.

    Raises:
        ValueError: as :func:`train_label_input`.
    """
    start = time.perf_counter()
    G, _ = train_label_input(variant, *pool, settings, seed, device)
    cond_acc, _ = conditional_accuracy(G, evaluator, settings.n_samples, seed + 100)
    asked = torch.arange(NUM_CLASSES).repeat_interleave(WITHIN_CLASS_SAMPLES)
    fakes = sample(G, len(asked), seed=seed + 300, labels=asked)
    distance = sum(within_class_distance(fakes, asked)) / NUM_CLASSES
    return {"variant": variant, "seed": seed, "steps": settings.cgan_steps,
            "conditional_accuracy": cond_acc, "within_class_distance": distance,
            "seconds": time.perf_counter() - start}


#: The 500 backpropagation steps of AnoGAN's latent search in Schlegl et al. 2017 (Section 2.2).
ANOGAN_PAPER_STEPS = 500
