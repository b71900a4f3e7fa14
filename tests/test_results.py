"""gan_tutorial.results: the registry agrees with book/results/, and a chapter outside a clone
gets each file downloaded once, verified by SHA-256, or a clear error (a local HTTP server plays
the repository)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from gan_tutorial import results

if TYPE_CHECKING:
    from conftest import Served

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "book" / "results"


def _tool():
    spec = importlib.util.spec_from_file_location(
        "results_registry", ROOT / "book" / "_tools" / "results_registry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_registry_lists_every_result_file_with_its_hash() -> None:
    assert results.registry() == _tool().hashes(FOLDER), "run `make results-registry`"


def test_the_repository_is_the_books() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    assert results.REPOSITORY == config["url"].rstrip("/"), "run `make colab`"


def test_the_pinned_revision_holds_the_registered_files() -> None:
    """What Colab downloads is the files at REVISION: they must have the registry's hashes."""
    if shutil.which("git") is None or subprocess.run(
            ["git", "cat-file", "-e", f"{results.REVISION}^{{commit}}"], cwd=ROOT,
            capture_output=True).returncode:
        pytest.skip("not a clone with the history that holds results.REVISION")
    for name, digest in results.registry().items():
        shown = subprocess.run(["git", "show", f"{results.REVISION}:book/results/{name}"],
                               cwd=ROOT, capture_output=True)
        assert shown.returncode == 0, f"{name} is not in {results.REVISION}: run `make colab`"
        assert _sha256(shown.stdout) == digest, f"{name} at {results.REVISION} differs"


def test_inside_the_clone_the_file_of_the_clone_is_used() -> None:
    assert results.path("stacked_mnist.csv") == FOLDER / "stacked_mnist.csv"


@pytest.fixture
def away(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         serve: Callable[[Path], Served]) -> Served:
    """Outside a clone: no local book/results/, an empty cache, and a server of a copy of the
    result files as the repository."""
    served = tmp_path / "served"
    shutil.copytree(FOLDER, served)
    monkeypatch.setattr(results, "_in_clone", lambda name: None)
    monkeypatch.setattr(results, "CACHE", tmp_path / "cache")
    server = serve(served)
    monkeypatch.setenv(results.URL_VARIABLE, server.url)
    return server


def test_outside_a_clone_a_file_is_downloaded_once_and_verified(away: Served) -> None:
    first = results.path("stabilising_recipe.json")
    assert first.parent == results.CACHE
    assert first.read_bytes() == (FOLDER / "stabilising_recipe.json").read_bytes()
    assert results.path("stabilising_recipe.json") == first
    assert away.requests == ["/stabilising_recipe.json"]  # the second call used the cache


def test_a_tampered_cached_file_is_deleted_and_downloaded_again(away: Served) -> None:
    cached = results.path("stacked_mnist.csv")
    cached.write_text("method,seed,modes\nGAN,0,1000\n")
    assert results.path("stacked_mnist.csv").read_bytes() == \
        (FOLDER / "stacked_mnist.csv").read_bytes()
    assert len(away.requests) == 2


def test_a_download_with_another_hash_is_refused_and_deleted(away: Served,
                                                             tmp_path: Path) -> None:
    (tmp_path / "served" / "stacked_mnist.csv").write_text("method,seed,modes\nGAN,0,1000\n")
    with pytest.raises(ValueError, match=r"'stacked_mnist\.csv' from http://127\.0\.0\.1.*"
                                         r"SHA-256.*deleted and not used"):
        results.path("stacked_mnist.csv")
    assert not list(results.CACHE.glob("*stacked_mnist*"))


def test_a_tampered_cache_offline_is_refused_with_the_ways_out(away: Served,
                                                               monkeypatch) -> None:
    cached = results.path("stacked_mnist.csv")
    cached.write_text("tampered")
    monkeypatch.setenv(results.URL_VARIABLE, "http://127.0.0.1:9/")  # nothing listens there
    with pytest.raises(FileNotFoundError, match="could not be downloaded"):
        results.path("stacked_mnist.csv")
    assert not cached.exists()


def test_offline_without_a_cache_the_error_names_the_file_the_url_and_the_ways_out(
        away: Served, monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    monkeypatch.delenv(results.URL_VARIABLE)
    with pytest.raises(FileNotFoundError) as error:
        results.path("mode_collapse_runs.csv")
    message = str(error.value)
    assert "'mode_collapse_runs.csv'" in message
    assert (f"https://raw.githubusercontent.com/gan-tutorial/gan-book/{results.REVISION}"
            f"/book/results/mode_collapse_runs.csv") in message
    assert "inside a clone" in message and results.URL_VARIABLE in message


def test_a_file_the_server_does_not_have_is_a_clear_error(away: Served,
                                                          tmp_path: Path) -> None:
    (tmp_path / "served" / "stabilising_sweep.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"stabilising_sweep\.csv.*404"):
        results.path("stabilising_sweep.csv")


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no result file 'results/x\.csv'.*stacked_mnist\.csv"):
        results.path("results/x.csv")
    with pytest.raises(ValueError, match=r"no result file \['stacked_mnist\.csv'\]"):
        results.path(["stacked_mnist.csv"])


@pytest.mark.parametrize("url", ["file:///srv/results/", "raw.githubusercontent.com/x", " "])
def test_the_url_variable_must_be_http(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(results.URL_VARIABLE, url)
    with pytest.raises(ValueError, match="GAN_TUTORIAL_RESULTS_URL must be an http"):
        results.base_url()


def _benchmarks_common():
    spec = importlib.util.spec_from_file_location("common", ROOT / "benchmarks" / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_result_file_has_a_provenance_record() -> None:
    """The run page lists, for each file of book/results/, the command, device, wall time and
    date that made it: every file needs a complete record, and no record names a lost file."""
    import json

    records = json.loads((FOLDER / "provenance.json").read_text())
    files = {f.name for f in FOLDER.iterdir() if f.is_file() and f.name != "provenance.json"}
    assert set(records) == files
    for name, record in records.items():
        assert {"command", "device", "wall_s", "date_utc", "commit", "note"} <= set(record), name
        assert record["command"].startswith("python benchmarks/"), name


def test_record_provenance_records_the_files_a_run_changed_and_keeps_the_others(
        tmp_path: Path) -> None:
    import json
    import os
    import time

    common = _benchmarks_common()
    old = tmp_path / "old.csv"
    old.write_text("a\n1\n")
    os.utime(old, (1_000, 1_000))
    (tmp_path / "provenance.json").write_text(json.dumps({"old.csv": {"command": "earlier"}}))
    since = time.time() - 1
    (tmp_path / "new.csv").write_text("b\n2\n")
    assert common.record_provenance(tmp_path, since, "cpu", "a note") == ["new.csv"]
    records = json.loads((tmp_path / "provenance.json").read_text())
    assert records["old.csv"] == {"command": "earlier"}
    new = records["new.csv"]
    assert new["device"] == "cpu" and new["note"] == "a note" and new["wall_s"] >= 1
    assert new["command"].startswith("python ")
    (tmp_path / "mine.csv").write_text("c\n3\n")
    (tmp_path / "theirs.csv").write_text("d\n4\n")  # another benchmark's, same folder
    assert common.record_provenance(tmp_path, since, "cpu", only=["mine.csv"]) == ["mine.csv"]
    assert "theirs.csv" not in json.loads((tmp_path / "provenance.json").read_text())
