import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_tutorial.models import MLPDiscriminator, MLPGenerator, PointDiscriminator, PointGenerator


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


DTYPES = [torch.float32, torch.float64, torch.float16, torch.int64, torch.uint8, torch.bool]
SHAPES = st.lists(st.integers(0, 5), min_size=0, max_size=5)


@settings(max_examples=60, deadline=None)
@given(shape=SHAPES, dtype=st.sampled_from(DTYPES))
def test_generator_accepts_only_float_z_of_shape_b_latent_dim(shape: list[int],
                                                              dtype: torch.dtype) -> None:
    G = MLPGenerator(latent_dim=3, img_shape=(1, 2, 2), hidden=(4,))
    z = torch.zeros(shape, dtype=dtype)
    if len(shape) == 2 and shape[1] == 3 and dtype.is_floating_point:
        with torch.no_grad():
            assert G(z.float()).shape == (shape[0], 1, 2, 2)
    else:
        with pytest.raises(ValueError, match=r"^G expected z of shape \(B, 3\) with a "
                                             r"floating-point dtype, got \("):
            G(z)


@settings(max_examples=60, deadline=None)
@given(shape=SHAPES, dtype=st.sampled_from(DTYPES))
def test_discriminator_accepts_only_float_images_of_its_shape(shape: list[int],
                                                              dtype: torch.dtype) -> None:
    D = MLPDiscriminator(img_shape=(1, 2, 3), hidden=(4,))
    x = torch.zeros(shape, dtype=dtype)
    if len(shape) == 4 and shape[1:] == [1, 2, 3] and dtype.is_floating_point:
        with torch.no_grad():
            assert D(x.float()).shape == (shape[0],)
    else:
        with pytest.raises(ValueError, match=r"^D expected images of shape \(B, 1, 2, 3\) "
                                             r"with a floating-point dtype, got"):
            D(x)


@pytest.mark.parametrize("model, bad", [(MLPGenerator(), [[0.0] * 100]),
                                        (MLPDiscriminator(), None)])
def test_non_tensors_are_rejected_naming_their_type(model, bad) -> None:
    with pytest.raises(ValueError, match=f"got {type(bad).__name__}$"):
        model(bad)


def test_point_generator_output_is_linear_and_unbounded() -> None:
    G = PointGenerator(latent_dim=3, data_dim=2, hidden=(8,))
    assert G.latent_dim == 3 and G(torch.randn(5, 3)).shape == (5, 2)
    with torch.no_grad():
        G.net[-1].bias.fill_(100.0)  # no tanh: the output can sit far outside [-1, 1]
    assert (G(torch.randn(4, 3)) > 50).all()


def test_point_models_default_layout() -> None:
    # 1-32-32-1 with biases: (1*32 + 32) + (32*32 + 32) + (32 + 1)
    assert n_params(PointGenerator()) == n_params(PointDiscriminator()) == 1_153


def test_point_discriminator_returns_one_logit_per_point() -> None:
    D = PointDiscriminator(data_dim=2)
    logits = D(torch.randn(7, 2) * 10)
    assert logits.shape == (7,) and logits.dtype == torch.float32


@pytest.mark.parametrize("z", [torch.randn(4, 2), torch.randn(4), torch.randn(4, 1, 1)])
def test_point_generator_rejects_wrong_z(z: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"expected z of shape \(B, 1\)"):
        PointGenerator()(z)


@pytest.mark.parametrize("x", [torch.randn(4, 1), torch.randn(4), torch.randn(4, 2, 1)])
def test_point_discriminator_rejects_wrong_points(x: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"expected points of shape \(B, 2\)"):
        PointDiscriminator(data_dim=2)(x)


@pytest.mark.parametrize("make", [lambda: PointGenerator(latent_dim=0),
                                  lambda: PointGenerator(data_dim=-1),
                                  lambda: PointDiscriminator(hidden=()),
                                  lambda: PointDiscriminator(data_dim=1.5)])
def test_point_constructors_reject_bad_arguments(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_point_models_are_smooth_so_d_can_bend_away_from_the_origin() -> None:
    # ELU: the second derivative of D's logit is non-zero around x = 4, where a LeakyReLU net
    # (piecewise linear) would almost surely have none.
    torch.manual_seed(0)
    x = torch.linspace(3, 5, 5).unsqueeze(1).requires_grad_()
    (slope,) = torch.autograd.grad(PointDiscriminator()(x).sum(), x, create_graph=True)
    (curvature,) = torch.autograd.grad(slope.sum(), x)
    assert (curvature.abs() > 1e-6).all()
