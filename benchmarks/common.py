"""What the benchmark scripts share: their pool of worker processes and their per-run CSVs.

Imported by the scripts beside it (``python benchmarks/x.py`` puts this folder on the path).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import pandas as pd


def process_pool(workers: int, initializer: Callable[..., None], initargs: Sequence[Any] = ()
                 ) -> Pool:
    """``workers`` fresh worker processes, each running ``initializer(*initargs)`` once.

    The processes are *spawned* (a new interpreter each, not a fork), which is safe with CUDA
    and with PyTorch's thread pools; use it as a context manager, which terminates them.
    """
    return mp.get_context("spawn").Pool(workers, initializer, tuple(initargs))


def append_rows(path: Path, rows: Sequence[dict[str, Any]],
                columns: Sequence[str] | None = None) -> None:
    """Append ``rows`` (one dict per run) to the CSV file ``path`` with pandas, writing the
    header first if the file is new or empty; ``columns`` selects and orders the columns
    (default: the first row's keys). Floats are written with 6 significant digits."""
    if not rows:
        return
    frame = pd.DataFrame(list(rows), columns=list(columns) if columns is not None else None)
    new = not path.exists() or path.stat().st_size == 0
    frame.to_csv(path, mode="a", header=new, index=False, float_format="%.6g")
