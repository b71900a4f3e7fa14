"""No Python file of the repository unpickles: every ``torch.load`` passes ``weights_only=True``
(tensors and plain containers only), so a crafted ``.pt`` file cannot run code on load. The
chapters' cells are checked by ``tests/test_notebooks.py``."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "*.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def _unsafe_loads(path: Path) -> list[int]:
    """Lines of ``path`` calling ``torch.load`` without ``weights_only=True``."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text()))
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


def test_the_check_sees_an_unsafe_load(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    load = "torch.load"  # the sample's text, not a call made here
    sample.write_text(f"import torch\nx = {load}('a.pt')\n"
                      f"y = {load}('b.pt', weights_only=True)\n")
    assert _unsafe_loads(sample) == [2]
