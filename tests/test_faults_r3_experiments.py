"""Round three of the fault sweep (issue 29): the experiment and application entry points
(applications, pix2pix, Stacked MNIST, the 2-D mode-collapse protocol, vanishing gradients)
refuse bad input where it enters, with a message naming the problem."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gan_tutorial.experiments.applications import (
    Settings,
    augmentation_shares_run,
    restore,
    train_dcgan,
    train_pix2pix,
)
from gan_tutorial.experiments.mode_collapse import (
    Method,
    Protocol,
    mode_coverage_2d,
    run_method,
    run_plan,
    search_space,
)
from gan_tutorial.experiments.stacked_mnist import (
    StackedSetting,
    channel_modes,
    mode_scores,
    pack_images,
    sample_modes,
    stack_triples,
    train_stacked,
)
from gan_tutorial.experiments.vanishing import generator_gradient_norms
from gan_tutorial.models import DCGANGenerator, PointDiscriminator, PointGenerator
from gan_tutorial.pix2pix import UNetGenerator, degrade, low_resolution, pix2pix_g_loss

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_SETTINGS = Settings(width=4, batch_size=2, latent_dim=4, gan_steps=1, cgan_width=4,
                         cgan_steps=1, classifier_steps=1, pix2pix_steps=1, anogan_steps=1,
                         n_samples=10)
TINY_PROTOCOL = Protocol(steps=2, batch_size=4, g_hidden=(4,), d_hidden=(4,), n_train=16,
                         n_eval=10)
TOO_BIG_SEED = 2**64


def digits(n: int = 4, seed: int = 0) -> torch.Tensor:
    """``n`` random images ``(n, 1, 28, 28) float32`` in [-1, 1]."""
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def bad_images(x: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """Versions of valid images ``x`` that a check must refuse, with the expected message."""
    unit = (x + 1) / 2
    nan = x.clone()
    nan[0, 0, 0, 0] = math.nan
    return [(((x + 1) * 127.5).to(torch.uint8), "must be a float32 tensor"),
            (unit, r"must be digits in \[-1, 1\] with background at -1"),
            (unit * 255, r"must lie in \[-1, 1\]"),
            (nan, "must be finite")]


class StandIn(nn.Module):
    """A linear 10-class classifier of 28 x 28 images, in place of the book's evaluator."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# applications ---------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field"), [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
    ({"pix2pix_steps": 0}, "pix2pix_steps"), ({"pix2pix_steps": -5}, "pix2pix_steps"),
    ({"gan_steps": True}, "gan_steps"), ({"lambda_l1": math.nan}, "lambda_l1")])
def test_r3_settings_validate_themselves(changes: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be"):
        Settings(**changes)


def test_r3_train_dcgan_refuses_zero_steps() -> None:
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        train_dcgan(digits(), None, TINY_SETTINGS, 0, "cpu", steps=0)


def test_r3_augmentation_shares_run_refuses_counts_the_pool_cannot_serve() -> None:
    y = torch.arange(10).repeat(3)  # 3 digits of each class
    pool, test = (digits(30), y), (digits(10, seed=1), torch.arange(10))
    with pytest.raises(ValueError, match="n_real must be a multiple of 10 .*got 15"):
        augmentation_shares_run(pool, test, 15, TINY_SETTINGS, 0, None, "cpu")
    with pytest.raises(ValueError, match="n_real must be at most 30 .*got 40"):
        augmentation_shares_run(pool, test, 40, TINY_SETTINGS, 0, None, "cpu")


@pytest.mark.parametrize("case", range(4))
def test_r3_train_pix2pix_checks_its_digits(case: int) -> None:
    x, message = bad_images(digits())[case]
    with pytest.raises(ValueError, match=f"^x {message}"):
        train_pix2pix(x, TINY_SETTINGS, 0, False, "cpu")


@pytest.mark.parametrize("case", range(4))
def test_r3_restore_checks_its_digits(case: int) -> None:
    x, message = bad_images(digits())[case]
    with pytest.raises(ValueError, match=f"^x {message}"):
        restore(UNetGenerator(width=2), x)


# pix2pix --------------------------------------------------------------------------------

def test_r3_degrade_keeps_the_size_of_non_square_images() -> None:
    x = torch.rand(2, 1, 28, 32) * 2 - 1
    assert degrade(x).shape == x.shape  # the docstring's promise: back to the old size
    with pytest.raises(ValueError, match="multiples of factor=4"):
        degrade(torch.rand(2, 1, 28, 30) * 2 - 1)


def test_r3_low_resolution_refuses_uint8_images() -> None:
    with pytest.raises(ValueError, match="x must be a float32 tensor"):
        low_resolution(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


def test_r3_pix2pix_g_loss_refuses_mismatched_shapes() -> None:
    x = digits(2)
    with pytest.raises(ValueError, match="must have one shape .*x_out \\(1, 1, 28, 28\\)"):
        pix2pix_g_loss(None, x, x, x[:1])


# Stacked MNIST --------------------------------------------------------------------------

@pytest.mark.parametrize("case", range(4))
def test_r3_channel_modes_checks_its_images(case: int) -> None:
    stacked = digits(6).reshape(2, 3, 28, 28)
    images, message = bad_images(stacked)[case]
    with pytest.raises(ValueError, match=f"^images {message}"):
        channel_modes(images, StandIn())


def test_r3_stack_triples_refuses_negative_and_float_indices() -> None:
    x = digits(4)
    with pytest.raises(ValueError, match=r"index must lie in \[0, 3\].*got values in \[-1, 1\]"):
        stack_triples(x, torch.tensor([[0, 1, -1]]))
    with pytest.raises(ValueError, match="index must be \\(n, 3\\) integer indices"):
        stack_triples(x, torch.tensor([[0.0, 1.0, 2.0]]))
    assert torch.equal(stack_triples(x, torch.tensor([[0, 1, 3]]))[0, 2], x[3, 0])


@pytest.mark.parametrize("pack", [0, -1, 2.0])
def test_r3_pack_images_refuses_bad_packs(pack: object) -> None:
    with pytest.raises(ValueError, match="pack must be an integer >= 1"):
        pack_images(torch.zeros(4, 3, 2, 2), pack)


def test_r3_mode_scores_refuses_float_ids() -> None:
    with pytest.raises(ValueError, match="modes must be a non-empty \\(N,\\) integer tensor"):
        mode_scores(torch.tensor([1.0, 2.0]))


@pytest.mark.parametrize(("n", "batch_size", "field"), [(-1, 3, "n"), (0, 3, "n"),
                                                        (5, 0, "batch_size")])
def test_r3_sample_modes_refuses_bad_counts(n: int, batch_size: int, field: str) -> None:
    G = DCGANGenerator(latent_dim=4, channels=3, width=4)
    with pytest.raises(ValueError, match=f"^{field} must be an integer >= 1"):
        sample_modes(G, StandIn(), n=n, batch_size=batch_size)


def test_r3_train_stacked_refuses_big_seeds_and_bad_digits() -> None:
    setting = StackedSetting("dcgan", steps=1, batch_size=2, n_train=4, latent_dim=4)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 9223372036854775807"):
        train_stacked(setting, digits(), TOO_BIG_SEED)
    with pytest.raises(ValueError, match="digits must be digits in \\[-1, 1\\] with background"):
        train_stacked(setting, (digits() + 1) / 2, 0)
    with pytest.raises(ValueError, match=r"digits must lie in \[-1, 1\]"):
        train_stacked(setting, (digits() + 1) * 127.5, 0)


def test_r3_stacked_setting_refuses_a_name_that_is_not_a_str() -> None:
    with pytest.raises(ValueError, match="name must be a str, got 3"):
        StackedSetting(3)


# the 2-D mode-collapse protocol ---------------------------------------------------------

@pytest.mark.parametrize(("changes", "message"), [
    ({"decay": "no"}, "decay must be True or False, got 'no'"),
    ({"decay": 0}, "decay must be True or False, got 0"),
    ({"steps": 10, "checkpoints": 1}, r"checkpoints must be a sequence of integers in \[1, 9\]"),
    ({"steps": 10, "checkpoints": "5"}, "checkpoints must be a sequence of integers")])
def test_r3_protocol_validates_every_field(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Protocol(**changes)


def test_r3_protocol_stores_checkpoints_as_a_tuple() -> None:
    assert Protocol(steps=10, checkpoints=[3, 6]).checkpoints == (3, 6)


def test_r3_mode_coverage_2d_refuses_nan_centres() -> None:
    centers = torch.tensor([[0.0, 0.0], [math.nan, 1.0]])
    with pytest.raises(ValueError, match="centers must be finite"):
        mode_coverage_2d(torch.zeros(5, 2), centers, std=0.1)


def test_r3_run_method_and_run_plan_refuse_seeds_beyond_2_63() -> None:
    with pytest.raises(ValueError, match=r"seeds must be an integer in \[0, 9223372036854775807"):
        run_method(Method("gan"), ["ring"], [TOO_BIG_SEED], TINY_PROTOCOL, progress=False)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 9223372036854775807"):
        run_plan([("ring", Method("gan"), 2**63)], TINY_PROTOCOL, progress=False)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 9223372036854775807"):
        search_space(2, seed=TOO_BIG_SEED)


def test_r3_run_plan_refuses_a_method_name() -> None:
    with pytest.raises(ValueError, match="method must be a Method .*got 'GAN'"):
        run_plan([("ring", "GAN", 0)], TINY_PROTOCOL, progress=False)
    with pytest.raises(ValueError, match="method must be a Method .*got 'GAN'"):
        run_method("GAN", ["ring"], [0], TINY_PROTOCOL, progress=False, settings=[(1e-3, 0.5)])
    with pytest.raises(ValueError, match="plan entries must be triples"):
        run_plan([("ring", Method("gan"))], TINY_PROTOCOL, progress=False)


# vanishing gradients --------------------------------------------------------------------

def test_r3_generator_gradient_norms_refuses_seeds_beyond_2_63() -> None:
    G, D = PointGenerator(2, 2, (4,), activation="relu"), PointDiscriminator(2, (4,))
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 9223372036854775807"):
        generator_gradient_norms(G, D, torch.randn(10, 2), d_steps=1, batch_size=4,
                                 seed=TOO_BIG_SEED)
