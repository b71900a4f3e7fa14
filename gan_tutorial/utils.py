"""Seeding, device choice and image-range conversion."""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from .validation import check_int


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every CUDA device).

    Call it once at the top of a notebook. Code that needs its own stream of random numbers
    (fixed latents, data shuffling) takes an explicit ``seed=`` or ``torch.Generator`` instead.

    The hashing of ``str`` and ``bytes`` (and so the order of a ``set`` of strings) is not
    seeded here: Python fixes its hash randomisation when the interpreter starts, from the
    environment variable ``PYTHONHASHSEED``; setting that variable in a running process has no
    effect. Nothing in this package depends on it.

    Args:
        seed: an integer in ``[0, 2**32 - 1]`` (a Python or NumPy integer, not a bool).

    Raises:
        ValueError: if ``seed`` is not an integer in that range.
    """
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _accelerator() -> torch.device | None:
    """The available accelerator (CUDA, MPS, XPU, ...), or None.

    ``torch.accelerator`` (PyTorch >= 2.6) where it exists, else the CUDA and MPS checks.
    """
    if hasattr(torch, "accelerator"):
        if not torch.accelerator.is_available():
            return None
        return torch.accelerator.current_accelerator()
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return None


def get_device(prefer: str | None = None) -> torch.device:
    """Return the device to train on: ``prefer`` if given, else the accelerator, else CPU.

    The accelerator is ``torch.accelerator.current_accelerator()`` where the installed PyTorch
    has it (CUDA, MPS, XPU, ...: a machine has at most one kind), else CUDA > MPS.

    Args:
        prefer: ``None`` (choose automatically) or a device string such as ``"cpu"``,
            ``"cuda"``, ``"cuda:1"`` or ``"mps"``.

    Returns:
        A :class:`torch.device`.

    Raises:
        ValueError: if ``prefer`` is not a device string or names a device type that is not
            available here.
    """
    if prefer is not None:
        try:
            device = torch.device(prefer)
        except (RuntimeError, TypeError):
            raise ValueError(f"prefer must be a device string such as 'cpu' or 'cuda:0', "
                             f"got {prefer!r}") from None
        accelerator = _accelerator()
        available = ["cpu"] + ([accelerator.type] if accelerator is not None else [])
        if device.type not in available:
            raise ValueError(f"device must be one of the types available here, {available}, "
                             f"got {prefer!r}")
        return device
    accelerator = _accelerator()
    return torch.device("cpu") if accelerator is None else torch.device(accelerator.type)


def describe_device(device: torch.device | str | None = None) -> str:
    """The device in words, for run logs and benchmark CSVs: ``"cuda (<GPU name>)"``,
    ``"mps (Apple GPU)"`` or ``"cpu (<cores> cores, <machine>)"``.

    Args:
        device: a device or device string; ``None`` describes :func:`get_device`'s choice.

    Raises:
        ValueError: as :func:`get_device`, for a device that is not available here.
    """
    device = get_device(None if device is None else str(device))
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Map images from the model range ``[-1, 1]`` to the display range ``[0, 1]``.

    ``y = (x + 1) / 2``, clamped to ``[0, 1]``. In the package only
    :func:`gan_tutorial.plot.sample_grid` calls it (to display images); data and G stay in
    ``[-1, 1]`` everywhere else, and :mod:`gan_tutorial.metrics` scores images in ``[-1, 1]``.

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
