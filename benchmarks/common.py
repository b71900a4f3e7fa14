"""What the benchmark scripts share: their pool of worker processes, their per-run CSVs, their
command lines' checks and the provenance record of the files they write.

Imported by the scripts beside it (``python benchmarks/x.py`` puts this folder on the path).
Also the argparse types of their command lines, which refuse an unknown name or an out-of-range
number before any work starts (argparse then exits with status 2 and the usage line), and
:func:`refuse_replacing`, which keeps a run from replacing a shipped file by default.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
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


def done_keys(path: Path, columns: dict[str, type]) -> set[tuple]:
    """The keys of the runs already in the CSV file ``path``, so that a resumable benchmark
    skips them: one tuple per row of the values of ``columns``, each cast with its type
    (e.g. ``{"method": str, "seed": int}``); empty if the file is missing or empty."""
    if not path.is_file() or path.stat().st_size == 0:
        return set()
    table = pd.read_csv(path, usecols=list(columns))
    return set(zip(*(table[name].astype(kind) for name, kind in columns.items())))


# --- the command lines: argparse types that refuse bad values (exit 2 with the usage line) ----

#: The folders whose files the repository ships: the book's results and the package's weights.
#: A benchmark replaces a file there only when its command line says ``--overwrite``.
REPO = Path(__file__).resolve().parents[1]
SHIPPED = (REPO / "book" / "results", REPO / "gan_tutorial" / "weights")


def int_range(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[minimum, maximum]`` (``None``: no bound)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = (f"in [{minimum}, {maximum}]" if minimum is not None and maximum is not None
                      else f">= {minimum}" if minimum is not None else f"<= {maximum}")
            raise argparse.ArgumentTypeError(f"must be an integer {bounds}, got {text!r}")
        return value
    parse.__name__ = "integer"
    return parse


#: An argparse ``type``: an integer >= 1.
positive_int = int_range(1)
#: An argparse ``type``: an integer >= 0.
non_negative_int = int_range(0)
#: An argparse ``type``: a seed, an integer in [0, 2**32 - 1] (what ``seed_everything`` takes).
seed_int = int_range(0, 2**32 - 1)


def float_range(minimum: float, *, strict: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number ``>= minimum`` (``> minimum`` if ``strict``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'>' if strict else '>='} {minimum:g}, got {text!r}")
        return value
    parse.__name__ = "number"
    return parse


def names(allowed: Iterable[str]) -> Callable[[str], list[str]]:
    """An argparse ``type``: a comma-separated list of names, each one of ``allowed``."""
    allowed = list(allowed)

    def parse(text: str) -> list[str]:
        chosen = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown name(s) {unknown} in {text!r}: give one "
                                             f"or more of {allowed}, separated by commas")
        if not chosen:
            raise argparse.ArgumentTypeError(f"give at least one of {allowed}")
        return chosen
    parse.__name__ = "names"
    return parse


def existing_file(text: str) -> str:
    """An argparse ``type``: the path of a file that exists."""
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return text


def existing_dir(text: str) -> str:
    """An argparse ``type``: the path of a folder that exists."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {text!r}")
    return text


def available_device(text: str) -> str:
    """An argparse ``type``: a device string of a kind available here (``cpu``, ``cuda:0``)."""
    from gan_tutorial.utils import get_device

    try:
        get_device(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a device of this machine: "
                                         f"{error}") from None
    return text


def refuse_replacing(parser: argparse.ArgumentParser, paths: Iterable[Path],
                     overwrite: bool) -> None:
    """Stop with a usage error (exit 2) if a run would replace a shipped file (an existing file
    of :data:`SHIPPED`) and ``--overwrite`` was not given."""
    found = [str(path) for path in paths if path.is_file() and any(
        path.resolve().is_relative_to(folder) for folder in SHIPPED)]
    if found and not overwrite:
        parser.error(f"this run would replace the shipped file(s) {found}: pass --overwrite "
                     f"to replace them, or write elsewhere")


# --- provenance: which command made each result file ---------------------------------------

PROVENANCE = "provenance.json"


def record_provenance(out_dir: Path, since: float, device: str, note: str = "",
                      only: Iterable[str] | None = None) -> list[str]:
    """Record, in ``out_dir/provenance.json``, the command that wrote each file of ``out_dir``
    changed since ``since`` (a ``time.time()``): the command line, ``device``, the wall time
    since ``since`` (s), the date (UTC) and the git commit of the code. ``only``: the file names
    this run may write (default: any), so that a benchmark running beside another in the same
    folder does not claim its files. Earlier records of other files are kept; the book's run
    page lists them. Returns the names recorded."""
    path = out_dir / PROVENANCE
    records = json.loads(path.read_text()) if path.is_file() else {}
    allowed = None if only is None else set(only)
    changed = sorted(file.name for file in out_dir.iterdir() if file.is_file()
                     and file.name != PROVENANCE and file.stat().st_mtime >= since
                     and (allowed is None or file.name in allowed))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip() or "unknown"
    record = {"command": shlex.join(["python", *sys.argv]), "device": device,
              "wall_s": round(time.time() - since), "commit": commit, "note": note,
              "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")}
    records.update({name: record for name in changed})
    path.write_text(json.dumps(dict(sorted(records.items())), indent=1,
                               ensure_ascii=False) + "\n")
    return changed
