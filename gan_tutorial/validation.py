"""The number, image and label checks every public function of the package uses.

One place, one message format: ``"<name> must be <what was expected>, got <what came>"``, and
one tolerance for the image range. Each check raises ``ValueError`` and returns the value in
its canonical type (a Python ``int`` or ``float``), so callers store plain values.
"""

from __future__ import annotations

import math
import numbers
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

#: Images may exceed [-1, 1] by this much (float rounding of tanh outputs and of x / 127.5 - 1).
IMAGE_RANGE_TOLERANCE = 1e-3


def describe(value: object) -> str:
    """A short description of ``value`` for error messages: a tensor's shape and dtype, else
    its repr (cut at 60 characters)."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(name: str, value: object, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """``value`` as a Python int; NumPy integers are accepted, ``bool`` is not.

    Raises:
        ValueError: if ``value`` is not an integer in ``[minimum, maximum]``.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and ((minimum is not None and value < minimum)
               or (maximum is not None and value > maximum)):
        ok = False
    if not ok:
        bounds = _bounds(minimum, maximum)
        raise ValueError(f"{name} must be an integer{' ' + bounds if bounds else ''}, "
                         f"got {describe(value)}")
    return int(value)  # type: ignore[arg-type]


#: Seeds must be below this bound, since torch.Generator.manual_seed takes a signed 64-bit integer.
SEED_LIMIT = 2**63


def check_seed(name: str, value: object) -> int:
    """A seed as a Python int in ``[0, 2**63)``, the range ``torch.Generator.manual_seed`` and
    :func:`gan_tutorial.utils.seed_everything` accept.

    Raises:
        ValueError: if ``value`` is not an integer in ``[0, 2**63 - 1]``.
    """
    return check_int(name, value, minimum=0, maximum=SEED_LIMIT - 1)


def check_ints(name: str, values: object, minimum: int = 1) -> tuple[int, ...]:
    """A non-empty sequence of integers ``>= minimum`` as a tuple of Python ints.

    Raises:
        ValueError: if ``values`` is empty, not a sequence, or holds a non-integer or a value
            below ``minimum``.
    """
    if not isinstance(values, Sequence) or isinstance(values, str) or not values:
        raise ValueError(f"{name} must be a non-empty sequence of integers >= {minimum}, "
                         f"got {describe(values)}")
    try:
        return tuple(check_int(name, v, minimum) for v in values)
    except ValueError:
        raise ValueError(f"{name} must be a non-empty sequence of integers >= {minimum}, "
                         f"got {describe(values)}") from None


def check_number(name: str, value: object, minimum: float | None = None,
                 maximum: float | None = None, *, above: bool = False,
                 below: bool = False) -> float:
    """``value`` as a finite Python float in ``[minimum, maximum]``.

    ``above=True`` excludes ``minimum`` itself (``value > minimum``), ``below=True`` excludes
    ``maximum``. NaN and infinities are always refused; so is ``bool``.

    Raises:
        ValueError: if ``value`` is not a finite real number in the interval.
    """
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(float(value)))
    if ok:
        number = float(value)  # type: ignore[arg-type]
        ok = ((minimum is None or (number > minimum if above else number >= minimum))
              and (maximum is None or (number < maximum if below else number <= maximum)))
    if not ok:
        low = "" if minimum is None else ("(" if above else "[") + f"{minimum:g}"
        high = "" if maximum is None else f"{maximum:g}" + (")" if below else "]")
        where = (f" in {low}, {high}" if minimum is not None and maximum is not None
                 else f" {'>' if above else '>='} {minimum:g}" if minimum is not None
                 else f" {'<' if below else '<='} {maximum:g}" if maximum is not None else "")
        raise ValueError(f"{name} must be a finite number{where}, got {describe(value)}")
    return number


def check_bool(name: str, value: object) -> bool:
    """Raise ``ValueError`` unless ``value`` is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {describe(value)}")
    return value


def check_finite(name: str, x: torch.Tensor) -> None:
    """Raise ``ValueError`` naming how many values of tensor ``x`` are NaN or infinite.

    Reads the values, so on a GPU it waits for the device: call it on inputs, not per step.
    """
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"{name} must be finite, but it holds {bad:,} NaN or infinite values")


def check_images(name: str, x: object, shape: Sequence[int] | None = None,
                 min_count: int = 1, signed: bool = False) -> torch.Tensor:
    """Images ``(N, C, H, W)`` float32, finite, in ``[-1, 1]`` (up to
    :data:`IMAGE_RANGE_TOLERANCE`), with ``N >= min_count`` and ``(C, H, W) == shape`` if given.

    float16 and float64 are refused too: the models compute in float32, and a wrong dtype would
    otherwise fail deep inside a matrix product. ``signed=True`` also refuses a batch with no
    negative value, the sign of pixels in [0, 1] passed where [-1, 1] is meant: every MNIST
    digit in [-1, 1] has background pixels at -1. Use it for digits fed to the evaluator or a
    model trained on MNIST, not for arbitrary images.

    Raises:
        ValueError: naming ``name``, the expected shape and range, and what came.
    """
    want = "(N, C, H, W)" if shape is None else f"(N, {', '.join(map(str, shape))})"
    ok = (isinstance(x, torch.Tensor) and x.dim() == 4 and x.dtype == torch.float32
          and len(x) >= min_count and (shape is None or tuple(x.shape[1:]) == tuple(shape)))
    if not ok:
        raise ValueError(f"{name} must be a float32 tensor of images of shape {want} with "
                         f"N >= {min_count}, in [-1, 1]; got {describe(x)}")
    check_finite(name, x)  # type: ignore[arg-type]
    low, high = (float(v) for v in torch.aminmax(x.detach()))  # type: ignore[union-attr]
    if low < -1 - IMAGE_RANGE_TOLERANCE or high > 1 + IMAGE_RANGE_TOLERANCE:
        raise ValueError(f"{name} must lie in [-1, 1] (the range of G's tanh output), got "
                         f"values in [{low:.4g}, {high:.4g}]; map pixels with x / 127.5 - 1 "
                         f"(from [0, 255]) or x * 2 - 1 (from [0, 1])")
    if signed and low >= 0:
        raise ValueError(f"{name} must be digits in [-1, 1] with background at -1, got values "
                         f"in [{low:.4g}, {high:.4g}], none negative: pixels in [0, 1]? map "
                         f"them with x * 2 - 1")
    return x  # type: ignore[return-value]


def check_labels(name: str, y: object, n: int | None, num_classes: int,
                 check_range: bool = True) -> torch.Tensor:
    """Class labels ``(n,) int64`` in ``[0, num_classes)``; ``check_range=False`` skips reading
    their range (a device sync), for labels already checked where they entered.

    Raises:
        ValueError: if ``y`` is not a 1-D int64 tensor of length ``n`` (any length if ``n`` is
            None) with values in ``[0, num_classes)``.
    """
    length = "N" if n is None else str(n)
    if (not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or y.dim() != 1
            or (n is not None and len(y) != n)):
        raise ValueError(f"{name} must be class labels of shape ({length},) and dtype int64, "
                         f"got {describe(y)}")
    if check_range and len(y):
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"{name} must lie in [0, {num_classes - 1}] (num_classes="
                             f"{num_classes}), got values in [{low}, {high}]")
    return y


def shape_differences(expected: Mapping[str, torch.Tensor], got: Mapping[str, torch.Tensor],
                      limit: int = 3) -> list[tuple[str, tuple | None, tuple | None]]:
    """The first ``limit`` keys (sorted) whose tensor shapes differ between two state dicts, as
    ``(key, expected shape, got shape)``, a shape None where the key is missing; empty if the
    two have the same keys and shapes."""
    want = {key: tuple(value.shape) for key, value in expected.items()}
    have = {key: tuple(value.shape) for key, value in got.items()}
    keys = sorted(key for key in want.keys() | have.keys() if want.get(key) != have.get(key))
    return [(key, want.get(key), have.get(key)) for key in keys[:limit]]


def make_writable_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if missing and check that a file can be created in
    it, by creating and deleting one temporary file.

    Raises:
        OSError: if the folder cannot be created or written (it is a file, permission denied,
            read-only file system); callers turn it into an error that says what to do.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
        pass


def _bounds(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"in [{minimum}, {maximum}]"
    if minimum is not None:
        return f">= {minimum}"
    if maximum is not None:
        return f"<= {maximum}"
    return ""
