"""No Python file and no chapter of the repository unpickles: every ``torch.load`` passes
``weights_only=True`` (tensors and plain containers only), so a crafted ``.pt`` file cannot run
code on load. The Python files: the package, ``benchmarks/``, ``book/_tools/`` and the tests;
the chapters: the code cells of every notebook (``book/*.ipynb``)."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _files(pattern: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             pattern], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def _python_files() -> list[Path]:
    return _files("*.py")


def _unsafe_loads(path: Path) -> list[int]:
    """Lines of ``path`` calling ``torch.load`` without ``weights_only=True``."""
    return _unsafe_loads_in(path.read_text())


def _notebook_unsafe_loads(path: Path) -> list[tuple[int, int]]:
    """``(cell, line)`` of every ``torch.load`` without ``weights_only=True`` in the code cells
    of the notebook ``path`` (IPython's ``%`` and ``!`` lines read as blank lines)."""
    cells = json.loads(path.read_text())["cells"]
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                         for line in source.splitlines())
        found += [(index, line) for line in _unsafe_loads_in(code)]
    return found


def _unsafe_loads_in(code: str) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load" and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "torch"
            and not any(k.arg == "weights_only" and isinstance(k.value, ast.Constant)
                        and k.value.value is True for k in node.keywords)]


def test_every_torch_load_passes_weights_only() -> None:
    files = _python_files()
    assert any(path.name == "mode_collapse.py" for path in files)
    found = {str(path.relative_to(ROOT)): lines for path in files
             if (lines := _unsafe_loads(path))}
    assert not found, f"torch.load without weights_only=True (file: lines): {found}"


def test_no_chapter_unpickles() -> None:
    notebooks = [path for path in _files("*.ipynb") if path.parent == ROOT / "book"]
    assert any(path.name == "failure_modes.ipynb" for path in notebooks)
    found = {str(path.relative_to(ROOT)): places for path in notebooks
             if (places := _notebook_unsafe_loads(path))}
    assert not found, f"torch.load without weights_only=True (notebook: (cell, line)): {found}"


def test_the_check_sees_an_unsafe_load_in_a_notebook(tmp_path: Path) -> None:
    load = "torch.load"  # the sample's text, not a call made here
    cells = [{"cell_type": "markdown", "source": f"{load}('a.pt')"},
             {"cell_type": "code", "source": ["%matplotlib inline\n", "import torch\n",
                                              f"x = {load}('a.pt',\n", "    map_location='cpu')"]},
             {"cell_type": "code", "source": f"y = {load}('b.pt', weights_only=True)"}]
    sample = tmp_path / "sample.ipynb"
    sample.write_text(json.dumps({"cells": cells}))
    assert _notebook_unsafe_loads(sample) == [(1, 3)]


def test_the_check_sees_an_unsafe_load(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    load = "torch.load"  # the sample's text, not a call made here
    sample.write_text(f"import torch\nx = {load}('a.pt')\n"
                      f"y = {load}('b.pt', weights_only=True)\n")
    assert _unsafe_loads(sample) == [2]
