import pytest
import torch

from gan_tutorial.models import DCGANGenerator, MLPGenerator
from gan_tutorial.sampling import (
    evaluating,
    fixed_latents,
    interpolate,
    interpolate_latents,
    sample,
)


def test_evaluating_sets_eval_mode_and_no_grad_then_restores() -> None:
    a, b = torch.nn.BatchNorm1d(3), torch.nn.Dropout()
    b.eval()
    with evaluating(a, b):
        assert not a.training and not b.training
        assert not torch.is_grad_enabled()
    assert a.training and not b.training and torch.is_grad_enabled()


def test_evaluating_restores_modes_after_an_error() -> None:
    module = torch.nn.Linear(2, 2)
    with pytest.raises(RuntimeError), evaluating(module):
        raise RuntimeError("boom")
    assert module.training


def test_fixed_latents_depend_only_on_their_arguments() -> None:
    torch.manual_seed(1)
    first = fixed_latents(4, 10, seed=3)
    torch.manual_seed(2)
    assert torch.equal(first, fixed_latents(4, 10, seed=3))
    assert not torch.equal(first, fixed_latents(4, 10, seed=4))
    assert first.shape == (4, 10) and first.dtype == torch.float32
    state = torch.get_rng_state()
    fixed_latents(4, 10)
    assert torch.equal(state, torch.get_rng_state())  # the global stream is untouched


@pytest.mark.parametrize("kwargs", [{"n": 0, "latent_dim": 3}, {"n": 2, "latent_dim": 0},
                                    {"n": 2, "latent_dim": 3, "seed": -1}])
def test_fixed_latents_reject_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        fixed_latents(**kwargs)


def test_sample_is_reproducible_in_range_and_without_grad() -> None:
    G = MLPGenerator(latent_dim=8, hidden=(16,))
    images = sample(G, 10, seed=5, batch_size=3)
    assert images.shape == (10, 1, 28, 28) and not images.requires_grad
    assert images.min() >= -1 and images.max() <= 1
    assert torch.equal(images, sample(G, 10, seed=5, batch_size=3))
    torch.testing.assert_close(images, sample(G, 10, seed=5))  # batching changes rounding only
    assert not torch.allclose(images, sample(G, 10, seed=6))
    assert G.training  # mode restored


def test_sample_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n must be"):
        sample(MLPGenerator(), 0)
    with pytest.raises(ValueError, match="latent_dim"):
        sample(torch.nn.Linear(3, 3), 2)


def _unit_pair(latent_dim: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    z0, z1 = fixed_latents(2, latent_dim, seed=7)
    return z0, z1 / z1.norm() * z0.norm()  # equal norms


@pytest.mark.parametrize("method", ["slerp", "lerp"])
def test_interpolate_starts_at_z0_and_ends_at_z1(method: str) -> None:
    torch.manual_seed(0)
    G = DCGANGenerator(latent_dim=100, width=8)
    z0, z1 = fixed_latents(2, 100, seed=3)
    z = interpolate_latents(z0, z1, 6, method)
    assert z.shape == (6, 100) and torch.equal(z[0], z0) and torch.equal(z[-1], z1)
    images = interpolate(G, z0, z1, 6, method)
    assert images.shape == (6, 1, 28, 28) and not images.requires_grad and G.training
    with evaluating(G):
        assert torch.equal(images, G(z))  # the images are G of exactly those latents
        ends = G(torch.stack([z0, z1]))
    # a batch of another size may round differently in the last bit, hence the tolerance
    torch.testing.assert_close(images[[0, -1]], ends, rtol=0, atol=1e-6)
    assert not torch.allclose(images[0], images[-1])


def test_slerp_keeps_the_norm_and_lerp_cuts_inside() -> None:
    z0, z1 = _unit_pair()
    radius = z0.norm().item()
    slerp = interpolate_latents(z0, z1, 9, "slerp")
    lerp = interpolate_latents(z0, z1, 9, "lerp")
    torch.testing.assert_close(slerp.norm(dim=1), torch.full((9,), radius))
    # on the chord the midpoint has norm r cos(W / 2), W the angle between z0 and z1
    angle = torch.arccos(torch.dot(z0, z1) / radius**2)
    torch.testing.assert_close(lerp[4].norm(), radius * torch.cos(angle / 2))
    assert (lerp[1:-1].norm(dim=1) < radius - 0.5).all()
    torch.testing.assert_close(lerp[4], (z0 + z1) / 2)
    # slerp moves by equal angles
    angles = torch.arccos((slerp[:-1] * slerp[1:]).sum(1) / radius**2)
    torch.testing.assert_close(angles, torch.full((8,), angle.item() / 8))


def test_slerp_of_parallel_vectors_falls_back_to_the_line() -> None:
    z0 = torch.ones(4)
    z = interpolate_latents(z0, 3 * z0, 3, "slerp")
    assert torch.isfinite(z).all()
    torch.testing.assert_close(z[1], 2 * z0)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"steps": 1}, "steps must be"), ({"steps": 2.5}, "steps must be"),
    ({"steps": 4, "method": "cubic"}, "method must be one of"),
    ({"steps": 4, "z1": torch.zeros(99)}, r"shape \(100,\)"),
    ({"steps": 4, "z0": torch.zeros(1, 100)}, r"shape \(100,\)"),
])
def test_interpolate_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    z0, z1 = _unit_pair()
    arguments = {"z0": z0, "z1": z1} | kwargs
    with pytest.raises(ValueError, match=match):
        interpolate(DCGANGenerator(width=4), **arguments)
