"""The GAN training loop of Goodfellow et al. 2014, Algorithm 1, for any G and D.

One *step* of :func:`fit` is one iteration of Algorithm 1: ``k = config.d_steps`` discriminator
updates (:func:`d_step`), each on a fresh minibatch of real images and of latents, then one
generator update (:func:`g_step`). Nothing here names an architecture.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import save_checkpoint
from .config import TrainConfig
from .losses import d_loss_bce, g_loss_nonsaturating, g_loss_saturating
from .sampling import evaluating, fixed_latents
from .utils import get_device

G_LOSS_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "nonsaturating": g_loss_nonsaturating,
    "saturating": g_loss_saturating,
}


@dataclass
class History:
    """What :func:`fit` recorded, one entry per logged step (every ``config.log_every`` steps).

    Attributes:
        step: generator step of each entry (1-based).
        d_loss: discriminator loss ``-V`` on that step's last D minibatch, nats.
        g_loss: generator loss on that step's minibatch, nats.
        d_x: mean ``D(x)`` on real images, a probability in [0, 1].
        d_g_z: mean ``D(G(z))`` on generated images (seen by the D step), in [0, 1].
        wall_time: seconds since ``fit`` started, at each entry.
        snapshots: ``(step, images)`` pairs, images ``G(fixed_z)`` as ``(n, C, H, W) float32
            in [-1, 1]`` on the CPU; step 0 is the untrained G.
        device: the device trained on, e.g. ``"cpu"``.
        interrupted: True if training stopped early on Ctrl-C (KeyboardInterrupt).
    """

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_x: list[float] = field(default_factory=list)
    d_g_z: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    device: str = ""
    interrupted: bool = False

    @property
    def seconds(self) -> float:
        """Wall time of the run up to its last logged step, in seconds."""
        return self.wall_time[-1] if self.wall_time else 0.0


def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, x_real: torch.Tensor,
           z: torch.Tensor) -> dict[str, float]:
    """One discriminator update: ascend V(D, G) on a minibatch (Goodfellow et al. 2014, Alg. 1).

    The fake images are *detached*: this step changes D only, so back-propagating into G would
    be wasted work (and, with a shared optimiser, a bug).

    Args:
        G, D: the generator and the discriminator (D returns logits ``(B,)``).
        opt_d: the optimiser of D's parameters.
        x_real: real images ``(B, C, H, W) float32 in [-1, 1]`` on D's device.
        z: latents ``(B', latent_dim) float32`` on G's device.

    Returns:
        ``{"d_loss": nats, "d_x": mean D(x) in [0, 1], "d_g_z": mean D(G(z)) in [0, 1]}``,
        measured before the update.
    """
    x_fake = G(z).detach()
    real_logits, fake_logits = D(x_real), D(x_fake)
    loss = d_loss_bce(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    return {"d_loss": loss.item(), "d_x": torch.sigmoid(real_logits).mean().item(),
            "d_g_z": torch.sigmoid(fake_logits).mean().item()}


def g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: torch.Tensor,
           loss_fn: Callable[[torch.Tensor], torch.Tensor] = g_loss_nonsaturating
           ) -> dict[str, float]:
    """One generator update: descend the generator loss through D (Goodfellow et al. 2014, Alg. 1).

    Gradients flow through D into G, but only G's optimiser steps; D's stale gradients are
    cleared by the next :func:`d_step`.

    Args:
        G, D: the generator and the discriminator (D returns logits ``(B,)``).
        opt_g: the optimiser of G's parameters.
        z: latents ``(B, latent_dim) float32`` on G's device.
        loss_fn: a generator loss of :mod:`gan_tutorial.losses` (default non-saturating).

    Returns:
        ``{"g_loss": nats}``, measured before the update.
    """
    loss = loss_fn(D(G(z)))
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    return {"g_loss": loss.item()}


def _minibatches(x: torch.Tensor, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless minibatches of ``x``, reshuffled every epoch by a seeded generator; the last
    incomplete batch of each epoch is dropped."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(x), generator=generator).to(x.device)
        for start in range(0, len(x) - batch_size + 1, batch_size):
            yield x[order[start:start + batch_size]]


def _check_data(x: torch.Tensor, batch_size: int) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or not x.is_floating_point():
        got = (f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor)
               else type(x).__name__)
        raise ValueError(f"fit expected a float tensor of shape (N, ...): images (N, C, H, W) "
                         f"in [-1, 1] or points (N, d); got {got}")
    if len(x) < batch_size:
        raise ValueError(f"fit needs at least batch_size={batch_size} images, got {len(x)}")


def fit(G: nn.Module, D: nn.Module, x: torch.Tensor, config: TrainConfig = TrainConfig(),
        device: torch.device | str | None = None, fixed_z: torch.Tensor | None = None,
        checkpoint_path: str | Path | None = None, progress: bool = True,
        optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer] | None = None,
        ) -> History:
    """Train G and D with Goodfellow et al. 2014, Algorithm 1, and return the :class:`History`.

    Each of ``config.steps`` steps makes ``config.d_steps`` calls of :func:`d_step` (fresh real
    minibatch and fresh z each) and one call of :func:`g_step` with ``config.g_loss``.
    The dataset is held in memory on the training device and sliced from a shuffled index.
    A ``tqdm`` progress bar shows the live losses. Models are trained in place.

    Args:
        G, D: generator (with ``latent_dim``) and discriminator (logits ``(B,)``).
        x: training data, ``N >= config.batch_size`` examples: images ``(N, C, H, W) float32
            in [-1, 1]``, or points ``(N, d) float32`` for the low-dimensional toy problems.
        config: the settings; see :class:`gan_tutorial.config.TrainConfig`.
        device: where to train; ``None`` means :func:`gan_tutorial.utils.get_device`.
        fixed_z: latents for the snapshots, ``(n, latent_dim)``; default 16 vectors from
            ``fixed_latents(16, latent_dim, seed=config.seed)``.
        checkpoint_path: if given, an atomic checkpoint is written every
            ``config.checkpoint_every`` steps, at the end, and on Ctrl-C.
        progress: show the progress bar.
        optimizers: ``(opt_g, opt_d)`` to continue a run; default fresh Adam optimisers with
            ``config.lr_g``/``config.lr_d`` and betas ``(config.beta1, config.beta2)``.

    Returns:
        The :class:`History`. On Ctrl-C, training stops after the last completed update, a
        warning is issued, G and D keep their weights and ``history.interrupted`` is True.

    Raises:
        ValueError: if ``x`` is not a floating tensor ``(N, ...)`` with at least one minibatch.
    """
    _check_data(x, config.batch_size)
    device = get_device() if device is None else torch.device(device)
    G.to(device).train()
    D.to(device).train()
    if optimizers is None:
        betas = (config.beta1, config.beta2)
        optimizers = (torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=betas),
                      torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=betas))
    opt_g, opt_d = optimizers
    if fixed_z is None:
        fixed_z = fixed_latents(16, config.latent_dim, seed=config.seed)
    fixed_z = fixed_z.to(device)
    history = History(device=str(device))
    batches = _minibatches(x.to(device), config.batch_size, config.seed)
    loss_fn = G_LOSS_FUNCTIONS[config.g_loss]
    start = time.perf_counter()

    def snapshot(step: int) -> None:
        with evaluating(G):
            history.snapshots.append((step, G(fixed_z).float().cpu()))

    def checkpoint(step: int) -> None:
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, G, D, step, config, opt_g, opt_d)

    if config.snapshot_every:
        snapshot(0)
    bar = tqdm(range(1, config.steps + 1), desc="training", unit="step", disable=not progress)
    step = 0
    try:
        for step in bar:
            for _ in range(config.d_steps):
                z = torch.randn(config.batch_size, config.latent_dim, device=device)
                stats = d_step(G, D, opt_d, next(batches), z)
            z = torch.randn(config.batch_size, config.latent_dim, device=device)
            stats |= g_step(G, D, opt_g, z, loss_fn)
            if step % config.log_every == 0 or step == config.steps:
                _record(history, step, stats, time.perf_counter() - start)
                bar.set_postfix(d_loss=f"{stats['d_loss']:.3f}", g_loss=f"{stats['g_loss']:.3f}",
                                D_x=f"{stats['d_x']:.2f}", D_G_z=f"{stats['d_g_z']:.2f}",
                                refresh=False)  # the bar redraws at its own pace
            if config.snapshot_every and step % config.snapshot_every == 0:
                snapshot(step)
            if step % config.checkpoint_every == 0 or step == config.steps:
                checkpoint(step)
    except KeyboardInterrupt:
        history.interrupted = True
        checkpoint(step - 1)
        warnings.warn(f"training interrupted during step {step}: G and D keep their weights; "
                      f"the history ends at step {history.step[-1] if history.step else 0}",
                      RuntimeWarning, stacklevel=2)
    finally:
        bar.close()
    return history


def _record(history: History, step: int, stats: dict[str, float], seconds: float) -> None:
    history.step.append(step)
    for key in ("d_loss", "g_loss", "d_x", "d_g_z"):
        getattr(history, key).append(stats[key])
    history.wall_time.append(seconds)
