import numpy as np
import pytest
import torch

from gan_tutorial.data import gaussian_ring
from gan_tutorial.models import PointDiscriminator, PointGenerator
from gan_tutorial.experiments.vanishing import generator_gradient_norms


@pytest.mark.usefixtures("one_thread")
def test_saturating_gradient_vanishes_as_d_wins_and_the_other_does_not() -> None:
    torch.manual_seed(0)
    G = PointGenerator(2, 2, (16,), "relu")
    D = PointDiscriminator(2, (64, 64, 64), activation="relu")
    before = [p.clone() for p in G.parameters()]
    x = gaussian_ring(2_000, generator=torch.Generator().manual_seed(0))
    # a fast D (lr 5e-3) wins within 150 updates, so the test takes well under a second
    record = generator_gradient_norms(G, D, x, d_steps=150, batch_size=64, lr=5e-3)
    assert record["step"] == list(range(151))
    assert all(len(v) == 151 for v in record.values())
    assert record["d_g_z"][-1] < 0.01 < 0.3 < record["d_g_z"][0]
    # once D wins, the saturating norm is orders of magnitude below its peak and below the
    # non-saturating one, which keeps growing
    sat, nonsat = (np.median(record[k][-25:]) for k in ("saturating", "nonsaturating"))
    assert sat < 0.05 * max(record["saturating"]) and sat < 0.01 * nonsat
    assert nonsat > 10 * record["nonsaturating"][0]
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))  # G frozen


def test_bad_arguments_are_rejected() -> None:
    G, D = PointGenerator(2, 2), PointDiscriminator(2)
    with pytest.raises(ValueError, match="d_steps must be an integer >= 1"):
        generator_gradient_norms(G, D, torch.zeros(10, 2), d_steps=0)
    with pytest.raises(ValueError, match="N >= batch_size = 20"):
        generator_gradient_norms(G, D, torch.zeros(10, 2), d_steps=1, batch_size=20)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        generator_gradient_norms(G, D, torch.zeros(10, 2), d_steps=1, batch_size=5, lr=0.0)
    with pytest.raises(ValueError, match="x_real must be finite"):
        generator_gradient_norms(G, D, torch.full((10, 2), float("nan")), d_steps=1,
                                 batch_size=5)
