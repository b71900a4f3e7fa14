"""The metrics on real digits and on deliberately broken image sets, against closed forms."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from gan_tutorial import metrics


@pytest.fixture(scope="module")
def evaluator() -> metrics.MNISTEvaluator:
    return metrics.mnist_evaluator(device="cpu")


@pytest.fixture(scope="module")
def balanced(mnist_digits) -> tuple[torch.Tensor, torch.Tensor]:
    """1,000 real digits, 100 per class, and a disjoint second set of 1,000."""
    x, y = mnist_digits
    first = torch.cat([torch.nonzero(y == c).flatten()[:100] for c in range(10)])
    second = torch.cat([torch.nonzero(y == c).flatten()[100:200] for c in range(10)])
    return x[first], x[second]


def test_evaluator_classifies_real_digits(evaluator, mnist_digits) -> None:
    x, y = mnist_digits
    with torch.no_grad():
        predictions = torch.cat([evaluator(batch).argmax(1) for batch in x.split(1000)])
    assert (predictions == y).double().mean() >= 0.97
    assert not evaluator.training
    assert not any(p.requires_grad for p in evaluator.parameters())


def test_evaluator_weights_are_verified(tmp_path) -> None:
    corrupt = tmp_path / "evaluator.pt"
    shutil.copy(metrics.WEIGHTS, corrupt)
    data = bytearray(corrupt.read_bytes())
    data[-100] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256"):
        metrics.mnist_evaluator(device="cpu", path=corrupt)


@pytest.mark.parametrize("images, message", [
    (torch.zeros(4, 28, 28), r"\(N, 1, 28, 28\)"),
    (torch.zeros(4, 3, 28, 28), r"\(N, 1, 28, 28\)"),
    (torch.zeros(4, 1, 28, 28, dtype=torch.uint8), "float"),
    (torch.zeros(0, 1, 28, 28), "N >= 1"),
    (torch.full((4, 1, 28, 28), 255.0), r"\[-1, 1\]"),
])
def test_bad_images_are_rejected(evaluator, images, message) -> None:
    with pytest.raises(ValueError, match=message):
        metrics.inception_score(images, evaluator)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise(evaluator, balanced) -> None:
    real, _ = balanced
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(real.shape, generator=generator)
    fids = [metrics.classifier_fid((real + level * noise).clamp(-1, 1), real, evaluator)
            for level in (0.0, 0.2, 0.5, 1.0)]
    assert fids[0] == pytest.approx(0.0, abs=1e-3)
    assert fids[0] < fids[1] < fids[2] < fids[3]


def test_fid_of_two_real_sets_is_far_below_fid_of_noise(evaluator, balanced) -> None:
    first, second = balanced
    noise = torch.rand(first.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert metrics.classifier_fid(second, first, evaluator) * 10 < metrics.classifier_fid(
        noise, first, evaluator)


def test_inception_score_is_near_10_for_real_digits_and_1_for_constant_images(
        evaluator, balanced) -> None:
    real, _ = balanced
    assert metrics.inception_score(real, evaluator) > 9.0
    constant = torch.zeros(100, 1, 28, 28)
    assert metrics.inception_score(constant, evaluator) == pytest.approx(1.0, abs=1e-9)


def test_class_histogram_and_its_kl_to_uniform(evaluator, balanced, mnist_digits) -> None:
    real, _ = balanced
    histogram = metrics.class_histogram(real, evaluator)
    assert histogram.shape == (10,) and histogram.sum().item() == pytest.approx(1.0)
    assert metrics.kl_to_uniform(histogram) < 0.01
    sevens = mnist_digits[0][mnist_digits[1] == 7][:200]
    assert metrics.class_histogram(sevens, evaluator)[7] > 0.95


def test_kl_to_uniform_closed_forms() -> None:
    uniform = torch.full((10,), 0.1, dtype=torch.float64)
    assert metrics.kl_to_uniform(uniform) == pytest.approx(0.0, abs=1e-12)
    assert metrics.kl_to_uniform(torch.eye(10)[3]) == pytest.approx(math.log(10))
    assert metrics.kl_to_uniform(torch.tensor([0.5, 0.5, 0.0, 0.0])) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="summing to 1"):
        metrics.kl_to_uniform(torch.tensor([0.5, 0.6]))


def test_precision_recall(evaluator, balanced) -> None:
    first, second = balanced
    assert metrics.precision_recall(first, first, evaluator) == {"precision": 1.0, "recall": 1.0}
    scores = metrics.precision_recall(second, first, evaluator)
    assert scores["precision"] > 0.8 and scores["recall"] > 0.8
    collapsed = first[:1].repeat(100, 1, 1, 1) + 0.01 * torch.randn(
        100, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    collapsed_scores = metrics.precision_recall(collapsed.clamp(-1, 1), first, evaluator)
    assert collapsed_scores["recall"] < 0.1  # one digit covers almost none of the real manifold
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_recall(first, first, evaluator, k=0)


def test_evaluate_gathers_every_score_and_formats_one_line(evaluator, balanced) -> None:
    first, second = balanced
    scores = metrics.evaluate(second[:200], first[:200], evaluator)
    assert scores["fid"] == pytest.approx(
        metrics.classifier_fid(second[:200], first[:200], evaluator))
    assert scores["inception_score"] == pytest.approx(
        metrics.inception_score(second[:200], evaluator))
    assert scores["class_kl"] == pytest.approx(
        metrics.kl_to_uniform(metrics.class_histogram(second[:200], evaluator)))
    assert {k: scores[k] for k in ("precision", "recall")} == metrics.precision_recall(
        second[:200], first[:200], evaluator)
    line = metrics.format_scores({"fid": 12.345, "inception_score": 9.1234, "precision": 0.5,
                                  "recall": 0.25, "class_kl": 0.0123})
    assert line == "FID 12.3 | IS 9.12 | precision 0.50 | recall 0.25 | class KL 0.012 nats"
    with pytest.raises(ValueError, match="fid"):
        metrics.format_scores({"inception_score": 1.0})


def test_nearest_neighbours_finds_copies_at_distance_zero(mnist_digits) -> None:
    train = mnist_digits[0][:300]
    copies = train[[5, 17, 299]]
    distances, indices = metrics.nearest_neighbours(copies, train, batch_size=2)
    assert distances.tolist() == [0.0, 0.0, 0.0] and indices.tolist() == [5, 17, 299]
    # a blank image (all -1) against a training set of one blank and one all-white image
    blank, white = torch.full((1, 1, 28, 28), -1.0), torch.ones(1, 1, 28, 28)
    shifted = (blank + 0.1).clamp(-1, 1)
    distances, indices = metrics.nearest_neighbours(shifted, torch.cat([white, blank]))
    assert distances.item() == pytest.approx(0.1 * 28, rel=1e-6) and indices.item() == 1
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.nearest_neighbours(copies * 255, train)


def test_real_neighbourhoods_explain_precision(evaluator, balanced) -> None:
    first, second = balanced
    fake, real = second[:200], first[:200]
    found = metrics.real_neighbourhoods(fake, real, evaluator)
    assert found["radius"].shape == (200,) and found["hits"].shape == (200,)
    assert (found["radius"] > 0).all() and found["hits"].dtype == torch.int64
    precision = metrics.precision_recall(fake, real, evaluator)["precision"]
    assert found["hits"].sum() >= precision * len(fake)  # every accepted image is in >= 1 ball
    itself = metrics.real_neighbourhoods(real, real, evaluator)["hits"]
    assert (itself >= 1).all()  # each real image lies in its own ball
    with pytest.raises(ValueError, match="more than k=3"):
        metrics.real_neighbourhoods(fake[:3], real, evaluator)


def test_mode_coverage_2d_on_hand_made_samples() -> None:
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    std = 1.0
    samples = torch.tensor([[0.5, 0.0], [0.0, -2.9], [10.0, 2.0],  # HQ: modes 0, 0, 1
                            [3.5, 0.0], [5.0, 5.0],                 # not HQ (> 3 std)
                            [0.0, 3.0]])                            # exactly 3 std: HQ, mode 0
    scores = metrics.mode_coverage_2d(samples, centers, std)
    assert scores["modes"] == 2
    assert scores["hq_fraction"] == pytest.approx(4 / 6)
    h = torch.tensor([3 / 4, 1 / 4, 0.0, 0.0])  # HQ histogram over the 4 modes
    expected = (0.75 * math.log(4 * 0.75) + 0.25 * math.log(4 * 0.25))
    assert scores["reverse_kl"] == pytest.approx(expected)
    assert scores["reverse_kl"] == pytest.approx(metrics.kl_to_uniform(h))


def test_mode_coverage_2d_extremes() -> None:
    centers = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    balanced = metrics.mode_coverage_2d(centers.repeat(3, 1), centers, std=0.01)
    assert balanced == {"modes": 2, "hq_fraction": 1.0, "reverse_kl": 0.0}
    collapsed = metrics.mode_coverage_2d(torch.zeros(5, 2), centers, std=0.01)
    assert collapsed["modes"] == 1 and collapsed["reverse_kl"] == pytest.approx(math.log(2))
    nothing = metrics.mode_coverage_2d(torch.full((5, 2), 0.5), centers, std=0.01)
    assert nothing["modes"] == 0 and nothing["hq_fraction"] == 0 and math.isnan(
        nothing["reverse_kl"])
    wider = metrics.mode_coverage_2d(torch.tensor([[0.5, 0.5]]), centers, 0.01, threshold=80)
    assert wider["hq_fraction"] == 1.0


@pytest.mark.parametrize("samples, centers, std", [
    (torch.zeros(5, 3), torch.zeros(2, 2), 1.0), (torch.zeros(0, 2), torch.zeros(2, 2), 1.0),
    (torch.zeros(5, 2), torch.zeros(2, 2), 0.0), (torch.zeros(5, 2, dtype=torch.long),
                                                  torch.zeros(2, 2), 1.0)])
def test_mode_coverage_2d_rejects_bad_input(samples, centers, std) -> None:
    with pytest.raises(ValueError, match="samples|std"):
        metrics.mode_coverage_2d(samples, centers, std)
