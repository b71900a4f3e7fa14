import pytest
import torch

from gan_tutorial.models import MLPGenerator
from gan_tutorial.sampling import evaluating, fixed_latents, sample


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
