"""Keep every chapter's Colab badge and Colab install cell pointing at the repository.

    python book/_tools/colab.py          # rewrite them from _config.yml's repository.url

The repository URL is set once, in ``_config.yml`` (``repository.url`` and ``branch``). A
chapter opened in Colab cannot read that file, so the URL is written into two places of each
notebook: an "Open in Colab" badge under the title, and the first code cell, which installs the
package only when it runs under Colab. ``tests/test_notebooks.py`` checks they are in sync.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[2]
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


def main() -> int:
    for notebook in sorted((ROOT / "book").glob("[!.]*.ipynb")):  # not execute.py's temporaries
        print(f"{notebook.relative_to(ROOT)}: {'updated' if sync(notebook) else 'in sync'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
