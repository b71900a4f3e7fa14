"""The classifier helpers of the augmentation study: split, augmentation, training, accuracy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_tutorial.classifier import accuracy, random_affine, stratified_split, train_classifier
from gan_tutorial.metrics import MNISTEvaluator
from gan_tutorial.utils import seed_everything


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


def _train_classifier_before_extras(x: torch.Tensor, y: torch.Tensor, steps: int, seed: int,
                                    batch_size: int) -> MNISTEvaluator:
    """A copy of train_classifier's loop before it learned to add extra examples with equal
    weight (one random stream, the mean cross-entropy of the minibatch)."""
    seed_everything(seed)
    model = MNISTEvaluator().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(seed)
    order = torch.empty(0, dtype=torch.int64)
    for _ in range(steps):
        if len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(x), generator=generator)])
        index, order = order[:batch_size], order[batch_size:]
        images = random_affine(x[index], generator)
        loss = F.cross_entropy(model(images), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return model.eval()


def test_train_classifier_without_extras_is_the_plain_loop_and_deterministic(
        one_thread, mnist_digits) -> None:
    x, y = mnist_digits[0][::100], mnist_digits[1][::100]  # 50 digits
    a = train_classifier(x, y, steps=4, seed=3, batch_size=16)
    b = train_classifier(x, y, steps=4, seed=3, batch_size=16)
    reference = _train_classifier_before_extras(x, y, steps=4, seed=3, batch_size=16)
    assert not a.training
    for name, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[name]), name
        assert torch.equal(value, reference.state_dict()[name]), name  # bit for bit
    with pytest.raises(ValueError, match="steps"):
        train_classifier(x, y, steps=0, seed=0)
