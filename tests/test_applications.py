"""The applications chapter's protocols on real digits, with tiny networks and few steps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_tutorial.experiments.applications import (
    Settings,
    anomaly_run,
    conditional_accuracy,
    data_split,
    gan_batches,
)


class Oracle(nn.Module):
    """A stand-in for a perfect conditional G: returns a real digit of the requested class."""

    latent_dim, num_classes = 4, 10

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))  # sample() needs a parameter
        self.bank = torch.stack([x[y == c][:20] for c in range(10)])  # (10, 20, 1, 28, 28)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pick = (z[:, 0].abs() * 1000).long() % 20
        return self.bank[y, pick] + self.weight


@pytest.fixture(scope="module")
def split(mnist_digits):
    return data_split(*mnist_digits)


def test_data_split_holds_out_100_digits_per_class(split, mnist_digits) -> None:
    (x_pool, y_pool), (x_test, y_test) = split
    assert len(x_pool) == 4_000 and len(x_test) == 1_000
    assert torch.equal(torch.bincount(y_test), torch.full((10,), 100))
    # no test digit is in the pool
    flat_pool = {tuple(v.tolist()) for v in x_pool.flatten(1)[:, ::7]}
    assert not any(tuple(v.tolist()) in flat_pool for v in x_test.flatten(1)[:50, ::7])


def test_conditional_accuracy_of_a_perfect_generator(split, evaluator) -> None:
    G = Oracle(*split[0])
    accuracy, per_class = conditional_accuracy(G, evaluator, 200, seed=0)
    assert accuracy >= 0.95
    assert per_class.shape == (10,) and (per_class >= 0.8).all()
    images, labels = gan_batches(G)(30, torch.Generator().manual_seed(0))
    assert images.shape == (30, 1, 28, 28) and labels.shape == (30,)
    predicted = evaluator(images).argmax(1)
    assert (predicted == labels).double().mean() >= 0.9


def test_anomaly_run_reports_three_aurocs(split, one_thread) -> None:
    tiny = Settings(width=4, batch_size=16, gan_steps=3, anogan_steps=2)
    row = anomaly_run(*split, anomaly_class=0, settings=tiny, seed=0, device="cpu")
    assert row["anomaly_class"] == 0 and row["seed"] == 0
    for key in ("auroc_d", "auroc_anogan", "auroc_nn"):
        assert 0 <= row[key] <= 1
    assert row["auroc_nn"] > 0.9  # a 0 is far, in pixels, from every digit of the other nine
