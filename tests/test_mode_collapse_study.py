"""The resumable mode-collapse study (``benchmarks/mode_collapse_study.py``) at tiny sizes:
what it writes, that its final runs use the setting its search picked, and that a stopped
study resumes without training again what is already in its files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["GAN", "GAN (saturating)", "PacGAN2", "PacGAN3", "PacGAN4", "WGAN-GP", "GAN + R1"]


def study(out: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "benchmarks/mode_collapse_study.py", "--tiny",
                             "--workers", "1", "--seeds", "3", "--out-dir", str(out), *args],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("study")
    study(out)
    return out


def test_the_study_writes_every_search_and_final_run(tiny_study: Path) -> None:
    runs = pd.read_csv(tiny_study / "mode_collapse_study_runs.csv")
    counts = runs.groupby(["method", "protocol"]).size().unstack()
    assert sorted(counts.index) == sorted(METHODS)
    assert (counts["search"] == 2 * 2 * 2).all()  # 2 settings x 2 tuning seeds x 2 datasets
    assert (counts["final"] == 3 * 2).all()       # 3 seeds x 2 datasets
    final = runs[runs.protocol == "final"]
    assert final.converged.isin([0, 1]).all()
    assert runs[runs.protocol == "search"].converged.isna().all()
    assert set(final.seed) == {0, 1, 2} and set(runs[runs.protocol == "search"].seed) == {100, 101}
    assert (runs.steps == 8).all() and (runs.optimiser == "adam").all()
    curves = pd.read_csv(tiny_study / "mode_collapse_study_curves.csv")
    assert set(curves.step) == {2, 4, 6} and len(curves) == 3 * len(runs)


def test_each_final_run_uses_the_best_setting_of_its_search(tiny_study: Path) -> None:
    runs = pd.read_csv(tiny_study / "mode_collapse_study_runs.csv")
    K = runs.dataset.map({"ring": 8, "grid": 25})
    runs = runs.assign(score=runs.modes / K * runs.hq / 100)
    for (method, dataset), group in runs.groupby(["method", "dataset"]):
        search = group[group.protocol == "search"].groupby(["lr", "beta1"]).score.mean()
        final = group[group.protocol == "final"]
        assert set(zip(final.lr, final.beta1)) == {search.idxmax()}, (method, dataset)


def test_a_stopped_study_resumes_where_it_stopped(tiny_study: Path, tmp_path: Path) -> None:
    for name in ("mode_collapse_study_runs.csv", "mode_collapse_study_curves.csv",
                 "mode_collapse_study_samples.pt"):
        (tmp_path / name).write_bytes((tiny_study / name).read_bytes())
    path = tmp_path / "mode_collapse_study_runs.csv"
    runs = pd.read_csv(path)
    # as if it had stopped before PacGAN3's final job
    runs[(runs.method != "PacGAN3") | (runs.protocol != "final")].to_csv(path, index=False)
    assert "[('PacGAN3', 'final')]" in study(tmp_path)
    again = pd.read_csv(path)
    assert len(again) == len(runs)
    assert again[again.method == "PacGAN3"].protocol.value_counts()["final"] == 6
    assert "0 jobs" in study(tmp_path)
    assert len(pd.read_csv(path)) == len(runs)


def test_stacked_mnist_rows_are_written_once(tmp_path: Path) -> None:
    study(tmp_path, "--stacked")
    rows = pd.read_csv(tmp_path / "stacked_mnist_study.csv")
    assert sorted(rows.method.unique()) == ["DCGAN", "DCGAN + R1", "PacDCGAN2", "real triples"]
    assert (rows[rows.method != "real triples"].d_width == 16).all()
    assert len(rows) == 3 * 5 + 1
    study(tmp_path, "--stacked")
    assert len(pd.read_csv(tmp_path / "stacked_mnist_study.csv")) == 3 * 5 + 1
