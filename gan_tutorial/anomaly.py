"""Anomaly scores from a GAN trained on normal data only, and the AUROC that compares them.

The one-class protocol: a GAN learns the "normal" digits (all classes but one); digits of the
held-out class are the anomalies. Every score here is *higher for more anomalous* images:

* :func:`discriminator_score` -- minus D's logit: D learned to say "real" for normal data.
* :func:`latent_reconstruction_score` -- AnoGAN (Schlegl et al. 2017, Section 2.2): search the
  latent space for the z whose ``G(z)`` is closest to the image; an anomaly, which G never
  learned to draw, stays far from every ``G(z)``.
* :func:`nearest_neighbour_score` -- the baseline without any GAN: the pixel distance to the
  closest normal training image.

:func:`auroc` (torchmetrics) turns a score into the area under the ROC curve: 0.5 is chance,
1 means every anomaly scores above every normal image.
Images are ``(N, 1, 28, 28) float32 in [-1, 1]``.
"""

from __future__ import annotations

import torch
from torch import nn
from torchmetrics.functional.classification import binary_auroc

from .metrics import check_mnist_images, nearest_neighbours
from .sampling import evaluating
from .validation import check_finite, check_int, check_number, check_seed, describe


def discriminator_score(D: nn.Module, x: torch.Tensor, batch_size: int = 1_000) -> torch.Tensor:
    """``-logit D(x)`` per image: high where D thinks the image is not from the training data.

    D runs in eval mode (BatchNorm's running averages) without autograd, on its device.

    Args:
        D: an unconditional discriminator returning logits ``(B,)``.
        x: digits ``(N, 1, 28, 28) float32 in [-1, 1]`` (background at -1).
        batch_size: images per forward pass, >= 1.

    Returns:
        ``(N,) float32`` on the CPU, unbounded.

    Raises:
        ValueError: on images of the wrong shape, dtype or range (digits in [0, 1] too), or a
            ``batch_size`` that is not an integer >= 1.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_mnist_images(x, "x", signed=True)
    device = next(D.parameters()).device
    with evaluating(D):
        return torch.cat([-D(batch.to(device)).float().cpu() for batch in x.split(batch_size)])


def latent_reconstruction_score(G: nn.Module, D: nn.Module, x: torch.Tensor, steps: int = 100,
                                lr: float = 0.05, weight: float = 0.1, seed: int = 0,
                                batch_size: int = 1_000) -> tuple[torch.Tensor, torch.Tensor]:
    """AnoGAN's anomaly score after a gradient search for each image's best latent.

    Schlegl et al. 2017, Section 2.2: starting from ``z ~ N(0, I)``, ``steps`` Adam updates
    (lr ``lr``) of z minimise, per image, ``A(x) = (1 - weight) * R(x) + weight * D_f(x)``
    with the *residual loss* ``R = sum |x - G(z)|`` over the pixels and the *discrimination
    loss* ``D_f = sum |f(x) - f(G(z))|`` over D's last hidden features ``f = D.net[:-1]``
    (their feature-matching variant, Eq. 4-5; ``weight`` is their lambda = 0.1). The score is
    ``A(x)`` at the final z. G and D run in eval mode and are not changed.

    Args:
        G: an unconditional generator (needs ``G.latent_dim``).
        D: its discriminator; needs ``D.net`` whose last layer gives the logit (the book's
            :class:`~gan_tutorial.models.DCGANDiscriminator`).
        x: images ``(N, 1, 28, 28) float32 in [-1, 1]``.
        steps: Adam updates of z, >= 1.
        lr: Adam's learning rate for z, > 0.
        weight: lambda in ``[0, 1]``.
        seed: seed of the starting latents (its own generator), in ``[0, 2**63)``.
        batch_size: images optimised together, >= 1 (each has its own z; the losses are
            summed, so the batches do not interact).

    Returns:
        ``(scores (N,) float32, reconstructions G(z*) (N, 1, 28, 28) float32 in [-1, 1])``,
        both on the CPU.

    Raises:
        ValueError: on bad images (digits in [0, 1] too), ``steps``, ``lr``, ``weight``,
            ``seed`` or ``batch_size``.
    """
    check_mnist_images(x, "x", signed=True)
    steps = check_int("steps", steps, minimum=1)
    lr = check_number("lr", lr, minimum=0, above=True)
    weight = check_number("weight", weight, minimum=0, maximum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    device = next(G.parameters()).device
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    features = D.net[:-1]
    scores, recons = [], []
    with evaluating(G, D), torch.enable_grad():
        for batch in x.split(batch_size):
            batch = batch.to(device)
            with torch.no_grad():
                target = features(batch)
            z = torch.randn(len(batch), G.latent_dim, generator=generator).to(device)
            z.requires_grad_(True)
            optimizer = torch.optim.Adam([z], lr=lr)
            for step in range(steps + 1):
                fake = G(z)
                residual = (batch - fake).abs().flatten(1).sum(1)
                discrimination = (target - features(fake)).abs().flatten(1).sum(1)
                score = (1 - weight) * residual + weight * discrimination
                if step == steps:  # the score at the final z, no update after it
                    break
                # the gradient for z alone: G's and D's weights get none
                (z.grad,) = torch.autograd.grad(score.sum(), [z])
                optimizer.step()
            scores.append(score.detach().float().cpu())
            recons.append(fake.detach().float().cpu())
    return torch.cat(scores), torch.cat(recons)


def nearest_neighbour_score(x: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    """Euclidean pixel distance from each image to its nearest training image: the baseline.

    :func:`gan_tutorial.metrics.nearest_neighbours` in pixel space (model range ``[-1, 1]``).

    Args:
        x: digits ``(N, 1, 28, 28) float32 in [-1, 1]`` (background at -1).
        train: the normal training digits ``(M, 1, 28, 28)``, same format.

    Returns:
        ``(N,) float32 >= 0``.

    Raises:
        ValueError: on images of the wrong shape, dtype or range (digits in [0, 1] too).
    """
    check_mnist_images(x, "x", signed=True)
    check_mnist_images(train, "train", signed=True)
    return nearest_neighbours(x, train)[0]


def auroc(scores: torch.Tensor, is_anomaly: torch.Tensor) -> float:
    """Area under the ROC curve of ``scores`` for telling anomalies from normal images.

    The probability that a random anomaly scores higher than a random normal image (ties
    count one half), computed by torchmetrics' ``binary_auroc``.

    Args:
        scores: ``(N,)`` finite floats, higher = more anomalous.
        is_anomaly: ``(N,)`` bool tensor (or 0s and 1s), with at least one of each kind.

    Returns:
        A float in ``[0, 1]``.

    Raises:
        ValueError: if ``scores`` are not finite real numbers, ``is_anomaly`` holds anything
            but 0s and 1s (0.5 is refused, not truncated to 0), the lengths differ, or one
            kind is missing.
    """
    scores = _scores(scores)
    target = _anomaly_labels(is_anomaly)
    if scores.shape != target.shape:
        raise ValueError(f"scores and is_anomaly must have the same length, got "
                         f"{len(scores)} and {len(target)}")
    if not (target == 1).any() or not (target == 0).any():
        raise ValueError("is_anomaly must mark at least one anomaly and one normal image")
    # binary_auroc reads scores outside [0, 1] as logits and applies a sigmoid, which rounds
    # large scores to 1.0 (ties); an increasing map into [0, 1] keeps their order instead
    low, high = scores.min(), scores.max()
    unit = (scores - low) / (high - low) if high > low else torch.zeros_like(scores)
    return float(binary_auroc(unit, target))


def _scores(scores: object) -> torch.Tensor:
    """``scores`` as a flat float64 tensor; a ``ValueError`` unless finite real numbers."""
    flat = _as_tensor("scores", scores, "a tensor of finite real numbers (N,)")
    if flat.dtype == torch.bool:
        raise ValueError(f"scores must be a tensor of finite real numbers (N,), got "
                         f"{describe(scores)}")
    flat = flat.double()
    check_finite("scores", flat)
    return flat


def _anomaly_labels(is_anomaly: object) -> torch.Tensor:
    """``is_anomaly`` as a flat int64 tensor of 0s and 1s; a ``ValueError`` for any other value
    (0.5 or 0.7 would otherwise be truncated to 0)."""
    flat = _as_tensor("is_anomaly", is_anomaly, "a bool tensor (or 0s and 1s) (N,)")
    if len(flat) and not bool(((flat == 0) | (flat == 1)).all()):
        raise ValueError(f"is_anomaly must hold only 0s and 1s (False and True), got values "
                         f"in [{float(flat.min()):.4g}, {float(flat.max()):.4g}]")
    return flat.long()


def _as_tensor(name: str, value: object, expected: str) -> torch.Tensor:
    """``value`` (a tensor, NumPy array or list of numbers) as a flat real tensor on the CPU."""
    try:
        flat = torch.as_tensor(value).detach().flatten().cpu()
    except (TypeError, ValueError, RuntimeError):
        flat = None
    if flat is None or flat.is_complex() or not (flat.is_floating_point() or flat.dtype in (
            torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)):
        raise ValueError(f"{name} must be {expected}, got {describe(value)}")
    return flat
