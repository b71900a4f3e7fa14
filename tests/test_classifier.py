"""The classifier helpers of the augmentation study: split, augmentation, training, accuracy."""

from __future__ import annotations

import pytest
import torch

from gan_tutorial.classifier import accuracy, random_affine, stratified_split, train_classifier


def test_stratified_split_draws_per_class_and_is_seeded() -> None:
    y = torch.arange(10).repeat_interleave(torch.arange(5, 15))  # class c has 5 + c members
    chosen, rest = stratified_split(y, 4, seed=1)
    assert torch.equal(torch.bincount(y[chosen], minlength=10), torch.full((10,), 4))
    assert len(set(chosen.tolist()) | set(rest.tolist())) == len(y)
    assert not set(chosen.tolist()) & set(rest.tolist())
    assert torch.equal(chosen, stratified_split(y, 4, seed=1)[0])
    assert not torch.equal(chosen, stratified_split(y, 4, seed=2)[0])
    with pytest.raises(ValueError, match="class 0 has 5"):
        stratified_split(y, 6, seed=0)


def test_random_affine_without_motion_is_the_identity(mnist_digits) -> None:
    x = mnist_digits[0][:8]
    still = random_affine(x, torch.Generator().manual_seed(0), max_degrees=0, max_shift=0)
    assert torch.allclose(still, x, atol=1e-5)
    moved = random_affine(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and moved.min() >= -1 - 1e-5 and moved.max() <= 1 + 1e-5
    assert not torch.allclose(moved, x, atol=1e-2)


def test_accuracy_of_a_model_that_reads_the_answer() -> None:
    x = torch.full((20, 1, 28, 28), -1.0)  # blank digits
    y = torch.arange(20) % 10
    x[:, 0, 0, :10] = torch.nn.functional.one_hot(y, 10).float()  # the label, written in

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return self.scale * images[:, 0, 0, :10]

    assert accuracy(Reader(), x, y, batch_size=7) == 1.0
    assert accuracy(Reader(), x, (y + 1) % 10) == 0.0
    with pytest.raises(ValueError, match="labels"):
        accuracy(Reader(), x, y[:5])


def test_train_classifier_adds_the_extra_examples_and_is_deterministic(one_thread,
                                                                        mnist_digits) -> None:
    x, y = mnist_digits[0][::100], mnist_digits[1][::100]  # 50 digits
    calls = []

    def extra(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        calls.append(n)
        return torch.zeros(n, 1, 28, 28), torch.zeros(n, dtype=torch.int64)

    a = train_classifier(x, y, steps=3, seed=0, batch_size=16)
    b = train_classifier(x, y, steps=3, seed=0, batch_size=16)
    c = train_classifier(x, y, steps=3, seed=0, batch_size=16, extra=extra)
    assert calls == [16, 16, 16]
    assert not a.training
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    with pytest.raises(ValueError, match="steps"):
        train_classifier(x, y, steps=0, seed=0)
