"""Sampling from a generator in eval mode, with explicit randomness."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


@contextlib.contextmanager
def evaluating(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` in eval mode with autograd off; restore each one's previous mode after.

    Sampling a progress grid with G in train mode (BatchNorm using batch statistics, dropout
    on) and autograd recording is a common tutorial bug; this context avoids both.

    Example::

        with evaluating(G):
            images = G(z)
    """
    previous = [module.training for module in modules]
    try:
        for module in modules:
            module.eval()
        with torch.no_grad():
            yield
    finally:
        for module, was_training in zip(modules, previous):
            module.train(was_training)


def fixed_latents(n: int, latent_dim: int, seed: int = 0,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """Latent vectors z ~ N(0, I) that depend only on ``(n, latent_dim, seed)``.

    Drawn on the CPU from their own ``torch.Generator``, so the same seed gives the same z on
    every device and does not disturb the global random state. Used for progress grids:
    the same z shown at different steps of training.

    Args:
        n: number of vectors, >= 1.
        latent_dim: size of each vector, >= 1.
        seed: seed of the generator, >= 0.
        device: where to put the result (default CPU).

    Returns:
        ``(n, latent_dim) float32``, standard normal.

    Raises:
        ValueError: if ``n``, ``latent_dim`` or ``seed`` is out of range.
    """
    for name, value, minimum in (("n", n, 1), ("latent_dim", latent_dim, 1), ("seed", seed, 0)):
        _check_int(name, value, minimum)
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, latent_dim, generator=generator)
    return z if device is None else z.to(device)


def sample(G: nn.Module, n: int, seed: int | None = None, batch_size: int = 1_000) -> torch.Tensor:
    """Draw ``n`` images from ``G`` in eval mode with autograd off.

    ``G`` must have a ``latent_dim`` attribute (every generator in :mod:`gan_tutorial.models`
    has). The latents come from :func:`fixed_latents` when ``seed`` is given (reproducible),
    otherwise from the global random state.

    Args:
        G: the generator; left in the train/eval mode it was in.
        n: number of images, >= 1.
        seed: seed of the latents, or ``None``.
        batch_size: images generated per forward pass (bounds memory), >= 1.

    Returns:
        ``(n, C, H, W) float32 in [-1, 1]`` on the CPU.

    Raises:
        ValueError: if ``n`` or ``batch_size`` is not a positive integer, or ``G`` has no
            ``latent_dim``.
    """
    for name, value in (("n", n), ("batch_size", batch_size)):
        _check_int(name, value, minimum=1)
    latent_dim = getattr(G, "latent_dim", None)
    if not isinstance(latent_dim, int):
        raise ValueError("G must have an integer attribute latent_dim (the size of z)")
    device = next(G.parameters()).device
    if seed is not None:
        z = fixed_latents(n, latent_dim, seed=seed)
    else:
        z = torch.randn(n, latent_dim)
    with evaluating(G):
        chunks = [G(chunk.to(device)).float().cpu() for chunk in z.split(batch_size)]
    return torch.cat(chunks)
