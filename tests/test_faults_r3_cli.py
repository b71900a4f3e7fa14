"""Reliability, round three (issue 29): the command lines of the benchmarks and tools, the torch
floor, and no command replacing a shipped file by default.

Every bad value is refused by argparse itself: exit status 2, the usage line, never a
traceback, before any data is loaded or any model trained, so each call takes about a second.
A call that would train on older code is cut off by ``timeout`` (the test then fails fast).
The tests that name a shipped file keep its bytes and put them back if a call changed them.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "book" / "results"
WEIGHTS = ROOT / "gan_tutorial" / "weights" / "mnist_evaluator.pt"


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    """``python script args`` in the repository root; at most 60 s."""
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def refused(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit status 2 with argparse's usage line and ``words`` in the message, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:],
                                    result.stderr[-2000:])
    assert "usage:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


@contextlib.contextmanager
def unchanged(*paths: Path) -> Iterator[None]:
    """Fail if a call changed (or created) one of ``paths``; put back the old bytes."""
    before = {path: path.read_bytes() if path.exists() else None for path in paths}
    try:
        yield
    finally:
        changed = [path for path, data in before.items()
                   if (path.read_bytes() if path.exists() else None) != data]
        for path in changed:
            if before[path] is None:
                path.unlink()
            else:
                path.write_bytes(before[path])
        assert not changed, f"changed: {changed}"


# --- the torch floor ----------------------------------------------------------------------------

def test_r3_pyproject_needs_torch_2_6_where_torch_load_is_safe_by_default() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_floor = [d for d in dependencies if d.split(">")[0].strip() == "torch"]
    assert torch_floor == ["torch>=2.6"], dependencies
    assert any(d.startswith("torchvision>=0.21") for d in dependencies), dependencies
    for text in ((ROOT / "requirements.txt").read_text(), (ROOT / "Makefile").read_text(),
                 (ROOT / "README.md").read_text()):
        assert "torch 2.4" not in text and "torch>=2.4" not in text


# --- unknown names and out-of-range numbers -----------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--methods", "GANN"], ["--methods", "GANN"]),
    (["--every", "0"], ["--every"]),
    (["--seeds", "0"], ["--seeds"]),
], ids=["methods-GANN", "every-0", "seeds-0"])
def test_r3_mode_collapse_refuses_bad_values(tmp_path: Path, args: list[str],
                                             words: list[str]) -> None:
    refused(run("benchmarks/mode_collapse.py", "--tiny", "--workers", "1", "--out-dir",
                str(tmp_path), *args), *words)
    assert not list(tmp_path.iterdir())


def test_r3_stabilising_refuses_an_unknown_method(tmp_path: Path) -> None:
    refused(run("benchmarks/stabilising.py", "--tiny", "--workers", "1", "--device", "cpu",
                "--out-dir", str(tmp_path), "--only", "BOGUS"), "--only", "BOGUS")
    assert not list(tmp_path.iterdir())


def test_r3_throughput_refuses_zero_repeats() -> None:
    refused(run("benchmarks/throughput.py", "--device", "cpu", "--no-compile", "--repeats", "0"),
            "--repeats")


def test_r3_applications_refuses_an_unknown_section(tmp_path: Path) -> None:
    """It used to report "0 runs", "all done" and exit 0."""
    result = run("benchmarks/applications.py", "--tiny", "--device", "cpu", "--out",
                 str(tmp_path), "--only", "pix2pxi")
    refused(result, "--only", "pix2pxi")
    assert "all done" not in result.stdout


def test_r3_execute_refuses_a_notebook_outside_the_book(tmp_path: Path) -> None:
    notebook = tmp_path / "outside.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                    "nbformat_minor": 5}))
    with unchanged(ROOT / "book" / "run_log.json", ROOT / "book" / "how_this_book_was_run.md"):
        refused(run("book/_tools/execute.py", "--record", "--device", "cpu", str(notebook)),
                "outside.ipynb", "not a chapter")


def test_r3_train_evaluator_refuses_negative_epochs() -> None:
    """``--epochs -1 --save`` used to replace the shipped weights with untrained ones."""
    with unchanged(WEIGHTS):
        refused(run("benchmarks/train_evaluator.py", "--epochs", "-1", "--save"), "--epochs")


def test_r3_book_tools_refuse_unknown_arguments() -> None:
    """The tools without options used to ignore their arguments and rewrite their files."""
    tools = ["colab", "draw_architecture", "results_registry"]
    with unchanged(ROOT / "gan_tutorial" / "results.py", ROOT / "gan_tutorial" /
                   "results_registry.txt", ROOT / "book" / "images" / "gan_architecture.svg"):
        for tool in tools:
            refused(run(f"book/_tools/{tool}.py", "--bogus"), "unrecognized arguments")


# --- no command replaces a shipped file by default ----------------------------------------------

def test_r3_train_evaluator_save_keeps_the_shipped_weights_without_overwrite() -> None:
    with unchanged(WEIGHTS):
        refused(run("benchmarks/train_evaluator.py", "--epochs", "1", "--save"), "--overwrite",
                "mnist_evaluator.pt")


def test_r3_applications_keeps_the_shipped_generator_without_overwrite() -> None:
    with unchanged(*RESULTS.glob("applications_*")):
        refused(run("benchmarks/applications.py", "--tiny", "--device", "cpu", "--only",
                    "conditional"), "--overwrite", "applications_cgan_w32.pt")


def test_r3_stabilising_keeps_the_shipped_results_without_overwrite() -> None:
    with unchanged(*RESULTS.glob("stabilising_*")):
        refused(run("benchmarks/stabilising.py", "--tiny", "--workers", "1", "--device", "cpu",
                    "--only", "baseline", "--seeds", "1"), "--overwrite",
                "stabilising_final.csv", "stabilising_recipe_G.pt")


def test_r3_mode_collapse_keeps_the_shipped_figure_samples_without_overwrite() -> None:
    with unchanged(*RESULTS.glob("mode_collapse_*"), RESULTS / "stacked_mnist.csv"):
        refused(run("benchmarks/mode_collapse.py", "--figures-only", "--out-dir",
                    "book/results"), "--overwrite", "mode_collapse_figure_samples.pt")
