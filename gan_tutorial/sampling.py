"""Sampling from a generator in eval mode, with explicit randomness (and labels)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import torch
from torch import nn

from .validation import check_finite, check_int, check_labels, check_seed, describe


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
        seed: seed of the generator, an integer in ``[0, 2**63)``.
        device: where to put the result (default CPU).

    Returns:
        ``(n, latent_dim) float32``, standard normal.

    Raises:
        ValueError: if ``n`` or ``latent_dim`` is not an integer >= 1, or ``seed`` is not an
            integer in ``[0, 2**63)``.
    """
    n = check_int("n", n, minimum=1)
    latent_dim = check_int("latent_dim", latent_dim, minimum=1)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    z = torch.randn(n, latent_dim, generator=generator)
    return z if device is None else z.to(device)


def fixed_labels(n: int, num_classes: int) -> torch.Tensor:
    """Class labels ``0, 1, ..., num_classes - 1, 0, 1, ...`` for a progress grid of a
    conditional G: ``torch.arange(n) % num_classes``.

    In a grid with ``num_classes`` images per row (``plot.sample_grid(images,
    nrow=num_classes)``), row i shows the classes ``0 .. num_classes - 1`` in order, so column j
    holds class j throughout; with :func:`fixed_latents`, each image keeps its z and its class
    from one snapshot to the next.

    Args:
        n: number of labels, >= 1.
        num_classes: number of classes K, >= 1.

    Returns:
        ``(n,) int64`` in ``[0, num_classes)`` on the CPU.

    Raises:
        ValueError: if ``n`` or ``num_classes`` is not an integer >= 1.
    """
    n = check_int("n", n, minimum=1)
    return torch.arange(n) % check_int("num_classes", num_classes, minimum=1)


def _device_of(G: nn.Module) -> torch.device:
    """The device of G's first parameter (or buffer), where its input must go."""
    tensor = next(itertools.chain(G.parameters(), G.buffers()), None)
    if tensor is None:
        raise ValueError(f"G must have parameters (their device is where it runs), got a "
                         f"{type(G).__name__} without any")
    return tensor.device


def _check_sampling_labels(G: nn.Module, labels: object, n: int) -> torch.Tensor | None:
    """``labels`` checked against ``G.num_classes``: None for an unconditional G (where they
    must be None), ``(n,) int64 in [0, num_classes)`` on the CPU for a conditional one."""
    num_classes = getattr(G, "num_classes", None)
    if num_classes is None:
        if labels is not None:
            raise ValueError(f"G was built without num_classes (unconditional), so labels must "
                             f"be None; got {describe(labels)}")
        return None
    if labels is None:
        raise ValueError(f"G was built with num_classes={num_classes}, so labels are required: "
                         f"class labels of shape ({n},) and dtype int64 (e.g. "
                         f"fixed_labels({n}, {num_classes}))")
    return check_labels("labels", labels, n, num_classes).cpu()


def sample(G: nn.Module, n: int, seed: int | None = None, batch_size: int = 1_000,
           labels: torch.Tensor | None = None) -> torch.Tensor:
    """Draw ``n`` images from ``G`` in eval mode with autograd off.

    ``G`` must have a ``latent_dim`` attribute (every generator in :mod:`gan_tutorial.models`
    has). The latents come from :func:`fixed_latents` when ``seed`` is given (reproducible),
    otherwise from the global random state; they are the same with and without ``labels``.
    A conditional G (``G.num_classes`` set) needs ``labels``: image i is ``G(z_i, labels[i])``.

    Args:
        G: the generator; left in the train/eval mode it was in.
        n: number of images, >= 1.
        seed: seed of the latents, an integer in ``[0, 2**63)``, or ``None``.
        batch_size: images generated per forward pass (bounds memory), >= 1.
        labels: ``(n,) int64 in [0, G.num_classes)``, any device, for a conditional G (e.g.
            :func:`fixed_labels`); None for an unconditional one.

    Returns:
        ``(n, C, H, W) float32 in [-1, 1]`` on the CPU.

    Raises:
        ValueError: if ``n`` or ``batch_size`` is not a positive integer, ``seed`` is not an
            integer in ``[0, 2**63)``, ``G`` has no ``latent_dim`` or no parameters, or
            ``labels`` are missing for a conditional G, given to an unconditional one, or not
            ``(n,) int64`` in range.
    """
    n = check_int("n", n, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = None if seed is None else check_seed("seed", seed)
    latent_dim = getattr(G, "latent_dim", None)
    if not isinstance(latent_dim, int):
        raise ValueError("G must have an integer attribute latent_dim (the size of z)")
    device = _device_of(G)
    labels = _check_sampling_labels(G, labels, n)
    z = fixed_latents(n, latent_dim, seed=seed) if seed is not None else torch.randn(n, latent_dim)
    ys = itertools.repeat(None) if labels is None else labels.split(batch_size)
    with evaluating(G):
        images = [_run(G, z_chunk, y, device) for z_chunk, y in zip(z.split(batch_size), ys)]
    return torch.cat(images)


def _run(G: nn.Module, z: torch.Tensor, y: torch.Tensor | None,
         device: torch.device) -> torch.Tensor:
    """``G(z)`` or ``G(z, y)`` on ``device``, returned as float32 on the CPU."""
    images = G(z.to(device)) if y is None else G(z.to(device), y.to(device))
    return images.float().cpu()


INTERPOLATION_METHODS = ("slerp", "lerp")


def interpolate_latents(z0: torch.Tensor, z1: torch.Tensor, steps: int,
                        method: str = "slerp") -> torch.Tensor:
    """``steps`` latent vectors evenly spaced in ``t`` from ``z0`` (t = 0) to ``z1`` (t = 1).

    * ``"lerp"``: the straight line ``(1 - t) z0 + t z1``.
    * ``"slerp"``: the great-circle arc (Shoemake 1985; recommended for Gaussian latents by
      White 2016, "Sampling Generative Networks"),
      ``sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1`` with ``W`` the angle between
      ``z0`` and ``z1``. When both have the same norm every point keeps it, whereas the straight
      line cuts through the low-norm interior, where ``z ~ N(0, I)`` almost never lies
      (its norm concentrates near ``sqrt(latent_dim)``). For (anti)parallel endpoints,
      ``sin W < 1e-6``, the arc is undefined and the straight line is used.

    The first and last rows are ``z0`` and ``z1`` themselves (bit for bit).

    Args:
        z0, z1: the endpoints, finite ``(latent_dim,) float32`` tensors each, on one device.
        steps: number of vectors, >= 2 (both endpoints included).
        method: ``"slerp"`` or ``"lerp"``.

    Returns:
        ``(steps, latent_dim) float32``, on the device of ``z0``.

    Raises:
        ValueError: on an unknown ``method``, ``steps < 2``, or endpoints that are not two
            finite float32 vectors of the same length.
    """
    if method not in INTERPOLATION_METHODS:
        raise ValueError(f"method must be one of {INTERPOLATION_METHODS}, got {method!r}")
    steps = check_int("steps", steps, minimum=2)
    _check_endpoints(z0, z1)
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    w0, w1 = 1 - t, t
    if method == "slerp":
        cos = torch.dot(z0, z1) / (z0.norm() * z1.norm())
        angle = torch.arccos(cos.clamp(-1, 1))
        sin = torch.sin(angle)
        if sin >= 1e-6:
            w0, w1 = torch.sin(w0 * angle) / sin, torch.sin(w1 * angle) / sin
    z = w0 * z0 + w1 * z1
    z[0], z[-1] = z0, z1
    return z


def interpolate(G: nn.Module, z0: torch.Tensor, z1: torch.Tensor, steps: int,
                method: str = "slerp", labels: torch.Tensor | None = None) -> torch.Tensor:
    """Images of ``G`` along a path in latent space from ``z0`` to ``z1``.

    The latents come from :func:`interpolate_latents` (so the first and last images are
    ``G(z0)`` and ``G(z1)``); ``G`` runs once on all of them inside :func:`evaluating` (eval mode,
    autograd off; its previous mode is restored). A smooth change of the images along the path
    is Radford et al.'s (2015, Section 6.1) sign that G has not memorised training images.
    A conditional G needs ``labels``, one per image: ``torch.full((steps,), c)`` walks through
    z within class c.

    Args:
        G: the generator, with a ``latent_dim`` attribute.
        z0, z1: the endpoints, finite ``(latent_dim,) float32`` tensors each, any device.
        steps: number of images, >= 2 (both endpoints included).
        method: ``"slerp"`` (great circle, the default) or ``"lerp"`` (straight line).
        labels: ``(steps,) int64 in [0, G.num_classes)`` for a conditional G, else None.

    Returns:
        ``(steps, C, H, W) float32 in [-1, 1]`` on the CPU.

    Raises:
        ValueError: as :func:`interpolate_latents`, if the endpoints' length is not
            ``G.latent_dim`` (or G has none), if G has no parameters, or on ``labels`` as in
            :func:`sample`.
    """
    latent_dim = getattr(G, "latent_dim", None)
    if not isinstance(latent_dim, int):
        raise ValueError("G must have an integer attribute latent_dim (the size of z)")
    _check_endpoints(z0, z1, latent_dim)
    z = interpolate_latents(z0, z1, steps, method)
    device, labels = _device_of(G), _check_sampling_labels(G, labels, len(z))
    with evaluating(G):
        return _run(G, z, labels, device)


def _check_endpoints(z0: object, z1: object, latent_dim: int | None = None) -> None:
    """``z0`` and ``z1`` must be finite float32 vectors of one shape, ``(latent_dim,)`` if
    given; a ``ValueError`` naming the expected dtype and shape otherwise."""
    shape = "(latent_dim,)" if latent_dim is None else f"({latent_dim},)"
    for name, z in (("z0", z0), ("z1", z1)):
        if (not isinstance(z, torch.Tensor) or z.dtype != torch.float32 or z.dim() != 1
                or (latent_dim is not None and z.shape != (latent_dim,))):
            raise ValueError(f"{name} must be a float32 tensor of shape {shape}, got "
                             f"{describe(z)}")
    if z0.shape != z1.shape:  # type: ignore[union-attr]
        raise ValueError(f"z0 and z1 must both have shape {shape}, got "
                         f"{tuple(z0.shape)} and {tuple(z1.shape)}")  # type: ignore[union-attr]
    check_finite("z0", z0)  # type: ignore[arg-type]
    check_finite("z1", z1)  # type: ignore[arg-type]
