import pytest
import torch

from gan_tutorial.models import MLPDiscriminator, MLPGenerator


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_generator_maps_z_to_images_in_range() -> None:
    G = MLPGenerator()
    images = G(torch.randn(5, 100) * 10)
    assert images.shape == (5, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1


def test_discriminator_returns_one_logit_per_image() -> None:
    D = MLPDiscriminator()
    logits = D(torch.rand(7, 1, 28, 28) * 2 - 1)
    assert logits.shape == (7,) and logits.dtype == torch.float32


def test_layouts_match_the_chapter() -> None:
    # 100-256-512-1024-784 and 784-512-256-1 with biases
    assert n_params(MLPGenerator()) == 1_486_352
    assert n_params(MLPDiscriminator()) == 533_505
    assert n_params(MLPGenerator(latent_dim=2, img_shape=(1, 2, 2), hidden=(3,))) == 9 + 16


def test_other_shapes() -> None:
    G = MLPGenerator(latent_dim=8, img_shape=(3, 4, 4), hidden=(16,))
    D = MLPDiscriminator(img_shape=(3, 4, 4), hidden=(16, 8))
    assert D(G(torch.randn(2, 8))).shape == (2,)


@pytest.mark.parametrize("z", [torch.randn(4, 99), torch.randn(100), torch.randn(2, 1, 100)])
def test_generator_rejects_wrong_z_with_the_expected_shape(z: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"expected z of shape \(B, 100\)"):
        MLPGenerator()(z)


@pytest.mark.parametrize("x", [torch.randn(4, 784), torch.randn(4, 1, 32, 32),
                               torch.randn(4, 3, 28, 28)])
def test_discriminator_rejects_wrong_images_with_the_expected_shape(x: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 28, 28\)"):
        MLPDiscriminator()(x)


@pytest.mark.parametrize("kwargs", [{"latent_dim": 0}, {"hidden": ()}, {"img_shape": (28, 28)},
                                    {"hidden": (256, -1)}])
def test_constructor_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        MLPGenerator(**kwargs)
