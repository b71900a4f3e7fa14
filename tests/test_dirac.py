import math

import pytest
import torch

from gan_tutorial.experiments import dirac


def test_autograd_gradients_match_the_closed_form() -> None:
    theta = torch.tensor([0.7, -1.2, 0.0], dtype=torch.float64)
    psi = torch.tensor([0.3, 2.0, -0.5], dtype=torch.float64)
    g_theta, g_psi = dirac.gradients(theta, psi, gamma=0.4)
    f_prime = torch.sigmoid(-psi * theta)  # f(t) = log sigmoid(t), f'(t) = sigmoid(-t)
    assert torch.allclose(g_theta, psi * f_prime)
    assert torch.allclose(g_psi, theta * f_prime - 0.4 * psi)
    assert dirac.value(torch.tensor(0.0), torch.tensor(0.0)).item() == pytest.approx(
        -2 * math.log(2))


def radii(path: torch.Tensor) -> torch.Tensor:
    return path.norm(dim=1)


def test_simultaneous_steps_spiral_out_alternating_circle_r1_converges() -> None:
    h, steps = 0.2, 300
    simultaneous = dirac.trajectory(1.0, 0.0, h, steps, "simultaneous")
    alternating = dirac.trajectory(1.0, 0.0, h, steps, "alternating")
    regularised = dirac.trajectory(1.0, 0.0, h, steps, "simultaneous", gamma=1.0)
    small_steps = dirac.trajectory(1.0, 0.0, h / 10, 10 * steps, "simultaneous")  # same time
    assert simultaneous.shape == (steps + 1, 2) and simultaneous[0].tolist() == [1.0, 0.0]
    # near the equilibrium each simultaneous step multiplies the radius by about
    # sqrt(1 + (h f'(0))^2) > 1 (Mescheder et al. 2018, Section 2.2): it never shrinks
    assert (radii(simultaneous).diff() > 0).all() and radii(simultaneous)[-1] > 1.3
    assert radii(alternating).max() < 1.2 and radii(alternating)[100:].min() > 0.8
    assert radii(regularised)[-1] < 0.01
    # smaller steps only slow the outward spiral down (no step size converges without R1)
    assert (radii(small_steps).diff() > 0).all()
    assert 1.0 < radii(small_steps)[-1] < radii(simultaneous)[-1]


def test_vector_field_rotates_around_the_equilibrium() -> None:
    theta, psi = torch.meshgrid(torch.linspace(-1, 1, 5, dtype=torch.float64),
                                torch.linspace(-1, 1, 5, dtype=torch.float64), indexing="xy")
    u, v = dirac.vector_field(theta, psi)
    assert u.shape == (5, 5)
    assert u[2, 2].item() == v[2, 2].item() == 0.0  # (0, 0) is a fixed point
    assert torch.allclose(u * theta + v * psi, torch.zeros(5, 5, dtype=torch.float64), atol=1e-12)
    u_r1, v_r1 = dirac.vector_field(theta, psi, gamma=1.0)
    assert (u_r1 * theta + v_r1 * psi <= 1e-12).all()  # R1 points inwards


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        dirac.trajectory(1.0, 0.0, 0.1, 5, "gauss-seidel")
    with pytest.raises(ValueError, match="gamma must be a finite number >= 0"):
        dirac.gradients(torch.zeros(2), torch.zeros(2), gamma=-1.0)
    with pytest.raises(ValueError, match="theta and psi must be float tensors of one shape"):
        dirac.gradients(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="steps must be an integer >= 0"):
        dirac.trajectory(1.0, 0.0, 0.1, -1)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        dirac.trajectory(1.0, 0.0, 0.0, 5)
