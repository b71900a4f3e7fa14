"""Seeding, device choice and image-range conversion."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every CUDA device).

    Call it once at the top of a notebook. Code that needs its own stream of random numbers
    (fixed latents, data shuffling) takes an explicit ``seed=`` or ``torch.Generator`` instead.

    Args:
        seed: an integer in ``[0, 2**32 - 1]``.

    Raises:
        ValueError: if ``seed`` is not an integer in that range.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1], got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device to train on: ``prefer`` if given, else CUDA > MPS > CPU.

    Args:
        prefer: ``None`` (choose automatically) or a device string such as ``"cpu"``,
            ``"cuda"``, ``"cuda:1"`` or ``"mps"``.

    Returns:
        A :class:`torch.device`.

    Raises:
        ValueError: if ``prefer`` names a device that is not available here.
    """
    if prefer is not None:
        device = torch.device(prefer)
        available = {
            "cpu": True,
            "cuda": torch.cuda.is_available(),
            "mps": torch.backends.mps.is_available(),
        }
        if not available.get(device.type, False):
            raise ValueError(f"device {prefer!r} is not available; available types: "
                             f"{[name for name, ok in available.items() if ok]}")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Map images from the model range ``[-1, 1]`` to the display range ``[0, 1]``.

    ``y = (x + 1) / 2``, clamped to ``[0, 1]``. Only :mod:`gan_tutorial.plot` and
    ``gan_tutorial.metrics`` call it; data and G stay in ``[-1, 1]`` everywhere else.

    Args:
        x: a floating-point tensor of any shape, values nominally in ``[-1, 1]``.

    Returns:
        A tensor of the same shape and dtype with values in ``[0, 1]``.

    Raises:
        ValueError: if ``x`` is not a floating-point tensor.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"expected a floating-point tensor in [-1, 1], got {type(x).__name__}"
                         + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    return ((x + 1) / 2).clamp(0, 1)
