"""The applications chapter's protocols on real digits, with tiny networks and few steps."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dataclasses import replace

import torch.nn.functional as F

import gan_tutorial.classifier as classifier
from gan_tutorial.classifier import equal_weight_cross_entropy, train_classifier
from gan_tutorial.experiments.applications import (
    EmbeddedLabelG,
    Settings,
    anomaly_run,
    augmentation_shares_run,
    conditional_accuracy,
    data_split,
    gan_batches,
    gan_per_batch,
    label_input_run,
    train_dcgan,
    train_label_input,
    within_class_distance,
)
from gan_tutorial.models import init_dcgan_weights
from gan_tutorial.utils import seed_everything


class Oracle(nn.Module):
    """A stand-in for a perfect conditional G: returns a real digit of the requested class."""

    latent_dim, num_classes = 4, 10

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))  # sample() needs a parameter
        self.bank = torch.stack([x[y == c][:20] for c in range(10)])  # (10, 20, 1, 28, 28)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pick = (z[:, 0].abs() * 1000).long() % 20
        return self.bank[y, pick] + self.weight


@pytest.fixture(scope="module")
def split(mnist_digits):
    return data_split(*mnist_digits)


def test_data_split_holds_out_100_digits_per_class(split, mnist_digits) -> None:
    (x_pool, y_pool), (x_test, y_test) = split
    assert len(x_pool) == 4_000 and len(x_test) == 1_000
    assert torch.equal(torch.bincount(y_test), torch.full((10,), 100))
    # no test digit is in the pool
    flat_pool = {tuple(v.tolist()) for v in x_pool.flatten(1)[:, ::7]}
    assert not any(tuple(v.tolist()) in flat_pool for v in x_test.flatten(1)[:50, ::7])


def test_conditional_accuracy_of_a_perfect_generator(split, evaluator) -> None:
    G = Oracle(*split[0])
    accuracy, per_class = conditional_accuracy(G, evaluator, 200, seed=0)
    assert accuracy >= 0.95
    assert per_class.shape == (10,) and (per_class >= 0.8).all()
    images, labels = gan_batches(G)(30, torch.Generator().manual_seed(0))
    assert images.shape == (30, 1, 28, 28) and labels.shape == (30,)
    predicted = evaluator(images).argmax(1)
    assert (predicted == labels).double().mean() >= 0.9


def test_anomaly_run_reports_three_aurocs(split, one_thread) -> None:
    tiny = Settings(width=4, batch_size=16, gan_steps=3, anogan_steps=2)
    row = anomaly_run(*split, anomaly_class=0, settings=tiny, seed=0, device="cpu")
    assert row["anomaly_class"] == 0 and row["seed"] == 0
    for key in ("auroc_d", "auroc_anogan", "auroc_nn"):
        assert 0 <= row[key] <= 1
    assert row["auroc_nn"] > 0.9  # a 0 is far, in pixels, from every digit of the other nine


# --- issue 27: the augmentation study with equal weight per example ---------------------------

def test_equal_weight_loss_gives_the_real_examples_their_real_only_gradient() -> None:
    """A linear model: with the GAN samples' logits detached, the real examples' gradient is
    the real-only arm's (the mean over the reals), not half of it; each GAN sample adds its
    own gradient / n_real, as a real example does."""
    torch.manual_seed(0)
    W = torch.randn(10, 5, requires_grad=True)
    x_real, x_gan = torch.randn(8, 5), torch.randn(6, 5)
    y_real, y_gan = torch.randint(0, 10, (8,)), torch.randint(0, 10, (6,))
    (real_only,) = torch.autograd.grad(F.cross_entropy(x_real @ W.T, y_real), W)
    logits = torch.cat([x_real @ W.T, (x_gan @ W.T).detach()])
    loss = equal_weight_cross_entropy(logits, torch.cat([y_real, y_gan]), n_real=8)
    (detached,) = torch.autograd.grad(loss, W)
    assert torch.allclose(detached, real_only, atol=1e-6)
    logits = torch.cat([x_real @ W.T, x_gan @ W.T])
    (full,) = torch.autograd.grad(equal_weight_cross_entropy(logits, torch.cat([y_real, y_gan]),
                                                             8), W)
    (gan_sum,) = torch.autograd.grad(F.cross_entropy(x_gan @ W.T, y_gan, reduction="sum"), W)
    assert torch.allclose(full, real_only + gan_sum / 8, atol=1e-6)
    for bad in (0, 15, 2.0):
        with pytest.raises(ValueError, match="n_real"):
            equal_weight_cross_entropy(logits, torch.cat([y_real, y_gan]), bad)


def test_gan_per_batch_gives_the_shares() -> None:
    assert [gan_per_batch(s, 64) for s in (0.0, 0.25, 0.5)] == [0, 21, 64]
    with pytest.raises(ValueError, match="share"):
        gan_per_batch(1.0, 64)


def test_classifier_with_extras_keeps_the_real_minibatches_and_augments_the_extras(
        one_thread, mnist_digits, monkeypatch) -> None:
    x, y = mnist_digits[0][::100], mnist_digits[1][::100]  # 50 digits
    seen: list[torch.Tensor] = []
    affine = classifier.random_affine

    def recording(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        seen.append(affine(images, generator))
        return seen[-1]

    def extra(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.full((n, 1, 28, 28), -1.0), torch.zeros(n, dtype=torch.int64)

    monkeypatch.setattr(classifier, "random_affine", recording)
    alone = train_classifier(x, y, steps=3, seed=0, batch_size=16)
    real_only, seen[:] = list(seen), []
    mixed = train_classifier(x, y, 3, 0, extra, extra_per_batch=5, batch_size=16)
    assert len(seen) == 6 and [len(b) for b in seen] == [16, 5] * 3  # extras augmented too
    assert all(torch.equal(a, b) for a, b in zip(real_only, seen[::2]))  # same real batches
    assert not all(torch.equal(p, q) for p, q in zip(alone.parameters(), mixed.parameters()))
    monkeypatch.undo()
    with pytest.raises(ValueError, match="extra"):
        train_classifier(x, y, 3, 0, None, extra_per_batch=5)
    with pytest.raises(ValueError, match="extra_per_batch"):
        train_classifier(x, y, 3, 0, extra, extra_per_batch=-1)
    with pytest.raises(ValueError, match="shape"):
        train_classifier(x, y, 3, 0, lambda n, g: extra(n + 1, g), extra_per_batch=5)


def test_augmentation_shares_run_reports_one_row_per_share(split, evaluator,
                                                           one_thread) -> None:
    tiny = Settings(cgan_width=4, batch_size=16, cgan_steps=2, classifier_steps=2)
    rows = augmentation_shares_run(*split, n_real=100, settings=tiny, seed=0,
                                   evaluator=evaluator, device="cpu", shares=(0.0, 0.5))
    assert [(r["share"], r["gan_per_batch"]) for r in rows] == [(0.0, 0), (0.5, 16)]
    assert all(0 <= r["accuracy"] <= 1 and r["n_real"] == 100 for r in rows)
    assert rows[0]["gan_conditional_accuracy"] == rows[1]["gan_conditional_accuracy"]
    with pytest.raises(ValueError, match="distinct"):
        augmentation_shares_run(*split, 100, tiny, 0, evaluator, "cpu", shares=(0.5, 0.5))


# --- issue 27: the label-input ablation --------------------------------------------------------

def test_embedded_label_g_draws_its_embedding_with_init_std() -> None:
    seed_everything(0)
    small = EmbeddedLabelG(4, init_std=0.1)
    seed_everything(0)
    chapter_embed = torch.nn.Embedding(10, 50)  # the chapter's exercise 5, drawn the same way
    torch.nn.init.normal_(chapter_embed.weight, std=0.1)
    assert torch.equal(small.embed.weight, chapter_embed.weight)
    assert abs(small.embed.weight.std().item() - 0.1) < 0.02
    assert abs(EmbeddedLabelG(4).embed.weight.std().item() - 1.0) < 0.15
    before = small.embed.weight.clone()
    small.apply(init_dcgan_weights)  # leaves the embedding alone
    assert torch.equal(small.embed.weight, before)
    out = small(torch.randn(3, 100), torch.tensor([0, 5, 9]))
    assert out.shape == (3, 1, 28, 28) and out.abs().max() <= 1
    with pytest.raises(ValueError, match="y"):
        small(torch.randn(3, 100))
    with pytest.raises(ValueError, match="init_std"):
        EmbeddedLabelG(4, init_std=0)


def test_within_class_distance() -> None:
    images = torch.full((4, 1, 2, 2), -1.0)
    images[1, 0, 0, 0] = 1.0  # 2 apart from image 0, in class 0
    labels = torch.tensor([0, 0, 1, 1])
    assert within_class_distance(images, labels, num_classes=2) == pytest.approx([2.0, 0.0])
    with pytest.raises(ValueError, match="at least twice"):
        within_class_distance(images, labels, num_classes=3)


def test_label_input_run_and_its_one_hot_g_is_train_dcgans(split, evaluator,
                                                           one_thread) -> None:
    tiny = Settings(cgan_width=4, batch_size=16, cgan_steps=2, n_samples=100)
    G, _ = train_label_input("one-hot", *split[0], tiny, 0, "cpu")
    same, _, _ = train_dcgan(*split[0], replace(tiny, width=4), 0, "cpu", steps=2)
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), same.parameters()))
    row = label_input_run(split[0], "embedding-small-init", tiny, 1, evaluator, "cpu")
    assert row["variant"] == "embedding-small-init" and row["steps"] == 2
    assert 0 <= row["conditional_accuracy"] <= 1 and row["within_class_distance"] > 0
    with pytest.raises(ValueError, match="variant"):
        label_input_run(split[0], "onehot", tiny, 0, evaluator, "cpu")


# --- the benchmark's resumable sections ---------------------------------------------------------

def test_benchmark_skips_the_tasks_already_in_its_csvs(tmp_path, load_benchmark) -> None:
    bench = load_benchmark("applications")
    settings = Settings(cgan_steps=24, anogan_steps=10)
    todo, skipped = bench.new_tasks(settings, (0, 1), (100,), range(2), "cpu", tmp_path, True)
    assert len(todo) == 2 + 6 + 4 and not skipped
    bench.append_rows(bench.csv_path(tmp_path, "augmentation-shares"),
                      [{"n_real": 100, "seed": 1, "share": s} for s in (0.0, 0.25, 0.5)])
    bench.append_rows(bench.csv_path(tmp_path, "label-input"),
                      [{"variant": "embedding", "seed": 0, "steps": 24}])
    bench.append_rows(bench.csv_path(tmp_path, "anomaly-500"),
                      [{"anomaly_class": 1, "seed": 0, "anogan_steps": 10},
                       {"anomaly_class": 0, "seed": 0, "anogan_steps": 50}])  # another setting
    todo, skipped = bench.new_tasks(settings, (0, 1), (100,), range(2), "cpu", tmp_path, True)
    assert sorted((t[0], t[1], t[2]) for t in skipped) == [
        ("anomaly-500", 1, 0), ("augmentation-shares", 100, 1), ("label-input", "embedding", 0)]
    assert len(todo) == 9
    assert bench.csv_path(tmp_path, "anomaly-500").name == "applications_anomaly_500.csv"
