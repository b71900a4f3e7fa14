"""Vanishing gradients: how much gradient G gets from each loss when D becomes strong.

The experiment of Arjovsky & Bottou 2017 (Section 2.2, Figure 2): freeze G, train D alone, and
after every D update measure the norm of G's gradient under the saturating loss
``mean log(1 - D(G(z)))`` (Goodfellow et al. 2014, Eq. 1) and under the non-saturating loss
``-mean log D(G(z))`` (ibid., Section 3), on the same latents and the same D. As D learns to
reject G's samples, ``D(G(z)) -> 0``; the saturating gradient then vanishes (its derivative with
respect to the logit is ``-D(G(z))``) while the non-saturating one does not (``D(G(z)) - 1``).
"""

from __future__ import annotations

import torch
from torch import nn

from ..losses import g_loss_nonsaturating, g_loss_saturating
from ..train import d_step
from ..validation import check_finite, check_int, check_number, check_seed, describe


def _grad_norm(loss: torch.Tensor, params: list[nn.Parameter]) -> float:
    """Euclidean norm of ``d loss / d params`` over all parameters together."""
    grads = torch.autograd.grad(loss, params, retain_graph=True)
    return torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()


def generator_gradient_norms(G: nn.Module, D: nn.Module, x_real: torch.Tensor, d_steps: int,
                             batch_size: int = 100, lr: float = 1e-3,
                             seed: int = 0) -> dict[str, list[float]]:
    """Train D alone against a frozen G and record G's gradient norm under both losses.

    Args:
        G: the generator (``(B, latent_dim) -> (B, ...)``; needs ``G.latent_dim``); not changed.
        D: the discriminator (returns logits ``(B,)``); trained in place with Adam(lr, 0.5, 0.999).
        x_real: real samples ``(N, ...)``, float, N >= ``batch_size``.
        d_steps: D updates, >= 1.
        batch_size: real and generated samples per D update and per measurement.
        lr: D's learning rate, > 0.
        seed: seeds the minibatches and the latents, an integer in ``[0, 2**63)``.

    Returns:
        A dict of lists with one entry before the first D update and one after each update.
        ``"step"`` (0 to ``d_steps``), ``"saturating"`` and ``"nonsaturating"`` (the norms
        of the gradient with respect to all of G's parameters together) and ``"d_g_z"`` (the
        mean ``D(G(z)) = sigmoid(logit)``, in [0, 1]).

    Raises:
        ValueError: naming the argument, on ``d_steps`` or ``batch_size`` not an integer >= 1,
            ``lr`` not a finite number > 0, ``seed`` not an integer in ``[0, 2**63)``,
            ``x_real`` not a finite float tensor ``(N, ...)``, or fewer than ``batch_size``
            real samples.
    """
    d_steps = check_int("d_steps", d_steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_number("lr", lr, minimum=0, above=True)
    seed = check_seed("seed", seed)
    if not isinstance(x_real, torch.Tensor) or x_real.dim() < 2 \
            or not x_real.is_floating_point() or len(x_real) < batch_size:
        raise ValueError(f"x_real must be a float tensor (N, ...) with N >= batch_size = "
                         f"{batch_size}, got {describe(x_real)}")
    check_finite("x_real", x_real)
    rng = torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    params = [p for p in G.parameters() if p.requires_grad]
    record: dict[str, list[float]] = {"step": [], "saturating": [], "nonsaturating": [],
                                      "d_g_z": []}
    for step in range(d_steps + 1):
        x_fake = G(torch.randn(batch_size, G.latent_dim, generator=rng))
        fake_logits = D(x_fake)
        record["step"].append(step)
        record["saturating"].append(_grad_norm(g_loss_saturating(fake_logits), params))
        record["nonsaturating"].append(_grad_norm(g_loss_nonsaturating(fake_logits), params))
        record["d_g_z"].append(torch.sigmoid(fake_logits).mean().item())
        if step == d_steps:
            break
        x_batch = x_real[torch.randint(len(x_real), (batch_size,), generator=rng)]
        d_step(D, opt_d, x_batch, x_fake)  # the non-saturating loss's D loss: d_loss_bce
    return record
