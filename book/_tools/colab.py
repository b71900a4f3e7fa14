"""Keep every chapter's Colab badge and Colab install cell pointing at the repository, and pin
the revision that chapters outside a clone download the book's result files from.

    python book/_tools/colab.py          # rewrite them from _config.yml's repository.url

The repository URL is set once, in ``_config.yml`` (``repository.url`` and ``branch``). A
chapter opened in Colab cannot read that file, so the URL is written into two places of each
notebook: an "Open in Colab" badge under the title, and the first code cell, which installs the
package only when it runs under Colab. ``tests/test_notebooks.py`` checks they are in sync.

``gan_tutorial/results.py`` gets the same URL (``REPOSITORY``) and the commit checked out now
(``REVISION``, ``git rev-parse HEAD``): Colab downloads ``book/results/`` at that commit, so run
this after committing new result files (it refuses while ``book/results/`` has uncommitted
changes). ``tests/test_results.py`` checks that the files at ``REVISION`` match the registry.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[2]
RESULTS_MODULE = ROOT / "gan_tutorial" / "results.py"
BADGE_IMAGE = "images/colab-badge.svg"  # shipped with the book: the page has no remote images
INSTALL_CELL = '''\
# Runs only in Google Colab: install the book's package there. Does nothing anywhere else.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                    "gan-tutorial @ git+{url}"], check=True)'''


def repository() -> tuple[str, str]:
    """``(url, branch)`` of the repository, from ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    return config["url"].rstrip("/"), config.get("branch", "main")


def install_cell() -> str:
    """The source of the first code cell of every chapter."""
    return INSTALL_CELL.format(url=repository()[0])


def badge(notebook: Path) -> str:
    """The Markdown "Open in Colab" badge line for ``notebook``."""
    url, branch = repository()
    owner_repo = urlparse(url).path.strip("/")
    path = notebook.resolve().relative_to(ROOT).as_posix()
    return (f"[![Open In Colab]({BADGE_IMAGE})](https://colab.research.google.com/github/"
            f"{owner_repo}/blob/{branch}/{path})")


def sync(notebook: Path) -> bool:
    """Write the badge and the install cell into ``notebook``; return True if it changed."""
    nb = nbformat.read(notebook, as_version=4)
    before = nbformat.writes(nb)
    title = nb.cells[0]
    if title.cell_type != "markdown" or not title.source.startswith("# "):
        raise ValueError(f"{notebook}: the first cell must be Markdown starting with '# title'")
    lines = [line for line in title.source.split("\n") if not line.startswith("[![Open In Colab]")]
    title.source = "\n".join([lines[0], "", badge(notebook), *lines[1:]]).replace("\n\n\n", "\n\n")
    code = nb.cells[1]
    if code.cell_type == "code" and "google.colab" in code.source:
        code.source = install_cell()
    else:
        nb.cells.insert(1, nbformat.v4.new_code_cell(install_cell()))
    if nbformat.writes(nb) == before:
        return False
    nbformat.write(nb, notebook)
    return True


def pin_results() -> bool:
    """Write the repository URL and HEAD's commit into ``gan_tutorial/results.py``; return True
    if it changed.

    Raises:
        RuntimeError: if ``book/results/`` has changes that are not committed (HEAD would not
            hold the files the registry describes).
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.strip()

    if git("status", "--porcelain", "--", "book/results"):
        raise RuntimeError("book/results/ has uncommitted changes: commit them (and the "
                           "registry, `make results-registry`) before pinning the revision")
    before = RESULTS_MODULE.read_text()
    after = re.sub(r'^REPOSITORY = ".*"$', f'REPOSITORY = "{repository()[0]}"', before, flags=re.M)
    after = re.sub(r'^REVISION = ".*"$', f'REVISION = "{git("rev-parse", "HEAD")}"', after,
                   flags=re.M)
    if after == before:
        return False
    RESULTS_MODULE.write_text(after)
    return True


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    print(f"gan_tutorial/results.py: {'updated' if pin_results() else 'in sync'}")
    for notebook in sorted((ROOT / "book").glob("[!.]*.ipynb")):  # not execute.py's temporaries
        print(f"{notebook.relative_to(ROOT)}: {'updated' if sync(notebook) else 'in sync'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
