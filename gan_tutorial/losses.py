"""The adversarial losses of Goodfellow et al. 2014, as pure functions of D's logits.

D returns raw logits ``l``; D's probability is ``D(.) = sigmoid(l)``. Every loss is written with
``binary_cross_entropy_with_logits`` (equivalently ``softplus``), which stays finite where
``log(sigmoid(l))`` computed naively would give ``-inf`` -- never Sigmoid followed by BCELoss.

Useful identities: ``-log D = softplus(-l)`` and ``-log(1 - D) = softplus(l)``.
All losses are means over the batch, in nats.

The Wasserstein losses take a critic's unbounded *scores* instead (no sigmoid anywhere), and the
penalties (:func:`gradient_penalty`, :func:`r1_penalty`) take D itself, because they
differentiate D with respect to its input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .validation import check_number


def _check_logits(name: str, logits: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor) or logits.dim() != 1 or not logits.is_floating_point():
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"{name} must be D's logits of shape (B,) and a floating dtype, "
                         f"got {shape}")
    if logits.numel() == 0:
        raise ValueError(f"{name} must hold at least one logit, got an empty tensor")


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Mean binary cross-entropy of logits against one target in [0, 1], exact at +-inf.

    ``F.binary_cross_entropy_with_logits`` computes ``max(l, 0) - l t + log(1 + exp(-|l|))``,
    which is ``inf - inf = NaN`` at ``l = +inf, t = 1`` (and ``l = -inf, t = 0``) where the
    loss is 0. Clamping the logits to the largest finite float gives that 0 and leaves finite
    logits, their loss and its gradient bit for bit as they were; an infinite logit on a side
    where the loss is infinite (``-inf`` for ``t > 0``, ``+inf`` for ``t < 1``) is added back
    as +inf.
    """
    largest = torch.finfo(logits.dtype).max
    loss = F.binary_cross_entropy_with_logits(logits.clamp(-largest, largest),
                                              torch.full_like(logits, target))
    wrong = ((logits == -math.inf) & (target > 0)) | ((logits == math.inf) & (target < 1))
    return loss + torch.zeros_like(logits).masked_fill(wrong, math.inf).sum()


def d_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor,
               real_target: float = 1.0) -> torch.Tensor:
    """Discriminator loss: minus the value function V(D, G) estimated on one minibatch.

    ``L_D = -mean log D(x) - mean log(1 - D(G(z)))`` (Goodfellow et al. 2014, Eq. 1 and
    Algorithm 1; D ascends V, so it descends -V). It is the binary cross-entropy with target 1
    for real images and 0 for generated ones, summed over the two halves (not averaged).
    At ``D(x) = D(G(z)) = 1/2`` it equals ``log 4 = 1.386`` nats, the equilibrium value of -V
    (Theorem 1).

    **One-sided label smoothing** (Salimans et al. 2016, Section 3.4): ``real_target < 1``
    replaces the target of the real images by that fixed value (e.g. 0.9), the same for every
    image and every batch; the fakes keep target 0. The real half becomes
    ``-mean [t log D(x) + (1 - t) log(1 - D(x))]``, minimised at ``D(x) = t``, so D is
    never rewarded for growing more than ``t`` confident on real data.

    Args:
        real_logits: D's logits on real images, shape ``(B,)``, float, unbounded.
        fake_logits: D's logits on generated images, shape ``(B',)``, float, unbounded.
        real_target: the target of real images, in ``(0, 1]``; 1 is the unsmoothed loss.

    Returns:
        A scalar tensor (nats, >= 0), differentiable with respect to both inputs.

    Raises:
        ValueError: if an input is not a non-empty 1-D floating tensor, or ``real_target`` is
            not in ``(0, 1]``.
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    real_target = check_number("real_target", real_target, 0, 1, above=True)
    return _bce(real_logits, real_target) + _bce(fake_logits, 0.0)


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
    return -_bce(fake_logits, 0.0)


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
    return _bce(fake_logits, 1.0)


# --- Wasserstein GAN with gradient penalty, and R1 (scores, not probabilities) ----------------

def d_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Critic loss of the Wasserstein GAN: ``L_D = mean D(G(z)) - mean D(x)``.

    Arjovsky et al. 2017, Eq. 3 and Algorithm 1; Gulrajani et al. 2017 (WGAN-GP), Eq. 3 without
    the penalty (add :func:`gradient_penalty`). D is a *critic*: its output is an unbounded
    score, not a logit, and no sigmoid is ever applied. Minimising ``L_D`` maximises the
    Kantorovich-Rubinstein estimate ``mean D(x) - mean D(G(z))`` of the Wasserstein-1 distance
    (valid when D is 1-Lipschitz, which the penalty encourages).

    Args:
        real_scores: the critic on real samples, ``(B,)`` float, unbounded.
        fake_scores: the critic on generated samples, ``(B',)`` float, unbounded.

    Returns:
        A scalar tensor, unbounded, in the critic's units.

    Raises:
        ValueError: if an input is not a non-empty 1-D floating tensor.
    """
    _check_logits("real_scores", real_scores)
    _check_logits("fake_scores", fake_scores)
    return fake_scores.mean() - real_scores.mean()


def g_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """Generator loss of the Wasserstein GAN: ``L_G = -mean D(G(z))``.

    Arjovsky et al. 2017, Algorithm 1 (line 10); Gulrajani et al. 2017, Algorithm 1 (line 11).
    Its gradient with respect to each score is ``-1/B`` whatever the critic says: it never
    saturates. The hinge GAN pairs this same generator loss with :func:`d_loss_hinge`
    (Miyato et al. 2018, Eq. 17).

    Args:
        fake_scores: the critic on generated samples, ``(B,)`` float, unbounded.

    Returns:
        A scalar tensor, unbounded.

    Raises:
        ValueError: if the input is not a non-empty 1-D floating tensor.
    """
    _check_logits("fake_scores", fake_scores)
    return -fake_scores.mean()


def _input_gradient_norms(D: Callable[[torch.Tensor], torch.Tensor],
                          x: torch.Tensor) -> torch.Tensor:
    """``||grad_x D(x)_i||_2`` for each sample i of ``x (B, ...)``, kept differentiable."""
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or not x.is_floating_point() or not len(x):
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected samples of shape (B, ...) with B >= 1 and a floating dtype, "
                         f"got {got}")
    x = x.detach().requires_grad_(True)
    scores = D(x)
    _check_logits("D(x)", scores)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad.flatten(1).norm(dim=1)


def gradient_penalty(D: Callable[[torch.Tensor], torch.Tensor], x_real: torch.Tensor,
                     x_fake: torch.Tensor, lambda_gp: float = 10.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP penalty ``lambda_gp * mean (||grad D(x_hat)||_2 - 1)^2``.

    Gulrajani et al. 2017, Eq. 3 and Algorithm 1: ``x_hat = eps x_real + (1 - eps) x_fake`` with
    one ``eps ~ U[0, 1]`` per sample, so the critic's gradient norm is pushed towards 1 on the
    lines between real and generated samples (the paper uses ``lambda_gp = 10``). The graph is
    kept (``create_graph=True``), so the penalty trains D's parameters.

    Args:
        D: the critic, mapping ``(B, ...)`` to scores ``(B,)``; the score of sample i must
            depend on sample i only (no batch statistics, e.g. no BatchNorm).
        x_real, x_fake: ``(B, ...)`` float, the same shape; ``x_fake`` is detached here.
        lambda_gp: the penalty weight, >= 0.
        generator: the random stream for ``eps``, drawn on the generator's device
            (``None``: PyTorch's global CPU stream).

    Returns:
        A scalar tensor >= 0.

    Raises:
        ValueError: on shapes that differ or are not ``(B, ...)``, or a ``lambda_gp`` that is
            negative, NaN or infinite.
    """
    lambda_gp = check_number("lambda_gp", lambda_gp, minimum=0)
    if not isinstance(x_real, torch.Tensor) or not isinstance(x_fake, torch.Tensor) \
            or x_real.shape != x_fake.shape:
        raise ValueError("x_real and x_fake must be tensors of the same shape (B, ...)")
    eps = torch.rand(len(x_real), *([1] * (x_real.dim() - 1)), generator=generator,
                     dtype=x_real.dtype, device=None if generator is None else generator.device
                     ).to(x_real.device)
    x_hat = eps * x_real.detach() + (1 - eps) * x_fake.detach()
    return lambda_gp * ((_input_gradient_norms(D, x_hat) - 1) ** 2).mean()


def r1_penalty(D: Callable[[torch.Tensor], torch.Tensor], x_real: torch.Tensor,
               gamma: float = 1.0) -> torch.Tensor:
    """R1 penalty ``gamma / 2 * mean ||grad_x D(x_real)||_2^2`` on real samples only.

    Mescheder et al. 2018, Eq. 9: it pushes D's gradient to zero on the data, which makes the
    GAN converge locally where plain gradient descent circles (their Theorem 4, Dirac-GAN).
    Added to D's loss; the graph is kept, so it trains D's parameters.

    Args:
        D: the discriminator, mapping ``(B, ...)`` to logits ``(B,)``; the logit of sample i
            must depend on sample i only.
        x_real: real samples ``(B, ...)`` float.
        gamma: the penalty weight, >= 0.

    Returns:
        A scalar tensor >= 0.

    Raises:
        ValueError: if ``x_real`` is not ``(B, ...)`` float or ``gamma`` is negative, NaN or
            infinite.
    """
    gamma = check_number("gamma", gamma, minimum=0)
    return gamma / 2 * (_input_gradient_norms(D, x_real) ** 2).mean()


# --- Hinge loss (Lim & Ye 2017; Miyato et al. 2018, Eq. 16 and 17) ----------------------------

def d_loss_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Hinge loss of D: ``L_D = mean relu(1 - D(x)) + mean relu(1 + D(G(z)))``.

    Lim & Ye 2017 ("Geometric GAN"); Miyato et al. 2018 (spectral normalisation), Eq. 16. D's
    output is an unbounded score; D stops pushing a real sample once its score is >= 1 and a
    fake one once its score is <= -1, so unlike the Wasserstein critic its scores stay bounded
    in practice. Equals 2 at ``D = 0`` everywhere.

    Args:
        real_scores: D on real samples, ``(B,)`` float, unbounded.
        fake_scores: D on generated samples, ``(B',)`` float, unbounded.

    Returns:
        A scalar tensor >= 0.

    Raises:
        ValueError: if an input is not a non-empty 1-D floating tensor.
    """
    _check_logits("real_scores", real_scores)
    _check_logits("fake_scores", fake_scores)
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


# --- Least squares (Mao et al. 2017) ------------------------------------------------------------

def d_loss_least_squares(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares D loss: ``L_D = 1/2 mean (D(x) - 1)^2 + 1/2 mean D(G(z))^2``.

    Mao et al. 2017 (LSGAN), Eq. 2 with the 0-1 coding ``a = 0`` (fakes), ``b = c = 1``
    (reals, and what G wants its fakes to be called): their Eq. 9. D's output is an unbounded
    score regressed towards 1 on real and 0 on generated samples, with no sigmoid. Unlike the
    cross-entropy, the quadratic keeps penalising fakes that lie on the right side of the
    boundary but far from the data, which Mao et al. argue gives G useful gradients longer.
    Equals 1/2 at ``D = 0`` everywhere, 0 at ``D(x) = 1, D(G(z)) = 0``.

    Args:
        real_scores: D on real samples, ``(B,)`` float, unbounded.
        fake_scores: D on generated samples, ``(B',)`` float, unbounded.

    Returns:
        A scalar tensor >= 0.

    Raises:
        ValueError: if an input is not a non-empty 1-D floating tensor.
    """
    _check_logits("real_scores", real_scores)
    _check_logits("fake_scores", fake_scores)
    return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores ** 2).mean()


def g_loss_least_squares(fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares G loss: ``L_G = 1/2 mean (D(G(z)) - 1)^2``.

    Mao et al. 2017, Eq. 2 and 9 (``c = 1``): G wants D to score its samples as real. The
    gradient with respect to each score is ``(D(G(z)) - 1) / B``: it grows with the distance
    from the target instead of saturating.

    Args:
        fake_scores: D on generated samples, ``(B,)`` float, unbounded.

    Returns:
        A scalar tensor >= 0.

    Raises:
        ValueError: if the input is not a non-empty 1-D floating tensor.
    """
    _check_logits("fake_scores", fake_scores)
    return 0.5 * ((fake_scores - 1) ** 2).mean()


# --- The registry: every loss TrainConfig.loss can name ---------------------------------------

@dataclass(frozen=True)
class GANLoss:
    """One GAN objective: D's loss, G's loss and what D's outputs mean.

    Attributes:
        d_loss: ``(real_out (B,), fake_out (B',)) -> scalar``, minimised by D.
        g_loss: ``fake_out (B,) -> scalar``, minimised by G.
        sigmoid: True if D's outputs are logits of a probability, ``D(x) = sigmoid(logit)``
            (then :func:`gan_tutorial.runner.fit` also records D(x) and D(G(z))); False for a
            critic's unbounded scores.
        gradient_penalty: True if D's loss adds ``lambda_gp *`` :func:`gradient_penalty`
            (WGAN-GP).
        source: the paper and equation.
        weight_clip: ``c > 0``: after every update of D, each of D's parameters is clipped to
            ``[-c, c]`` (Arjovsky et al. 2017, Algorithm 1, line 7; see
            :func:`clip_weights`); 0 clips nothing.
    """

    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor], torch.Tensor]
    sigmoid: bool
    gradient_penalty: bool
    source: str
    weight_clip: float = 0.0


#: The GAN losses by name; ``TrainConfig.loss`` is one of these keys. Adding a loss is one
#: entry here (plus its tests).
LOSSES: dict[str, GANLoss] = {
    "nonsaturating": GANLoss(d_loss_bce, g_loss_nonsaturating, sigmoid=True,
                             gradient_penalty=False,
                             source="Goodfellow et al. 2014, Eq. 1 (D) and Section 3 (G)"),
    "saturating": GANLoss(d_loss_bce, g_loss_saturating, sigmoid=True, gradient_penalty=False,
                          source="Goodfellow et al. 2014, Eq. 1"),
    "wasserstein-gp": GANLoss(d_loss_wasserstein, g_loss_wasserstein, sigmoid=False,
                              gradient_penalty=True,
                              source="Gulrajani et al. 2017, Eq. 3 and Algorithm 1"),
    "hinge": GANLoss(d_loss_hinge, g_loss_wasserstein, sigmoid=False, gradient_penalty=False,
                     source="Lim & Ye 2017; Miyato et al. 2018, Eq. 16 and 17"),
    "least-squares": GANLoss(d_loss_least_squares, g_loss_least_squares, sigmoid=False,
                             gradient_penalty=False,
                             source="Mao et al. 2017, Eq. 2 with a = 0, b = c = 1 (Eq. 9)"),
    "wasserstein-clip": GANLoss(d_loss_wasserstein, g_loss_wasserstein, sigmoid=False,
                                gradient_penalty=False, weight_clip=0.01,
                                source="Arjovsky et al. 2017, Eq. 3 and Algorithm 1 "
                                       "(clipping c = 0.01)"),
}


def get_loss(name: str) -> GANLoss:
    """The registry entry ``LOSSES[name]``.

    Raises:
        ValueError: if ``name`` is not a key of :data:`LOSSES` (the message lists them).
    """
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {name!r}")
    return LOSSES[name]


def discriminator_loss(loss: GANLoss, D: Callable[[torch.Tensor], torch.Tensor],
                       x_real: torch.Tensor, x_fake: torch.Tensor, lambda_gp: float = 10.0,
                       r1_gamma: float = 0.0, generator: torch.Generator | None = None,
                       label_smoothing: float = 0.0,
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """D's whole loss for one minibatch: ``loss.d_loss``, plus the WGAN-GP penalty where
    ``loss.gradient_penalty``, plus the R1 penalty where ``r1_gamma > 0`` (any loss).
    With ``label_smoothing = s > 0`` the real images' target is ``1 - s`` (one-sided label
    smoothing, Salimans et al. 2016, Section 3.4; only for the sigmoid losses, whose D loss is
    :func:`d_loss_bce`).

    Args:
        loss: a :data:`LOSSES` entry.
        D: maps samples ``(B, ...)`` to outputs ``(B,)`` (a conditional D with its labels
            bound, e.g. ``lambda x: D(x, y)``).
        x_real: real samples ``(B, ...)``.
        x_fake: generated samples ``(B, ...)``, already detached from G's graph.
        lambda_gp: WGAN-GP weight (Gulrajani et al. 2017 use 10), >= 0.
        r1_gamma: R1 weight gamma (Mescheder et al. 2018, Eq. 9), >= 0; 0 adds nothing.
        generator: random stream of the WGAN-GP interpolation (``None``: torch's global one).
        label_smoothing: ``s`` in ``[0, 1)``; the real target is ``1 - s`` (0: none).

    Returns:
        ``(total loss, real_out (B,), fake_out (B,))``: the scalar to minimise and D's raw
        outputs (logits or critic scores), still attached to the graph.

    Raises:
        ValueError: if ``label_smoothing`` is not in ``[0, 1)``, or is set for a loss whose D
            loss is not :func:`d_loss_bce`.
    """
    label_smoothing = check_number("label_smoothing", label_smoothing, 0, 1, below=True)
    if label_smoothing and loss.d_loss is not d_loss_bce:
        raise ValueError(f"label_smoothing needs a loss whose D loss is the cross-entropy "
                         f"d_loss_bce (e.g. 'nonsaturating'), got one with {loss.source}")
    real_out, fake_out = D(x_real), D(x_fake)
    total = (loss.d_loss(real_out, fake_out) if not label_smoothing
             else d_loss_bce(real_out, fake_out, real_target=1 - label_smoothing))
    if loss.gradient_penalty:
        total = total + gradient_penalty(D, x_real, x_fake, lambda_gp, generator)
    if r1_gamma:
        total = total + r1_penalty(D, x_real, r1_gamma)
    return total, real_out, fake_out


def clip_weights(D: nn.Module, c: float) -> None:
    """Clip every parameter of D to ``[-c, c]``, in place (Arjovsky et al. 2017, Algorithm 1,
    line 7: the crude way of the WGAN paper to keep the critic K-Lipschitz for some K).

    Raises:
        ValueError: if ``c`` is not a finite number > 0.
    """
    c = check_number("c", c, minimum=0, above=True)
    with torch.no_grad():
        for p in D.parameters():
            p.clamp_(-c, c)
