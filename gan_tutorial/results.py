"""The book's result files: the CSVs and generators of ``book/results/``, in a clone or fetched.

Some chapters show long runs of ``benchmarks/`` that they load from ``book/results/``. Those
files travel with the repository, not with the package, so a chapter opened alone (in Colab, or
downloaded from the rendered book) asks :func:`path` for them. Inside a clone of the repository
it returns the file there. Anywhere else it downloads the file once, with pooch, from the
repository at the pinned commit :data:`REVISION`, checks its SHA-256 against the registry shipped
with the package (``results_registry.txt``, written by ``make results-registry``) and keeps it in
pooch's cache folder for the next call (on Linux ``~/.cache/gan-tutorial/results``). The
environment variable ``GAN_TUTORIAL_RESULTS_URL`` replaces the download address (a mirror, a
local server).

Example::

    runs = pandas.read_csv(results.path("mode_collapse_runs.csv"))
    state = torch.load(results.path("applications_cgan_w32.pt"), weights_only=True)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pooch
import requests

#: The repository (``repository.url`` of ``_config.yml``; ``make colab`` keeps them equal).
REPOSITORY = "https://github.com/gan-tutorial/gan-book"
#: The commit whose ``book/results/`` the registry describes (``make colab`` sets it).
REVISION = "7988943ff84d56a82fbbc0eddc19b09d3b40fda1"
#: The environment variable that replaces :func:`base_url` (ending in ``/``, or one is added).
URL_VARIABLE = "GAN_TUTORIAL_RESULTS_URL"
# "name sha256" lines, one per file of book/results/ (a plain comment: the API page shows no
# machine path).
REGISTRY_FILE = Path(__file__).with_name("results_registry.txt")
# Where downloads are kept: pooch's cache folder of the operating system.
CACHE = pooch.os_cache("gan-tutorial") / "results"


@functools.cache
def registry() -> Mapping[str, str]:
    """The registry, read once: ``{file name: SHA-256 hex digest}`` of every file of
    ``book/results/``, read-only."""
    lines = REGISTRY_FILE.read_text().splitlines()
    return MappingProxyType(dict(line.split() for line in lines
                                 if line.strip() and not line.startswith("#")))


def base_url() -> str:
    """The address the files are downloaded from, ending in ``/``: ``$GAN_TUTORIAL_RESULTS_URL``
    if set, else the repository's raw files at :data:`REVISION`.

    Raises:
        ValueError: if ``$GAN_TUTORIAL_RESULTS_URL`` is not an ``http://`` or ``https://`` URL.
    """
    url = os.environ.get(URL_VARIABLE) or (
        REPOSITORY.replace("https://github.com/", "https://raw.githubusercontent.com/")
        + f"/{REVISION}/book/results/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{URL_VARIABLE} must be an http:// or https:// URL of a folder that "
                         f"serves book/results/, got {url!r}")
    return url if url.endswith("/") else url + "/"


def path(name: str) -> Path:
    """A local path to the result file ``name`` of ``book/results/``, e.g.
    ``"stabilising_final.csv"``.

    Inside a clone of the repository (the package installed from it, or the current folder in
    it) this is the file in the clone, as it is. Elsewhere the file is downloaded from
    :func:`base_url` once, checked against its SHA-256 in the registry, and cached in pooch's
    cache folder (``~/.cache/gan-tutorial/results`` on Linux); a cached copy whose hash differs
    is deleted and downloaded again.

    Raises:
        ValueError: if ``name`` is not a name in the registry (the message lists them), or if the
            downloaded file's SHA-256 differs from the registry's (the file is deleted, never
            returned).
        FileNotFoundError: if the file is neither in a clone nor cached and the download failed
            (offline, or the address has no such file); the message names the file, the URL
            tried and the two ways out.
    """
    known = registry()
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"no result file {name!r}: the book's result files are "
                         f"{', '.join(sorted(known))}")
    local = _in_clone(name)
    if local is not None:
        return local
    url = base_url() + name
    cached = CACHE / name
    if cached.exists() and pooch.file_hash(str(cached)) != known[name]:
        cached.unlink()  # tampered or stale: never used
    try:
        fetched = pooch.retrieve(url, known_hash=f"sha256:{known[name]}", fname=name,
                                 path=CACHE, downloader=pooch.HTTPDownloader(timeout=60))
    except ValueError as error:  # pooch: the hash differs (its temporary file is deleted)
        cached.unlink(missing_ok=True)
        raise ValueError(f"the download of the result file {name!r} from {url} does not have "
                         f"the SHA-256 of the package's registry, so it was deleted and not "
                         f"used ({error})") from None
    except (requests.RequestException, OSError) as error:
        raise FileNotFoundError(
            f"the result file {name!r} is not in a clone of the book's repository and could "
            f"not be downloaded from {url} ({type(error).__name__}: {error}). Either run the "
            f"chapter inside a clone of {REPOSITORY} (the file is book/results/{name} there), "
            f"or set the environment variable {URL_VARIABLE} to a folder URL that serves "
            f"book/results/ (a mirror, or `python -m http.server` in that folder)") from None
    return Path(fetched)


def _in_clone(name: str) -> Path | None:
    """``book/results/name`` of the clone the package was installed from (``pip install -e``)
    or of the current folder or one above it; a clone is a folder with ``_toc.yml``."""
    package_root = Path(__file__).resolve().parents[1]
    here = Path.cwd().resolve()
    for root in (package_root, here, *here.parents):
        candidate = root / "book" / "results" / name
        if (root / "_toc.yml").is_file() and candidate.is_file():
            return candidate
    return None
