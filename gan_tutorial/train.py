"""The GAN training loop of Goodfellow et al. 2014, Algorithm 1, for any G and D.

Three functions: :func:`d_step` updates D on one minibatch, :func:`g_step` updates G through
D, and :func:`training_loop` alternates them. Everything else a run needs (logs, the
divergence guard, snapshots, checkpoints, Ctrl-C, the image pool, EMA) plugs in as one
:class:`Callback` (:mod:`gan_tutorial.callbacks`); :func:`gan_tutorial.runner.fit` puts them
together. Nothing here names an architecture or waits for the device: ``fit`` checks the data
and settings once, before the first step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from .config import TrainConfig
from .losses import clip_weights, discriminator_loss, get_loss


class Callback:
    """What :func:`training_loop` calls besides Algorithm 1; this base class changes nothing."""

    def on_fakes(self, x_fake: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """D's fake batch for ``x_fake = G(z)`` (an image pool may swap some in)."""
        return x_fake

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        """Called after each step (1-based) with its logs; return True to stop training."""
        return False


def d_step(D: nn.Module, opt_d: torch.optim.Optimizer, x_real: torch.Tensor,
           x_fake: torch.Tensor, loss: str = "nonsaturating", y: torch.Tensor | None = None,
           lambda_gp: float = 10.0, r1_gamma: float = 0.0,
           label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
    """One discriminator update on a minibatch (Goodfellow et al. 2014, Algorithm 1).

    Args:
        D, opt_d: the discriminator (logits or critic scores ``(B,)``) and its optimizer.
        x_real: real images ``(B, C, H, W) float32 in [-1, 1]`` (or points ``(B, d)``).
        x_fake: ``G(z)``, the same shape; detached here, so that this step changes D only.
        loss: a key of :data:`gan_tutorial.losses.LOSSES` (default ``"nonsaturating"``).
        y: labels ``(B,) int64`` of a conditional ``D(x, y)``, or None.
        lambda_gp, r1_gamma, label_smoothing: the penalties and the real target ``1 - s`` of
            :func:`gan_tutorial.losses.discriminator_loss`. A loss with ``weight_clip = c``
            clips D's weights to ``[-c, c]`` after the update.

    Returns:
        A dict of 0-dim tensors on D's device, measured before the update, with ``d_loss``,
        ``real_score``, ``fake_score`` (mean raw outputs) and, for sigmoid losses, ``d_x`` and
        ``d_g_z`` in [0, 1]. Reading one waits for the device, so ``fit`` reads them every
        ``log_every`` steps.

    Raises:
        ValueError: on an unknown ``loss`` or a bad label smoothing (checked before the update).
    """
    spec = get_loss(loss)
    D_y = D if y is None else (lambda x: D(x, y))  # noqa: E731
    total, real_out, fake_out = discriminator_loss(spec, D_y, x_real, x_fake.detach(),
                                                   lambda_gp, r1_gamma,
                                                   label_smoothing=label_smoothing)
    opt_d.zero_grad(set_to_none=True)
    total.backward()
    opt_d.step()
    if spec.weight_clip:  # WGAN (Arjovsky et al. 2017, Algorithm 1, line 7)
        clip_weights(D, spec.weight_clip)
    real_out, fake_out = real_out.detach().float(), fake_out.detach().float()
    logs = {"d_loss": total.detach(), "real_score": real_out.mean(),
            "fake_score": fake_out.mean()}
    if spec.sigmoid:
        logs |= {"d_x": torch.sigmoid(real_out).mean(), "d_g_z": torch.sigmoid(fake_out).mean()}
    return logs


def g_step(D: nn.Module, opt_g: torch.optim.Optimizer, x_fake: torch.Tensor,
           loss: str = "nonsaturating", y: torch.Tensor | None = None
           ) -> dict[str, torch.Tensor]:
    """One generator update through D (Goodfellow et al. 2014, Algorithm 1).

    Args:
        D, opt_g: the discriminator and G's optimizer.
        x_fake: ``G(z)`` with G's graph, e.g. ``(B, C, H, W)`` in [-1, 1]; D is frozen while
            it judges the batch, so the gradient reaches G's weights and none of D's.
        loss: a key of :data:`gan_tutorial.losses.LOSSES`; y: the labels of ``x_fake`` or None.

    Returns:
        ``{"g_loss": ...}``, 0-dim, measured before the update.
    """
    with _frozen(D):
        fake_out = D(x_fake) if y is None else D(x_fake, y)
        total = get_loss(loss).g_loss(fake_out)
    opt_g.zero_grad(set_to_none=True)
    total.backward()
    opt_g.step()
    return {"g_loss": total.detach()}


def training_loop(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer,
                  opt_d: torch.optim.Optimizer, batches: Iterator[tuple[torch.Tensor, Any]],
                  config: TrainConfig, callback: Callback | None = None,
                  start: int = 0) -> int:
    """Goodfellow et al. 2014, Algorithm 1: k = ``config.d_steps`` D updates, then one G update.

    ``batches`` yields ``(x_real, y)`` (``y = None`` unless G and D are conditional); z is
    drawn from torch's global random state. G runs without autograd for the first k - 1 D
    updates; the G update reuses the last D update's ``x_fake``. Steps ``start + 1`` to
    ``config.steps``; returns the last step done (fewer if ``callback`` stopped training).
    """
    callback = callback or Callback()
    step = start
    for step in range(start + 1, config.steps + 1):
        for k in range(config.d_steps):
            x_real, y = next(batches)
            z = torch.randn(len(x_real), config.latent_dim, device=x_real.device)
            with torch.no_grad() if k < config.d_steps - 1 else contextlib.nullcontext():
                x_fake = G(z) if y is None else G(z, y)
            logs = d_step(D, opt_d, x_real, callback.on_fakes(x_fake, y), config.loss, y,
                          config.lambda_gp, config.r1_gamma, config.label_smoothing)
        logs |= g_step(D, opt_g, x_fake, config.loss, y)
        if callback.on_step_end(step, logs):
            break
    return step


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Turn off ``requires_grad`` of the module's trainable parameters for a forward pass."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in trainable:
            p.requires_grad_(True)
