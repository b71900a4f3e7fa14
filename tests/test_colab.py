"""Every chapter run the way Colab runs it: alone, with the package installed by pip.

A reader who opens a chapter in Colab (or downloads one notebook) has no repository: the install
cell runs a plain `pip install` of the package, the notebook sits alone in an empty folder, and
the result files of `book/results/` come over HTTP through `gan_tutorial.results.path`. The other
notebook tests run in the repository, where the editable install, `book/conftest.py` and the
relative path `results/` hide whatever a chapter takes from the repository. This test removes
all three:

* one fresh virtual environment per session, with the package installed by pip, non-editable and
  from a copy of the repository's files; the dependencies (torch and the rest) come from the
  current environment through a `.pth` line, which does not run the editable install's finder;
* `book/results/` served on 127.0.0.1 and named by `GAN_TUTORIAL_RESULTS_URL`, with an empty
  download cache for each chapter;
* each chapter copied alone into an empty folder and run there by nbval in smoke mode.

A last test runs one chapter with the network unreachable and no cache, and reads its error.
It is slow (15 s to 3 min a chapter in smoke mode, about 10 min in all on two busy cores):
`pytest -m colab` runs it alone, `-m "not colab"` skips it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "book" / "results"
TIMEOUT_S = 900
TAIL = 4000

pytestmark = pytest.mark.colab


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc["parts"] for entry in part["chapters"]]


CHAPTERS = [ROOT / f"{name}.ipynb" for name in _toc_files() if (ROOT / f"{name}.ipynb").exists()]


def _run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
         timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run a command, its stdout and stderr captured together as text."""
    return subprocess.run(command, cwd=cwd, env=env, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)


def _tail(text: str) -> str:
    """The end of a command's output, without the colour codes of IPython's tracebacks."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)[-TAIL:]


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH (nothing of the repository leaks in), plus extra."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(extra)
    return env


def _repository_files() -> list[str]:
    """The files of the working tree that git tracks or would track, those of book/ left out."""
    listed = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    assert listed.returncode == 0, listed.stdout
    return [name for name in listed.stdout.splitlines()
            if not name.startswith("book/") and (ROOT / name).is_file()]


def _copy_repository(target: Path) -> Path:
    """Copy the repository's files to target, so that building the package leaves no trace."""
    for name in _repository_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    return target


def _site_packages(python: Path) -> Path:
    found = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                 env=_clean_env())
    assert found.returncode == 0, found.stdout
    return Path(found.stdout.strip())


def _import_location(python: Path) -> subprocess.CompletedProcess[str]:
    return _run([str(python), "-c", "import gan_tutorial; print(gan_tutorial.__file__)"],
                cwd=python.parent, env=_clean_env())


@pytest.fixture(scope="session")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the package installed by pip, not editable.

    The venv has no pip of its own: a `.pth` line puts this environment's site-packages (pip,
    setuptools, torch and the other dependencies) after its own. A path line does not process
    the `.pth` files of that folder, so this environment's editable install stays inactive there.
    """
    folder = tmp_path_factory.mktemp("colab-venv")
    created = _run([sys.executable, "-m", "venv", "--without-pip", str(folder)])
    assert created.returncode == 0, created.stdout
    python = folder / "bin" / "python"
    site_packages = _site_packages(python)
    (site_packages / "current_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    before = _import_location(python)
    assert "No module named 'gan_tutorial'" in before.stdout, f"editable leaks: {before.stdout}"

    source = _copy_repository(tmp_path_factory.mktemp("colab-source"))
    # --ignore-installed: pip sees the editable gan-tutorial through the .pth line and must
    # neither take it as the install nor try to uninstall it.
    installed = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                      "--ignore-installed", "--quiet", str(source)], env=_clean_env())
    assert installed.returncode == 0, _tail(installed.stdout)

    after = _import_location(python)
    assert after.returncode == 0, _tail(after.stdout)
    assert Path(after.stdout.strip()).is_relative_to(site_packages), after.stdout
    return python


@pytest.fixture(scope="session")
def results_url(serve) -> str:
    """The base URL of book/results/, served on 127.0.0.1 for the session."""
    return serve(RESULTS).url


def _chapter_env(results_url: str, cache: Path) -> dict[str, str]:
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    return _clean_env(GAN_TUTORIAL_SMOKE="1", GAN_TUTORIAL_RESULTS_URL=results_url,
                      XDG_CACHE_HOME=str(cache), MPLBACKEND="Agg",
                      NO_PROXY=no_proxy, no_proxy=no_proxy)


def _run_alone(python: Path, notebook: Path, tmp_path: Path,
               url: str) -> tuple[int, str]:
    """Copy the chapter alone into an empty folder and run it there with nbval in smoke mode;
    its result files come from ``url``, into an empty cache. Returns (exit code, output tail)."""
    folder = tmp_path / "colab"
    folder.mkdir()
    shutil.copy2(notebook, folder / notebook.name)
    ini = tmp_path / "pytest.ini"  # outside the folder: the chapter stays alone there
    ini.write_text("[pytest]\n")
    # -x: stop at the first failing cell, as "Run all" does; its error is the one to read.
    command = [str(python), "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-x",
               "-p", "no:cacheprovider", "-q", "-c", str(ini), "--rootdir", str(folder),
               notebook.name]
    ran = _run(command, cwd=folder, env=_chapter_env(url, tmp_path / "cache"))
    return ran.returncode, _tail(ran.stdout)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_runs_alone_with_the_package_installed_by_pip(
        notebook: Path, venv_python: Path, results_url: str, tmp_path: Path) -> None:
    returncode, output = _run_alone(venv_python, notebook, tmp_path, results_url)
    assert returncode == 0, f"{notebook.name} failed alone:\n{output}"


def test_offline_a_chapter_stops_at_its_first_result_file_with_the_ways_out(
        venv_python: Path, tmp_path: Path) -> None:
    """No network and no cache: the first cell that needs a result file fails with the
    registry's error (the file, the URL tried, the two ways out), not deep inside pandas."""
    dead = "http://127.0.0.1:9/"  # the discard port: nothing listens there
    returncode, output = _run_alone(venv_python, ROOT / "book" / "stabilising.ipynb",
                                    tmp_path, dead)
    assert returncode != 0, output
    assert "FileNotFoundError: the result file 'stabilising_curves.csv'" in output, output
    assert f"could not be downloaded from {dead}stabilising_curves.csv" in output, output
    assert "inside a clone" in output and "GAN_TUTORIAL_RESULTS_URL" in output, output
