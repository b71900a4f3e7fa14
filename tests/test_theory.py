import math

import numpy as np
import pytest
import torch

from gan_tutorial import theory
from gan_tutorial.config import TrainConfig
from gan_tutorial.models import PointDiscriminator, PointGenerator
from gan_tutorial.runner import fit

LOG2, LOG4 = math.log(2), math.log(4)


def random_distribution(n: int, seed: int, zeros: int = 0) -> torch.Tensor:
    """A random discrete distribution over n outcomes, with `zeros` outcomes of probability 0."""
    generator = torch.Generator().manual_seed(seed)
    p = torch.rand(n, generator=generator, dtype=torch.float64) ** 3
    p[torch.randperm(n, generator=generator)[:zeros]] = 0
    return p / p.sum()


def gaussians(*params: tuple[float, float]) -> tuple[list[torch.Tensor], float]:
    x, dx = theory.uniform_grid(-20, 20, 4_000)
    return [theory.gaussian_density(x, m, s) for m, s in params], dx


@pytest.mark.parametrize("seed", range(5))
def test_jsd_is_symmetric_bounded_and_zero_only_for_equal_inputs(seed: int) -> None:
    p, q = random_distribution(50, seed, zeros=5), random_distribution(50, seed + 100, zeros=5)
    assert theory.jsd(p, q) == pytest.approx(theory.jsd(q, p), abs=1e-12)
    assert 0 < theory.jsd(p, q) < LOG2
    assert theory.jsd(p, p) == pytest.approx(0, abs=1e-12)


def test_jsd_of_disjoint_supports_is_log_2() -> None:
    p = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    assert theory.jsd(p, p.flip(0)) == pytest.approx(LOG2, abs=1e-12)
    (a, b), dx = gaussians((-10, 0.5), (10, 0.5))  # overlap below float64's smallest number
    assert theory.jsd(a, b, dx) == pytest.approx(LOG2, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_kl_is_non_negative_and_asymmetric(seed: int) -> None:
    p, q = random_distribution(30, seed), random_distribution(30, seed + 100)
    assert theory.kl(p, q) > 0 and theory.kl(q, p) > 0
    assert theory.kl(p, q) != pytest.approx(theory.kl(q, p))
    assert theory.kl(p, p) == pytest.approx(0, abs=1e-12)


def test_kl_matches_the_closed_form_for_gaussians_and_is_inf_off_support() -> None:
    (p, q), dx = gaussians((0.0, 1.0), (1.0, 2.0))
    closed = math.log(2 / 1) + (1 + 1) / (2 * 4) - 0.5  # log(s2/s1) + (s1^2 + dm^2)/(2 s2^2) - 1/2
    assert theory.kl(p, q, dx) == pytest.approx(closed, abs=1e-9)
    assert theory.kl([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert theory.kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(LOG2)  # 0 log 0 = 0


@pytest.mark.parametrize("seed", range(10))
def test_theorem_1_identity_on_random_distributions(seed: int) -> None:
    p_data = random_distribution(40, seed, zeros=seed % 4)
    p_g = random_distribution(40, seed + 1_000, zeros=seed % 3)
    assert theory.value_function(p_data, p_g) == pytest.approx(
        -LOG4 + 2 * theory.jsd(p_data, p_g), abs=1e-6)


def test_theorem_1_on_densities_and_minimum_at_p_g_equal_p_data() -> None:
    (p_data, p_g), dx = gaussians((4, 0.5), (0, 1))
    assert theory.value_function(p_data, p_g, dx=dx) == pytest.approx(
        -LOG4 + 2 * theory.jsd(p_data, p_g, dx), abs=1e-6)
    assert theory.value_function(p_data, p_data, dx=dx) == pytest.approx(-LOG4, abs=1e-12)
    assert theory.value_function(p_data, p_g, dx=dx) > -LOG4


def test_c_of_g_stays_finite_where_d_star_rounds_to_one() -> None:
    # Far in the right tail p_g / p_data < 1e-16, so D* == 1.0 in float64; C(G) must not be -inf.
    (p_data, p_g), dx = gaussians((4, 0.5), (0, 0.5))
    assert theory.optimal_discriminator(p_data, p_g, dx).eq(1).any()
    assert theory.value_function(p_data, p_g, dx=dx) == pytest.approx(
        -LOG4 + 2 * theory.jsd(p_data, p_g, dx), abs=1e-6)


def test_optimal_discriminator_values() -> None:
    p_data = torch.tensor([0.5, 0.25, 0.25, 0.0, 0.0], dtype=torch.float64)
    p_g = torch.tensor([0.0, 0.25, 0.5, 0.25, 0.0], dtype=torch.float64)
    d_star = theory.optimal_discriminator(p_data, p_g)
    np.testing.assert_allclose(d_star[:4].numpy(), [1.0, 0.5, 1 / 3, 0.0])
    assert torch.isnan(d_star[4])  # both densities are 0: undefined
    assert d_star.dtype == torch.float64


@pytest.mark.parametrize("seed", range(5))
def test_optimal_discriminator_is_in_unit_interval_and_maximises_v(seed: int) -> None:
    p_data, p_g = random_distribution(20, seed, zeros=3), random_distribution(20, seed + 7)
    d_star = theory.optimal_discriminator(p_data, p_g)
    assert ((d_star >= 0) & (d_star <= 1)).all()
    best = theory.value_function(p_data, p_g, d_star)
    assert best == pytest.approx(theory.value_function(p_data, p_g))
    other = torch.rand(20, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    for d in (other, (d_star + 0.01).clamp(0, 1), torch.full((20,), 0.5)):
        assert theory.value_function(p_data, p_g, d) < best  # Proposition 1


def test_value_function_at_d_one_half_is_minus_log_4_and_inf_for_a_sure_wrong_d() -> None:
    p, q = random_distribution(10, 0), random_distribution(10, 1)
    assert theory.value_function(p, q, torch.full((10,), 0.5)) == pytest.approx(-LOG4)
    assert theory.value_function(p, q, torch.zeros(10)) == -math.inf


def test_accepts_numpy_and_lists() -> None:
    assert theory.jsd(np.array([1.0, 0.0]), [0.0, 1.0]) == pytest.approx(LOG2)


@pytest.mark.parametrize("p, q, dx, message", [
    ([1.2, -0.2], [0.5, 0.5], 1.0, "p_data must be non-negative"),
    ([0.5, 0.4], [0.5, 0.5], 1.0, "p_data is not normalised"),
    ([0.5, 0.5], [0.5, 0.5], 0.5, "p_data is not normalised"),
    ([0.5, 0.5], [0.2, 0.3, 0.5], 1.0, "same shape"),
    ([0.5, 0.5], [float("nan"), 1.0], 1.0, "p_g must be finite"),
    ([], [], 1.0, "empty"),
    ([0.5, 0.5], [0.5, 0.5], 0.0, "dx must be"),
])
def test_bad_inputs_raise_value_error(p, q, dx, message) -> None:
    with pytest.raises(ValueError, match=message):
        theory.value_function(p, q, dx=dx)
    with pytest.raises(ValueError, match=message.replace("p_data", "p").replace("p_g", "q")):
        theory.jsd(p, q, dx)


def test_normalisation_tolerance_is_1e_6() -> None:
    theory.kl([0.5 + 4e-7, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="within 1e-06"):
        theory.kl([0.5 + 2e-6, 0.5], [0.5, 0.5])


def test_value_function_rejects_bad_d() -> None:
    p = [0.5, 0.5]
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        theory.value_function(p, p, [0.5, 1.5])
    with pytest.raises(ValueError, match=r"shape of p_data"):
        theory.value_function(p, p, [0.5])


def test_grid_gaussian_and_histogram_are_normalised_on_the_same_cells() -> None:
    x, dx = theory.uniform_grid(0, 8, 80)
    assert dx == pytest.approx(0.1) and x[0] == pytest.approx(0.05) and x[-1] == pytest.approx(7.95)
    assert theory.gaussian_density(x, 4, 0.5).sum() * dx == pytest.approx(1, abs=1e-9)
    samples = torch.tensor([0.01, 0.09, 0.15, 7.99, -3.0, 100.0])
    hist = theory.histogram_density(samples, 0, 8, 80)
    assert hist.sum() * dx == pytest.approx(1)
    assert hist[0] * dx == pytest.approx(3 / 6)  # two inside the first cell, one clamped
    assert hist[1] * dx == pytest.approx(1 / 6) and hist[-1] * dx == pytest.approx(2 / 6)
    assert theory.histogram_density(samples[:, None], 0, 8, 80).equal(hist)


@pytest.mark.parametrize("call, message", [
    (lambda: theory.uniform_grid(1, 0, 10), "low must be below high"),
    (lambda: theory.uniform_grid(0, float("inf"), 10), "high must be a finite number"),
    (lambda: theory.uniform_grid(0, 1, 0), r"n \(the number of cells\) must be an integer >= 1"),
    (lambda: theory.gaussian_density([0.0], 0, 0), "std must be a finite number > 0"),
    (lambda: theory.histogram_density(torch.zeros(3, 2), 0, 1, 10), r"\(N,\) or \(N, 1\)"),
    (lambda: theory.histogram_density([], 0, 1, 10), "N >= 1"),
    (lambda: theory.histogram_density([0.5, float("nan")], 0, 1, 10), "samples must be finite"),
])
def test_grid_helpers_reject_bad_arguments(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_uniform_grid_accepts_numpy_integers() -> None:
    x, dx = theory.uniform_grid(0, 1, np.int64(4))
    assert len(x) == 4 and dx == pytest.approx(0.25)


def test_fit_trains_point_models_on_1d_data() -> None:
    torch.manual_seed(0)
    x = 4 + 0.5 * torch.randn(256, 1)
    G, D = PointGenerator(), PointDiscriminator()
    config = TrainConfig(steps=3, batch_size=32, d_steps=2, latent_dim=1, snapshot_every=1,
                         log_every=1)
    history = fit(G, D, x, config, device="cpu", progress=False)
    assert history.step == [1, 2, 3]
    assert [images.shape for _, images in history.snapshots] == [(16, 1)] * 4
