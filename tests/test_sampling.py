import numpy as np
import pytest
import torch

from gan_tutorial.models import DCGANGenerator, MLPGenerator
from gan_tutorial.sampling import (
    evaluating,
    fixed_labels,
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


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n": 0, "latent_dim": 3}, "n must be an integer >= 1, got 0"),
    ({"n": 2, "latent_dim": 0}, "latent_dim must be an integer >= 1, got 0"),
    ({"n": 2, "latent_dim": 3, "seed": -1},
     r"seed must be an integer in \[0, 9223372036854775807\], got -1"),
    ({"n": True, "latent_dim": 3}, "n must be an integer >= 1, got True")])
def test_fixed_latents_reject_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fixed_latents(**kwargs)


def test_fixed_latents_accept_numpy_integers() -> None:
    z = fixed_latents(np.int64(3), np.int32(5), seed=np.int64(2))
    assert torch.equal(z, fixed_latents(3, 5, seed=2))


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
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got False"):
        sample(MLPGenerator(), 2, batch_size=False)
    with pytest.raises(ValueError,
                       match=r"seed must be an integer in \[0, 9223372036854775807\], got 1.5"):
        sample(MLPGenerator(), 2, seed=1.5)


class _NoParameters(torch.nn.Module):
    latent_dim = 4
    num_classes = None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z


def test_sample_from_a_generator_without_parameters_says_so() -> None:
    with pytest.raises(ValueError, match="G must have parameters .* got a _NoParameters "
                                         "without any"):
        sample(_NoParameters(), 2)


def test_sample_accepts_numpy_integers() -> None:
    G = MLPGenerator(latent_dim=8, hidden=(16,))
    images = sample(G, np.int64(5), seed=np.int32(1), batch_size=np.int64(2))
    assert torch.equal(images, sample(G, 5, seed=1, batch_size=2))


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


# --- labels for conditional generators --------------------------------------------------------


def test_fixed_labels_cycle_through_the_classes() -> None:
    labels = fixed_labels(23, 10)
    assert labels.dtype == torch.int64 and labels.shape == (23,)
    assert labels.tolist() == list(range(10)) * 2 + [0, 1, 2]
    # in a grid with 10 images per row, column j holds class j
    assert (labels[:20].view(2, 10) == torch.arange(10)).all()
    assert torch.equal(fixed_labels(np.int64(4), np.int64(3)), torch.tensor([0, 1, 2, 0]))


@pytest.mark.parametrize(("args", "match"), [((0, 10), "n must be an integer >= 1, got 0"),
                                             ((5, 0), "num_classes must be an integer >= 1"),
                                             ((5, True), "num_classes must be .* got True")])
def test_fixed_labels_reject_bad_arguments(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fixed_labels(*args)


CONDITIONAL_G = [lambda: MLPGenerator(hidden=(16,), num_classes=10),
                 lambda: DCGANGenerator(width=4, num_classes=10)]


@pytest.mark.parametrize("make", CONDITIONAL_G)
def test_sample_with_labels(make) -> None:
    torch.manual_seed(0)
    G = make()
    labels = torch.arange(10).repeat(2)
    images = sample(G, 20, seed=3, batch_size=7, labels=labels)
    assert images.shape == (20, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1 and G.training
    # the same latents as without labels: fixed_latents(n, latent_dim, seed)
    with evaluating(G):
        expected = G(fixed_latents(20, 100, seed=3), labels)
    torch.testing.assert_close(images, expected, rtol=0, atol=1e-6)
    other = sample(G, 20, seed=3, batch_size=7, labels=(labels + 1) % 10)
    assert (other != images).flatten(1).any(1).all()  # each image follows its label


def test_sample_uses_the_same_latents_with_and_without_labels() -> None:
    G = MLPGenerator(latent_dim=8, hidden=(16,))
    with evaluating(G):
        expected = G(fixed_latents(6, 8, seed=4))
    torch.testing.assert_close(sample(G, 6, seed=4), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("labels", "match"), [
    (None, r"G was built with num_classes=10, so labels are required: class labels of shape "
           r"\(4,\) and dtype int64 \(e.g. fixed_labels\(4, 10\)\)"),
    (torch.tensor([0, 1, 2, 10]), r"labels must lie in \[0, 9\] \(num_classes=10\), got "
                                  r"values in \[0, 10\]"),
    (torch.tensor([0.0, 1.0, 2.0, 3.0]), r"labels must be class labels of shape \(4,\) and "
                                         r"dtype int64, got a tensor of shape \(4,\) and dtype "
                                         r"torch.float32"),
    (torch.arange(5), r"labels must be class labels of shape \(4,\) .* shape \(5,\)")])
def test_sample_rejects_bad_labels(labels: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sample(MLPGenerator(hidden=(16,), num_classes=10), 4, labels=labels)


def test_sample_refuses_labels_for_an_unconditional_generator() -> None:
    with pytest.raises(ValueError, match=r"G was built without num_classes \(unconditional\), "
                                         r"so labels must be None; got a tensor of shape \(4,\)"):
        sample(MLPGenerator(hidden=(16,)), 4, labels=torch.arange(4))


def test_interpolate_with_labels() -> None:
    torch.manual_seed(0)
    G = DCGANGenerator(width=4, num_classes=10)
    z0, z1 = _unit_pair()
    labels = torch.full((5,), 3)
    images = interpolate(G, z0, z1, 5, labels=labels)
    assert images.shape == (5, 1, 28, 28) and G.training
    with evaluating(G):
        expected = G(interpolate_latents(z0, z1, 5), labels)
    assert torch.equal(images, expected)
    with pytest.raises(ValueError, match=r"built with num_classes=10, so labels are required"):
        interpolate(G, z0, z1, 5)
    with pytest.raises(ValueError, match=r"labels must be class labels of shape \(5,\)"):
        interpolate(G, z0, z1, 5, labels=torch.arange(4))
