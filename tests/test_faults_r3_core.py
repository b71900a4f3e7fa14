"""Fault injection, round three (issue 29), the core surfaces: the image pool, ``fit``'s EMA and
fixed latents, sampling, the metrics, anomaly scores, the classifier and checkpoint resume.

One test per item of the sweep, each failing before the fix. Tiny models throughout.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_tutorial import anomaly, classifier, metrics, models, runner, sampling
from gan_tutorial.callbacks import ImagePool, ema_generator
from gan_tutorial.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gan_tutorial.config import TrainConfig

TINY = {"latent_dim": 4, "batch_size": 8, "snapshot_every": 0, "log_every": 1, "steps": 3}


def tiny(seed: int = 0) -> tuple[models.MLPGenerator, models.MLPDiscriminator]:
    torch.manual_seed(seed)
    return (models.MLPGenerator(latent_dim=4, img_shape=(1, 4, 4), hidden=(8,)),
            models.MLPDiscriminator(img_shape=(1, 4, 4), hidden=(8,)))


def images(n: int = 32, seed: int = 0) -> torch.Tensor:
    """n images (n, 1, 4, 4) spread over [-1, 1]."""
    return torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def fit(G, D, x, ema=None, fixed_z=None, directory=None, optimizers=None, **settings):
    return runner.fit(G, D, x, TrainConfig(**{**TINY, **settings}), device="cpu",
                      progress=False, ema=ema, fixed_z=fixed_z, checkpoint_dir=directory,
                      optimizers=optimizers)


def weights(*modules: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def digits(mnist_digits) -> torch.Tensor:
    """64 real digits in [-1, 1]."""
    return mnist_digits[0][:64]


# --- the image pool ---------------------------------------------------------------------------

@pytest.mark.parametrize("replay_size", [1, 2, 3])
def test_r3_fit_trains_with_a_replay_pool_smaller_than_half_a_batch(replay_size: int) -> None:
    G, D = tiny()
    history = fit(G, D, images(), replay_size=replay_size, steps=4)
    assert history.step == [1, 2, 3, 4]


def test_r3_a_small_pool_keeps_the_last_current_fakes_and_mixes_half_a_batch() -> None:
    pool = ImagePool(2)
    first = torch.arange(8.0)[:, None]
    assert pool.query(first) is first  # fills the pool with the first two fakes
    torch.manual_seed(0)
    second = 10 + torch.arange(8.0)[:, None]
    mixed = pool.query(second)
    assert mixed.shape == second.shape
    assert torch.equal(mixed[:4], second[:4])  # the first half of the current batch
    assert set(mixed[4:, 0].tolist()) <= {0.0, 1.0}  # the rest drawn from the pool
    assert sorted(pool.images[:, 0].tolist()) == [16.0, 17.0]  # replaced by the last fakes


# --- fit: EMA and fixed latents ---------------------------------------------------------------

def test_r3_an_ema_with_another_decay_than_the_config_is_refused() -> None:
    G, D = tiny()
    with pytest.raises(ValueError, match=r"ema must average with config.ema_decay=0.5.*"
                                         r"decay 0.999"):
        fit(G, D, images(), ema=ema_generator(G, 0.999), ema_decay=0.5)


def test_r3_an_ema_of_another_network_is_refused_naming_the_shapes() -> None:
    G, D = tiny()
    other = models.MLPGenerator(latent_dim=4, img_shape=(1, 4, 4), hidden=(16,))
    with pytest.raises(ValueError, match=r"ema must be a moving average of G.*net\.0\.weight: "
                                         r"G \(8, 4\), ema \(16, 4\)"):
        fit(G, D, images(), ema=ema_generator(other, 0.5), ema_decay=0.5)


def test_r3_fixed_z_as_a_numpy_array_is_a_clear_error() -> None:
    G, D = tiny()
    with pytest.raises(ValueError, match=r"fixed_z must be a float32 tensor of latents of shape "
                                         r"\(n, 4\) with n >= 1, got a ndarray of shape \(4, 4\) "
                                         r"and dtype float32; convert it with torch.as_tensor"):
        fit(G, D, images(), fixed_z=np.zeros((4, 4), dtype=np.float32), snapshot_every=1)


def test_r3_nan_fixed_z_is_refused_before_training() -> None:
    G, D = tiny()
    before = weights(G, D)
    z = torch.zeros(4, 4)
    z[1, 2] = float("nan")
    with pytest.raises(ValueError, match="fixed_z must be finite"):
        fit(G, D, images(), fixed_z=z, snapshot_every=1)
    assert same(before, weights(G, D))


# --- sampling ---------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda G: sampling.sample(G, 2, seed=2**64),
    lambda G: sampling.fixed_latents(2, 4, seed=2**64),
])
def test_r3_a_seed_of_2_to_the_64_is_a_clear_error(call) -> None:
    G, _ = tiny()
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, "
                                         r"9223372036854775807\], got 18446744073709551616"):
        call(G)


def test_r3_interpolate_refuses_nan_endpoints() -> None:
    G, _ = tiny()
    z0, z1 = torch.zeros(4), torch.ones(4)
    z1[0] = float("nan")
    with pytest.raises(ValueError, match="z1 must be finite"):
        sampling.interpolate(G, z0, z1, 3)
    with pytest.raises(ValueError, match="z1 must be finite"):
        sampling.interpolate_latents(z0, z1, 3)


@pytest.mark.parametrize("z0, found", [
    (torch.zeros(4, dtype=torch.int64), "torch.int64"),
    (torch.zeros(4, dtype=torch.float64), "torch.float64"),
    ([0.0, 0.0, 0.0, 0.0], r"\[0.0, 0.0, 0.0, 0.0\]"),
])
def test_r3_interpolate_endpoints_of_another_dtype_name_float32(z0, found: str) -> None:
    G, _ = tiny()
    with pytest.raises(ValueError, match=rf"z0 must be a float32 tensor of shape \(4,\), "
                                         rf"got .*{found}"):
        sampling.interpolate(G, z0, torch.ones(4), 3)
    with pytest.raises(ValueError, match=r"z0 must be a float32 tensor of shape \(latent_dim,\)"):
        sampling.interpolate_latents(z0, torch.ones(4), 3)


# --- metrics ----------------------------------------------------------------------------------

def test_r3_inception_score_refuses_pixels_in_0_1_and_0_255(evaluator, digits) -> None:
    unit = (digits + 1) / 2
    with pytest.raises(ValueError, match=r"fake must be digits in \[-1, 1\] with background at "
                                         r"-1, .*none negative.*x \* 2 - 1"):
        metrics.inception_score(unit, evaluator)
    with pytest.raises(ValueError, match=r"fake must lie in \[-1, 1\].*x / 127.5 - 1"):
        metrics.inception_score(unit * 255, evaluator)


@pytest.mark.parametrize("bad, message", [
    ("unit", r"images must be digits in \[-1, 1\] with background at -1"),
    ("uint8", r"images must be a float32 tensor of images.*torch.uint8"),
])
def test_r3_predict_classes_refuses_pixels_in_0_1_and_uint8(evaluator, digits, bad: str,
                                                             message: str) -> None:
    unit = (digits + 1) / 2
    x = unit if bad == "unit" else (unit * 255).round().to(torch.uint8)
    with pytest.raises(ValueError, match=message):
        metrics.predict_classes(evaluator, x)


def test_r3_evaluate_draws_enforces_equal_sizes(evaluator, digits) -> None:
    with pytest.raises(ValueError, match=r"every draw must hold as many images as real \(64.*"
                                         r"\[64, 32\]"):
        metrics.evaluate_draws([digits, digits[:32]], digits, evaluator)


# --- anomaly ----------------------------------------------------------------------------------

@pytest.mark.parametrize("label", [0.5, 0.7])
def test_r3_auroc_refuses_labels_that_are_not_0_or_1(label: float) -> None:
    scores = torch.tensor([0.1, 0.2, 0.8, 0.9])
    with pytest.raises(ValueError, match="is_anomaly must hold only 0s and 1s"):
        anomaly.auroc(scores, torch.tensor([0.0, label, 1.0, 1.0]))


def test_r3_discriminator_score_with_batch_size_0_is_a_clear_error(digits) -> None:
    D = models.DCGANDiscriminator(width=4)
    with pytest.raises(ValueError, match=r"batch_size must be an integer >= 1, got 0"):
        anomaly.discriminator_score(D, digits[:4], batch_size=0)


def test_r3_anomaly_scores_refuse_digits_in_0_1(digits) -> None:
    D = models.DCGANDiscriminator(width=4)
    unit = (digits[:4] + 1) / 2
    with pytest.raises(ValueError, match=r"x must be digits in \[-1, 1\] with background"):
        anomaly.discriminator_score(D, unit)
    with pytest.raises(ValueError, match=r"x must be digits in \[-1, 1\] with background"):
        anomaly.nearest_neighbour_score(unit, digits)


# --- classifier -------------------------------------------------------------------------------

def test_r3_classifier_entry_points_refuse_digits_in_0_1_and_bad_seeds(digits,
                                                                        mnist_digits) -> None:
    y = mnist_digits[1][:64]
    unit = (digits + 1) / 2
    with pytest.raises(ValueError, match=r"x must be digits in \[-1, 1\] with background"):
        classifier.train_classifier(unit, y, steps=1, seed=0)
    with pytest.raises(ValueError, match=r"x must be digits in \[-1, 1\] with background"):
        classifier.accuracy(metrics.MNISTEvaluator(), unit, y)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 9223372036854775807\]"):
        classifier.stratified_split(y, 1, seed=2**64)


# --- checkpoint resume into another optimiser class -------------------------------------------

def test_r3_resuming_adam_state_into_sgd_names_both_classes_and_changes_nothing(
        tmp_path) -> None:
    G, D = tiny()
    fit(G, D, images(), directory=tmp_path, steps=2)
    path = tmp_path / "checkpoint.pt"
    stored = path.read_bytes()
    G2, D2 = tiny(seed=1)
    sgd = (torch.optim.SGD(G2.parameters(), lr=0.1, momentum=0.9),
           torch.optim.SGD(D2.parameters(), lr=0.1, momentum=0.9))
    before, states = weights(G2, D2), [opt.state_dict() for opt in sgd]
    with pytest.raises(CheckpointError, match=r"stored opt_g holds the state of an optimiser of "
                                              r"class Adam .*the opt_g given is of class SGD .*"
                                              r"pass opt_g of class Adam"):
        fit(G2, D2, images(), directory=tmp_path, optimizers=sgd, steps=4)
    assert path.read_bytes() == stored
    assert same(before, weights(G2, D2))
    assert [opt.state_dict() for opt in sgd] == states


def test_r3_an_older_checkpoint_without_class_names_is_checked_by_hyper_parameters(
        tmp_path) -> None:
    G, D = tiny()
    adam = (torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters()))
    path = save_checkpoint(tmp_path / "old.pt", G, D, *adam, TrainConfig(**TINY), 0)
    state = torch.load(path, weights_only=True)
    del state["optimizer_classes"], state["sha256"]
    state["version"] = 1  # written before the digest and the class names existed
    torch.save(state, path)
    sgd = (torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1))
    with pytest.warns(UserWarning, match="version 1"), pytest.raises(
            CheckpointError, match=r"another optimiser class than the SGD given.*betas"):
        load_checkpoint(path, G, D, *sgd)
