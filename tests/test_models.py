import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_tutorial.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    PointDiscriminator,
    PointGenerator,
    init_dcgan_weights,
)


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


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"latent_dim": 0}, r"latent_dim must be an integer >= 1, got 0"),
    ({"latent_dim": True}, r"latent_dim must be an integer >= 1, got True"),
    ({"hidden": ()}, r"hidden must be a non-empty sequence of integers >= 1"),
    ({"img_shape": (28, 28)}, r"img_shape must be \(C, H, W\), got \(28, 28\)"),
    ({"hidden": (256, -1)}, r"hidden must be a non-empty sequence of integers >= 1"),
    ({"num_classes": 0}, r"num_classes must be an integer >= 1, got 0"),
    ({"num_classes": 2.0}, r"num_classes must be an integer >= 1, got 2.0")])
def test_constructor_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
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


@pytest.mark.parametrize(("make", "match"), [
    (lambda: PointGenerator(latent_dim=0), "latent_dim must be an integer >= 1"),
    (lambda: PointGenerator(data_dim=-1), "data_dim must be an integer >= 1"),
    (lambda: PointDiscriminator(hidden=()), "hidden must be a non-empty sequence"),
    (lambda: PointDiscriminator(data_dim=1.5), "data_dim must be an integer >= 1, got 1.5")])
def test_point_constructors_reject_bad_arguments(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_point_models_are_smooth_so_d_can_bend_away_from_the_origin() -> None:
    # ELU: the second derivative of D's logit is non-zero around x = 4, where a LeakyReLU net
    # (piecewise linear) would almost surely have none.
    torch.manual_seed(0)
    x = torch.linspace(3, 5, 5).unsqueeze(1).requires_grad_()
    (slope,) = torch.autograd.grad(PointDiscriminator()(x).sum(), x, create_graph=True)
    (curvature,) = torch.autograd.grad(slope.sum(), x)
    assert (curvature.abs() > 1e-6).all()


def test_packed_discriminator_concatenates_consecutive_points() -> None:
    torch.manual_seed(0)
    D = PointDiscriminator(data_dim=2, hidden=(8,), pack=3)
    assert D.net[0].in_features == 6
    x = torch.randn(12, 2)
    logits = D(x)
    assert logits.shape == (4,)
    # pack 1 is rows 3, 4, 5 side by side: the same as the unpacked net on that 6-vector
    assert torch.allclose(logits[1], D.net(x[3:6].reshape(1, 6)).squeeze())
    changed = x.clone()
    changed[4] += 1.0  # only pack 1 sees row 4
    moved = D(changed) != logits
    assert moved.tolist() == [False, True, False, False]


def test_packed_discriminator_rejects_a_batch_that_does_not_divide() -> None:
    with pytest.raises(ValueError, match="packs 4 samples .* divisible by 4, got 6"):
        PointDiscriminator(data_dim=2, pack=4)(torch.randn(6, 2))
    with pytest.raises(ValueError, match="pack"):
        PointDiscriminator(pack=0)


def test_point_models_take_relu_and_reject_unknown_activations() -> None:
    G = PointGenerator(2, 2, (16, 16), activation="relu")
    assert sum(isinstance(m, torch.nn.ReLU) for m in G.net) == 2
    assert n_params(G) == n_params(PointGenerator(2, 2, (16, 16)))
    with pytest.raises(ValueError, match=r"activation must be one of \['elu', 'relu'\]"):
        PointDiscriminator(activation="tanh")


# --- DCGAN ---------------------------------------------------------------------------------


@pytest.mark.parametrize("image_size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes_for_every_supported_size(image_size: int, channels: int) -> None:
    G = DCGANGenerator(latent_dim=16, channels=channels, image_size=image_size, width=8)
    D = DCGANDiscriminator(channels=channels, image_size=image_size, width=8)
    images = G(torch.randn(3, 16) * 10)
    assert G.latent_dim == 16
    assert images.shape == (3, channels, image_size, image_size) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    logits = D(images)
    assert logits.shape == (3,) and logits.dtype == torch.float32


def test_dcgan_default_layout_for_mnist() -> None:
    # G: Linear 100 -> 128*7*7 (no bias), BN(128), ConvT 128->64 (no bias), BN(64),
    # ConvT 64->1 (+bias); D: Conv 1->64 (+bias), Conv 64->128 (no bias), BN(128), Linear 6272->1
    assert n_params(DCGANGenerator()) == 100 * 6272 + 2 * 128 + 128 * 64 * 16 + 2 * 64 + 64 * 16 + 1
    assert n_params(DCGANDiscriminator()) == 16 * 64 + 64 + 64 * 128 * 16 + 2 * 128 + 6272 + 1
    x = torch.zeros(2, 100)
    shapes = []
    for layer in DCGANGenerator().net:
        x = layer(x)
        if isinstance(layer, (torch.nn.Unflatten, torch.nn.ConvTranspose2d)):
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(128, 7, 7), (64, 14, 14), (1, 28, 28)]  # 7 -> 14 -> 28


def _layer_after(net: torch.nn.Sequential, kinds: tuple[type, ...]) -> list[str]:
    """The type name of the layer after each layer of type ``kinds`` (skipping reshapes)."""
    layers = [m for m in net if not isinstance(m, (torch.nn.Unflatten, torch.nn.Flatten))]
    return [type(layers[i + 1]).__name__ for i, m in enumerate(layers[:-1])
            if isinstance(m, kinds)]


@pytest.mark.parametrize("image_size", [28, 32, 64])
def test_dcgan_batchnorm_placement_follows_the_paper(image_size: int) -> None:
    G = DCGANGenerator(image_size=image_size, width=4)
    D = DCGANDiscriminator(image_size=image_size, width=4)
    conv_g = (torch.nn.Linear, torch.nn.ConvTranspose2d)
    after_g = _layer_after(G.net, conv_g)
    # every G layer is followed by BatchNorm except the output layer, which goes into tanh
    assert after_g[:-1] == ["BatchNorm2d"] * (len(after_g) - 1) and after_g[-1] == "Tanh"
    assert type(G.net[-1]).__name__ == "Tanh"
    assert not any(isinstance(m, torch.nn.Linear) for m in list(G.net)[1:])  # no FC hidden layers
    after_d = _layer_after(D.net, (torch.nn.Conv2d,))
    # D's input layer has no BatchNorm, every later convolution has
    assert after_d[0] == "LeakyReLU" and after_d[1:] == ["BatchNorm2d"] * (len(after_d) - 1)
    assert all(m.negative_slope == 0.2 for m in D.net if isinstance(m, torch.nn.LeakyReLU))
    assert any(isinstance(m, torch.nn.ReLU) for m in G.net)
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.Sigmoid)) for m in D.net)


def test_init_dcgan_weights_statistics() -> None:
    torch.manual_seed(0)
    G = DCGANGenerator(width=256)  # big layers, so the sample statistics are precise
    G.apply(init_dcgan_weights)
    weight = G.net[4].weight  # ConvTranspose2d 512 -> 256, 2,097,152 weights
    assert abs(weight.mean().item()) < 1e-3 and abs(weight.std().item() - 0.02) < 1e-3
    linear = G.net[0].weight
    assert abs(linear.std().item() - 0.02) < 1e-3
    gamma, beta = G.net[2].weight, G.net[2].bias  # BatchNorm2d(512)
    assert abs(gamma.mean().item() - 1) < 0.005 and 0.015 < gamma.std().item() < 0.025
    assert torch.equal(beta, torch.zeros_like(beta))
    assert torch.equal(G.net[-2].bias, torch.zeros(1))
    # PyTorch's default init is different, so the function really changed the weights
    assert abs(DCGANGenerator(width=256).net[4].weight.std().item() - 0.02) > 0.005


def test_init_dcgan_weights_leaves_other_modules_alone() -> None:
    module = torch.nn.LayerNorm(4)
    before = module.weight.clone()
    init_dcgan_weights(module)
    assert torch.equal(module.weight, before)


@pytest.mark.parametrize("image_size", [16, 27, 128, True, "28"])
def test_dcgan_rejects_unsupported_sizes_and_lists_the_supported(image_size: object) -> None:
    for model in (DCGANGenerator, DCGANDiscriminator):
        with pytest.raises(ValueError, match=r"image_size must be one of \[28, 32, 64\]"):
            model(image_size=image_size)


@pytest.mark.parametrize(("model", "kwargs"), [
    (DCGANGenerator, {"latent_dim": 0}), (DCGANGenerator, {"width": 0}),
    (DCGANGenerator, {"channels": 0}), (DCGANDiscriminator, {"width": 2.5}),
    (DCGANDiscriminator, {"channels": -1}), (DCGANDiscriminator, {"num_classes": -3})])
def test_dcgan_rejects_bad_arguments(model: type, kwargs: dict) -> None:
    (name,) = kwargs
    with pytest.raises(ValueError, match=rf"^{name} must be an integer >= 1, got"):
        model(**kwargs)


def test_dcgan_rejects_wrong_inputs_with_the_expected_shape() -> None:
    with pytest.raises(ValueError, match=r"expected z of shape \(B, 100\)"):
        DCGANGenerator()(torch.randn(2, 1, 100))
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 3, 32, 32\)"):
        DCGANDiscriminator(channels=3, image_size=32)(torch.randn(2, 1, 32, 32))


def test_models_accept_numpy_integers() -> None:
    G = DCGANGenerator(latent_dim=np.int64(8), channels=np.int32(1), image_size=np.int64(32),
                       width=np.int64(4), num_classes=np.int64(3))
    assert G.img_shape == (1, 32, 32) and type(G.img_shape[1]) is int
    assert G.num_classes == 3 and type(G.num_classes) is int
    D = MLPDiscriminator(img_shape=(np.int64(1), 28, 28), hidden=(np.int16(8),))
    assert D(torch.zeros(2, 1, 28, 28)).shape == (2,)
    with pytest.raises(ValueError, match=r"image_size must be one of \[28, 32, 64\], got 28.0"):
        DCGANDiscriminator(image_size=28.0)


# --- conditional models (Mirza & Osindero 2014; Miyato & Koyama 2018) ------------------------

# state_dict keys and shapes of the unconditional models before num_classes existed:
# checkpoints written then must still load.
MLP_G_STATE = [("net.0.weight", (256, 100)), ("net.0.bias", (256,)),
               ("net.2.weight", (512, 256)), ("net.2.bias", (512,)),
               ("net.4.weight", (1024, 512)), ("net.4.bias", (1024,)),
               ("net.6.weight", (784, 1024)), ("net.6.bias", (784,))]
DCGAN_D_STATE = [("net.0.weight", (64, 1, 4, 4)), ("net.0.bias", (64,)),
                 ("net.2.weight", (128, 64, 4, 4)), ("net.3.weight", (128,)),
                 ("net.3.bias", (128,)), ("net.3.running_mean", (128,)),
                 ("net.3.running_var", (128,)), ("net.3.num_batches_tracked", ()),
                 ("net.6.weight", (1, 6272)), ("net.6.bias", (1,))]


@pytest.mark.parametrize(("model", "expected"), [(MLPGenerator, MLP_G_STATE),
                                                 (DCGANDiscriminator, DCGAN_D_STATE)])
def test_unconditional_state_dict_is_unchanged(model: type, expected: list) -> None:
    state = model().state_dict()
    assert [(key, tuple(value.shape)) for key, value in state.items()] == expected
    fresh = model()
    fresh.load_state_dict(state)  # strict: no missing or unexpected keys
    assert fresh.num_classes is None and getattr(fresh, "embed", None) is None


def test_every_model_has_num_classes() -> None:
    for model in (MLPGenerator(), MLPDiscriminator(), DCGANGenerator(width=4),
                  DCGANDiscriminator(width=4), PointGenerator(), PointDiscriminator()):
        assert model.num_classes is None
    for model in (MLPGenerator, MLPDiscriminator, DCGANGenerator, DCGANDiscriminator):
        assert model(num_classes=10).num_classes == 10


def test_conditional_parameter_counts() -> None:
    # G: the first Linear gains 10 inputs (the one-hot label), no other parameter;
    # D: a 10 x F projection table, F = features before the final Linear (256, 128 * 7 * 7)
    assert n_params(MLPGenerator(num_classes=10)) == 1_486_352 + 10 * 256 == 1_488_912
    assert n_params(MLPDiscriminator(num_classes=10)) == 533_505 + 10 * 256 == 536_065
    assert n_params(DCGANGenerator(num_classes=10)) == 759_681 + 10 * 6272 == 822_401
    assert n_params(DCGANDiscriminator(num_classes=10)) == 138_689 + 10 * 6272 == 201_409


def test_conditional_generator_only_widens_the_first_layer() -> None:
    for model in (MLPGenerator, DCGANGenerator):
        plain, conditional = model().state_dict(), model(num_classes=10).state_dict()
        assert conditional["net.0.weight"].shape[1] == plain["net.0.weight"].shape[1] + 10
        assert [(k, v.shape) for k, v in conditional.items() if k != "net.0.weight"] == \
            [(k, v.shape) for k, v in plain.items() if k != "net.0.weight"]


@pytest.mark.parametrize("make", [
    lambda: MLPGenerator(latent_dim=6, img_shape=(1, 4, 4), hidden=(8,), num_classes=3),
    lambda: DCGANGenerator(latent_dim=6, image_size=32, width=4, num_classes=3)])
def test_conditional_generator_concatenates_z_and_the_one_hot_label(make) -> None:
    torch.manual_seed(0)
    G = make().eval()
    z, y = torch.randn(5, 6), torch.tensor([0, 1, 2, 2, 0])
    images = G(z, y)
    assert images.shape == (5, *G.img_shape) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    one_hot = torch.eye(3)[y]  # Mirza & Osindero 2014, Section 4.1
    manual = G.net(torch.cat([z, one_hot], dim=1)).view(5, *G.img_shape)
    torch.testing.assert_close(images, manual, rtol=0, atol=0)
    # another label changes the image of the same z, and only that one
    changed = G(z, torch.tensor([1, 1, 2, 2, 0]))
    moved = (changed != images).flatten(1).any(1)
    assert moved.tolist() == [True, False, False, False, False]


def test_projection_discriminator_matches_the_formula() -> None:
    # Miyato & Koyama 2018, Eq. 3: logit = psi(phi(x)) + <embed(y), phi(x)>
    torch.manual_seed(0)
    D = MLPDiscriminator(img_shape=(1, 2, 2), hidden=(3,), num_classes=4)
    assert D.embed.weight.shape == (4, 3)
    x, y = torch.rand(6, 1, 2, 2) * 2 - 1, torch.tensor([0, 1, 2, 3, 3, 1])
    W1, b1 = D.net[0].weight, D.net[0].bias
    phi = torch.nn.functional.leaky_relu(x.reshape(6, 4) @ W1.T + b1, 0.2)
    psi = phi @ D.net[-1].weight[0] + D.net[-1].bias[0]
    expected = psi + (D.embed.weight[y] * phi).sum(1)
    torch.testing.assert_close(D(x, y), expected)
    # the same phi and psi without the projection term are the unconditional D
    plain = MLPDiscriminator(img_shape=(1, 2, 2), hidden=(3,))
    plain.load_state_dict({k: v for k, v in D.state_dict().items() if k != "embed.weight"})
    torch.testing.assert_close(plain(x), psi)


def test_dcgan_projection_uses_the_flattened_last_feature_map() -> None:
    torch.manual_seed(0)
    D = DCGANDiscriminator(image_size=28, width=4, num_classes=10).eval()
    assert D.embed.weight.shape == (10, 8 * 7 * 7)
    x, y = torch.rand(3, 1, 28, 28) * 2 - 1, torch.tensor([9, 0, 4])
    phi = D.net[:-1](x)
    assert phi.shape == (3, 392)
    expected = D.net[-1](phi).squeeze(1) + (D.embed(y) * phi).sum(1)
    torch.testing.assert_close(D(x, y), expected)


@pytest.mark.parametrize("make_D", [lambda: MLPDiscriminator(num_classes=10),
                                    lambda: DCGANDiscriminator(width=4, num_classes=10)])
def test_the_label_changes_the_discriminators_logit(make_D) -> None:
    torch.manual_seed(0)
    D = make_D().eval()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    logits = D(x, torch.tensor([0, 1, 2, 3]))
    assert logits.shape == (4,) and logits.dtype == torch.float32
    other = D(x, torch.tensor([0, 1, 2, 4]))
    assert (other != logits).tolist() == [False, False, False, True]


CONDITIONAL = [lambda: MLPGenerator(latent_dim=4, img_shape=(1, 2, 2), hidden=(4,),
                                    num_classes=10),
               lambda: MLPDiscriminator(img_shape=(1, 2, 2), hidden=(4,), num_classes=10),
               lambda: DCGANGenerator(latent_dim=4, width=2, num_classes=10),
               lambda: DCGANDiscriminator(width=2, num_classes=10)]


def _input_of(model: torch.nn.Module, batch: int = 3) -> torch.Tensor:
    if hasattr(model, "latent_dim"):
        return torch.randn(batch, model.latent_dim)
    return torch.rand(batch, *model.img_shape) * 2 - 1


@pytest.mark.parametrize("make", CONDITIONAL)
@pytest.mark.parametrize(("y", "match"), [
    (None, r"built with num_classes=10, so it needs class labels y of shape \(B,\) and dtype "
           r"int64; got y=None"),
    (torch.tensor([0, 10, 1]), r"y must lie in \[0, 9\] \(num_classes=10\), got values in "
                               r"\[0, 10\]"),
    (torch.tensor([0, -1, 1]), r"y must lie in \[0, 9\] .* got values in \[-1, 1\]"),
    (torch.tensor([0.0, 1.0, 2.0]), r"y must be class labels of shape \(3,\) and dtype int64, "
                                    r"got a tensor of shape \(3,\) and dtype torch.float32"),
    (torch.tensor([0, 1, 2], dtype=torch.int32), r"y must be class labels .* dtype torch.int32"),
    (torch.tensor([0, 1]), r"y must be class labels of shape \(3,\) .* shape \(2,\)"),
    (torch.tensor([[0, 1, 2]]), r"y must be class labels of shape \(3,\) .* shape \(1, 3\)"),
    ([0, 1, 2], r"y must be class labels of shape \(3,\) and dtype int64, got \[0, 1, 2\]")])
def test_conditional_models_reject_bad_labels(make, y: object, match: str) -> None:
    model = make()
    with pytest.raises(ValueError, match=match):
        model(_input_of(model), y)


@pytest.mark.parametrize("model", [MLPGenerator(), MLPDiscriminator(), DCGANGenerator(width=2),
                                   DCGANDiscriminator(width=2)])
def test_unconditional_models_refuse_labels(model: torch.nn.Module) -> None:
    who = "G" if hasattr(model, "latent_dim") else "D"
    with pytest.raises(ValueError, match=rf"^{who} was built without num_classes "
                                         r"\(unconditional\), so y must be None; got a tensor"):
        model(_input_of(model), torch.zeros(3, dtype=torch.int64))


def test_conditional_models_still_check_their_input_first() -> None:
    with pytest.raises(ValueError, match=r"G expected z of shape \(B, 100\)"):
        MLPGenerator(num_classes=10)(torch.randn(3, 99), torch.zeros(3, dtype=torch.int64))
