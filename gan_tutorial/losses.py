"""The adversarial losses of Goodfellow et al. 2014, as pure functions of D's logits.

D returns raw logits ``l``; D's probability is ``D(.) = sigmoid(l)``. Every loss is written with
``binary_cross_entropy_with_logits`` (equivalently ``softplus``), which stays finite where
``log(sigmoid(l))`` computed naively would give ``-inf`` -- never Sigmoid followed by BCELoss.

Useful identities: ``-log D = softplus(-l)`` and ``-log(1 - D) = softplus(l)``.
All losses are means over the batch, in nats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_logits(name: str, logits: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor) or logits.dim() != 1 or not logits.is_floating_point():
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"{name} must be D's logits of shape (B,) and a floating dtype, "
                         f"got {shape}")
    if logits.numel() == 0:
        raise ValueError(f"{name} must hold at least one logit, got an empty tensor")


def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss: minus the value function V(D, G) estimated on one minibatch.

    ``L_D = -mean log D(x) - mean log(1 - D(G(z)))`` (Goodfellow et al. 2014, Eq. 1 and
    Algorithm 1; D ascends V, so it descends -V). It is the binary cross-entropy with target 1
    for real images and 0 for generated ones, summed over the two halves (not averaged).
    At ``D(x) = D(G(z)) = 1/2`` it equals ``log 4 = 1.386`` nats, the equilibrium value of -V
    (Theorem 1).

    Args:
        real_logits: D's logits on real images, shape ``(B,)``, float, unbounded.
        fake_logits: D's logits on generated images, shape ``(B',)``, float, unbounded.

    Returns:
        A scalar tensor (nats, >= 0), differentiable with respect to both inputs.

    Raises:
        ValueError: if an input is not a non-empty 1-D floating tensor.
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss of the minimax game as written: ``L_G = mean log(1 - D(G(z)))``.

    Goodfellow et al. 2014, Eq. 1 (G minimises V). Its gradient with respect to the logit is
    ``-D(G(z))``, which vanishes when D confidently rejects the fakes (D(G(z)) -> 0): the
    *saturating* loss, kept for comparison. Equals ``-softplus(l)``, always <= 0.

    Args:
        fake_logits: D's logits on generated images, shape ``(B,)``, float, unbounded.

    Returns:
        A scalar tensor (nats, <= 0).

    Raises:
        ValueError: if the input is not a non-empty 1-D floating tensor.
    """
    _check_logits("fake_logits", fake_logits)
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: ``L_G = -mean log D(G(z))``.

    Goodfellow et al. 2014, Section 3: instead of minimising ``log(1 - D(G(z)))``, G maximises
    ``log D(G(z))``. Same fixed point, but the gradient with respect to the logit is
    ``D(G(z)) - 1``, close to -1 exactly when D rejects the fakes, early in training.
    It is the binary cross-entropy of the fakes with target 1; equals ``softplus(-l)``, >= 0.

    Args:
        fake_logits: D's logits on generated images, shape ``(B,)``, float, unbounded.

    Returns:
        A scalar tensor (nats, >= 0).

    Raises:
        ValueError: if the input is not a non-empty 1-D floating tensor.
    """
    _check_logits("fake_logits", fake_logits)
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
