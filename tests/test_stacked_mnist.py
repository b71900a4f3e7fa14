"""Stacked MNIST: stacking, packing, mode ids, scores, and a tiny seeded training run."""

from __future__ import annotations

import math

import pytest
import torch

from gan_tutorial.experiments.stacked_mnist import (
    NUM_MODES,
    StackedSetting,
    channel_modes,
    mode_scores,
    pack_images,
    random_triples,
    sample_modes,
    stack_triples,
    train_stacked,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_stacking_puts_digit_k_of_a_triple_in_channel_k(mnist_digits) -> None:
    x, _ = mnist_digits
    index = torch.tensor([[0, 1, 2], [4999, 7, 7]])
    images = stack_triples(x, index)
    assert images.shape == (2, 3, 28, 28)
    for i in range(2):
        for c in range(3):
            assert torch.equal(images[i, c], x[index[i, c], 0])


def test_random_triples_are_seeded_and_in_range() -> None:
    a = random_triples(1000, 50, torch.Generator().manual_seed(0))
    assert a.shape == (1000, 3) and a.min() >= 0 and a.max() < 50
    assert torch.equal(a, random_triples(1000, 50, torch.Generator().manual_seed(0)))


def test_packing_concatenates_consecutive_images_along_the_channels() -> None:
    x = torch.randn(6, 3, 4, 4)
    packed = pack_images(x, 2)
    assert torch.equal(packed, torch.cat([x[0::2], x[1::2]], dim=1))
    with pytest.raises(ValueError, match="must be"):
        pack_images(torch.randn(5, 3, 4, 4), 2)


def test_mode_scores_closed_form() -> None:
    scores = mode_scores(torch.tensor([0, 0, 1, 999]))
    assert scores["modes"] == 3
    expected = 0.5 * math.log(1000 * 0.5) + 2 * 0.25 * math.log(1000 * 0.25)
    assert scores["kl"] == pytest.approx(expected)
    even = mode_scores(torch.arange(NUM_MODES).repeat(2))
    assert even == {"modes": 1000, "kl": pytest.approx(0.0, abs=1e-12)}
    with pytest.raises(ValueError, match="ids in"):
        mode_scores(torch.tensor([1000]))


def test_the_evaluator_reads_the_class_of_each_channel(mnist_digits, evaluator) -> None:
    x, y = mnist_digits
    index = random_triples(300, len(x), torch.Generator().manual_seed(1))
    modes = channel_modes(stack_triples(x, index), evaluator, batch_size=128)
    true = (y[index] * torch.tensor([100, 10, 1])).sum(1)
    assert modes.shape == (300,) and modes.dtype == torch.int64
    assert (modes == true).double().mean() > 0.9  # about 0.98^3 on digits it mostly saw
    with pytest.raises(ValueError, match=r"\(N, 3, 28, 28\)"):
        channel_modes(x[:4], evaluator)


@pytest.mark.parametrize("setting", [
    StackedSetting("dcgan", steps=2, batch_size=4, n_train=50),
    StackedSetting("pac", pack=2, steps=2, batch_size=4, n_train=50),
    StackedSetting("r1", r1_gamma=10.0, steps=2, batch_size=4, n_train=50)])
def test_training_is_seeded_and_samples_score(setting, mnist_digits, evaluator) -> None:
    x, _ = mnist_digits
    G, steps, seconds = train_stacked(setting, x[:100], seed=3)
    again, _, _ = train_stacked(setting, x[:100], seed=3)
    assert steps == 2 and seconds > 0
    for a, b in zip(G.parameters(), again.parameters()):
        assert torch.equal(a, b)
    modes = sample_modes(G, evaluator, n=30, seed=0, batch_size=16)
    assert modes.shape == (30,) and 0 <= modes.min() and modes.max() < NUM_MODES


def test_a_time_limit_stops_training_after_one_step(mnist_digits) -> None:
    x, _ = mnist_digits
    hurried = StackedSetting("dcgan", steps=50, batch_size=4, n_train=50, time_limit=1e-9)
    assert train_stacked(hurried, x[:100], seed=0)[1] == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"pack": 0}, "pack must be an integer >= 1"),
    ({"pack": 2, "r1_gamma": 1.0}, "use it with pack=1"),
    ({"lr": 0.0}, "lr must be a finite number > 0"),
    ({"time_limit": -1.0}, "time_limit must be a finite number > 0"),
])
def test_bad_stacked_settings_are_rejected(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StackedSetting("x", **kwargs)
