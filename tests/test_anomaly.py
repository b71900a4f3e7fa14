"""Anomaly scores and AUROC: closed forms, invariances and the AnoGAN search."""

from __future__ import annotations

import pytest
import torch

from gan_tutorial.anomaly import (
    auroc,
    discriminator_score,
    latent_reconstruction_score,
    nearest_neighbour_score,
)
from gan_tutorial.models import DCGANDiscriminator, DCGANGenerator


def test_auroc_closed_forms_and_large_scores() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    assert auroc(torch.tensor([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert auroc(torch.tensor([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    # one anomaly below one normal image: 3 of the 4 pairs are ordered
    assert auroc(torch.tensor([0.1, 0.5, 0.4, 0.9]), labels) == pytest.approx(0.75)
    # scores far outside [0, 1] (reconstruction errors of hundreds) keep their order
    assert auroc(torch.tensor([700.0, 701.0, 702.0, 703.0]), labels) == 1.0
    assert auroc(torch.ones(4), labels) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="one anomaly and one normal"):
        auroc(torch.rand(4), torch.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        auroc(torch.tensor([0.0, float("nan"), 1, 2]), labels)
    with pytest.raises(ValueError, match="same length"):
        auroc(torch.rand(3), labels)


def test_nearest_neighbour_score_is_zero_on_training_images(mnist_digits) -> None:
    x = mnist_digits[0][:100]
    assert torch.equal(nearest_neighbour_score(x[:10], x), torch.zeros(10))
    assert (nearest_neighbour_score(mnist_digits[0][100:110], x) > 0).all()


def test_discriminator_score_is_minus_the_logit(one_thread) -> None:
    torch.manual_seed(0)
    D = DCGANDiscriminator(width=4).train()
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    scores = discriminator_score(D, x, batch_size=4)
    assert D.training  # mode restored
    D.eval()
    with torch.no_grad():
        assert torch.allclose(scores, -D(x))
    with pytest.raises(ValueError, match="28, 28"):
        discriminator_score(D, torch.zeros(2, 1, 7, 7))


def test_latent_search_lowers_the_score_and_leaves_the_networks_alone(one_thread) -> None:
    torch.manual_seed(0)
    G, D = DCGANGenerator(8, width=4), DCGANDiscriminator(width=4)
    before = {k: v.clone() for k, v in (G.state_dict() | D.state_dict()).items()}
    with torch.no_grad():
        x = G.eval()(torch.randn(5, 8))  # images G can draw exactly
    start, _ = latent_reconstruction_score(G, D, x, steps=1, lr=1e-9, seed=3)
    end, recon = latent_reconstruction_score(G, D, x, steps=60, lr=0.05, seed=3)
    assert (end < start).all()
    assert recon.shape == x.shape
    after = G.state_dict() | D.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in [*G.parameters(), *D.parameters()])
    # batches do not interact: scoring in batches of 2 gives the same scores
    split, _ = latent_reconstruction_score(G, D, x, steps=60, lr=0.05, seed=3, batch_size=5)
    assert torch.allclose(split, end)
    with pytest.raises(ValueError, match="weight"):
        latent_reconstruction_score(G, D, x, weight=1.5)
