"""The metrics on real digits and on deliberately broken image sets, against closed forms."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from gan_tutorial import metrics
from gan_tutorial.validation import IMAGE_RANGE_TOLERANCE


@pytest.fixture(scope="module")
def balanced_indices(mnist_digits) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of 1,000 real digits, 100 per class, and of a disjoint second 1,000."""
    _, y = mnist_digits
    first = torch.cat([torch.nonzero(y == c).flatten()[:100] for c in range(10)])
    second = torch.cat([torch.nonzero(y == c).flatten()[100:200] for c in range(10)])
    return first, second


@pytest.fixture(scope="module")
def balanced(mnist_digits, balanced_indices) -> tuple[torch.Tensor, torch.Tensor]:
    """The two sets of 1,000 real digits of ``balanced_indices``."""
    x, _ = mnist_digits
    return x[balanced_indices[0]], x[balanced_indices[1]]


def test_evaluator_classifies_real_digits(evaluator, mnist_digits, digit_features) -> None:
    predictions = digit_features["probabilities"].argmax(1)
    assert (predictions == mnist_digits[1]).double().mean() >= 0.97
    assert not evaluator.training
    assert not any(p.requires_grad for p in evaluator.parameters())


def _frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """Heusel et al. 2017, Eq. 6, written out in NumPy: ``Tr (S_a S_b)^(1/2)`` is the sum of the
    square roots of the eigenvalues of ``S_a S_b`` (real and >= 0 for two covariances; some
    features are dead ReLUs, so the matrices are singular and ``sqrtm`` would warn)."""
    mu_a, mu_b = a.mean(0).numpy(), b.mean(0).numpy()
    cov_a, cov_b = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    root_trace = np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real.clip(0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b) - 2 * root_trace)


def test_classifier_fid_is_the_frechet_distance_of_the_evaluator_features(
        evaluator, balanced, balanced_indices, digit_features) -> None:
    features = digit_features["features"]
    expected = _frechet(features[balanced_indices[1]], features[balanced_indices[0]])
    first, second = balanced
    assert metrics.classifier_fid(second, first, evaluator) == pytest.approx(expected, rel=1e-3)


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
    (torch.full((4, 1, 28, 28), float("nan")), "NaN or infinite"),
    (torch.zeros(4, 1, 28, 28, dtype=torch.float64), "float32"),
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
        evaluator, balanced, balanced_indices, digit_features) -> None:
    real, _ = balanced
    score = metrics.inception_score(real, evaluator)
    p_yx = digit_features["probabilities"][balanced_indices[0]]  # Salimans et al. 2016, Sec. 4
    kl = (p_yx * (p_yx.clamp_min(1e-300).log() - p_yx.mean(0).log())).sum(1).mean()
    assert score == pytest.approx(math.exp(kl.item()), rel=1e-6) and score > 9.0
    constant = torch.full((100, 1, 28, 28), -1.0)  # blank digits: one p(y|x) for all
    assert metrics.inception_score(constant, evaluator) == pytest.approx(1.0, abs=1e-9)


def test_class_histogram_and_its_kl_to_uniform(evaluator, balanced, mnist_digits,
                                               digit_features) -> None:
    real, _ = balanced
    histogram = metrics.class_histogram(real, evaluator)
    assert histogram.shape == (10,) and histogram.sum().item() == pytest.approx(1.0)
    assert metrics.kl_to_uniform(histogram) < 0.01
    sevens = torch.nonzero(mnist_digits[1] == 7).flatten()[:200]
    of_sevens = metrics.class_histogram(mnist_digits[0][sevens], evaluator)
    predicted = digit_features["probabilities"][sevens].argmax(1)
    assert torch.equal(of_sevens, torch.bincount(predicted, minlength=10).double() / 200)
    assert of_sevens[7] > 0.95


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
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
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


def test_evaluate_draws_gives_mean_and_sample_sd_over_draws(evaluator, balanced) -> None:
    first, second = balanced
    draws = [second[:100], second[100:200], first[100:200]]
    spread = metrics.evaluate_draws(draws, first[:100], evaluator)
    single = [metrics.evaluate(d, first[:100], evaluator) for d in draws]
    for key in ("fid", "inception_score", "precision", "recall", "class_kl"):
        values = torch.tensor([s[key] for s in single], dtype=torch.float64)
        assert spread[key][0] == pytest.approx(values.mean().item())
        assert spread[key][1] == pytest.approx(values.std(correction=1).item())
    same = metrics.evaluate_draws([second[:100], second[:100]], first[:100], evaluator)
    assert same["fid"][1] == pytest.approx(0.0, abs=1e-6)
    line = metrics.format_scores({"fid": (12.345, 1.25), "inception_score": (9.1234, 0.011),
                                  "precision": (0.5, 0.01), "recall": (0.25, 0.02),
                                  "class_kl": (0.0123, 0.0011)})
    assert line == ("FID 12.3 ± 1.2 | IS 9.12 ± 0.01 | precision 0.50 ± 0.01 | "
                    "recall 0.25 ± 0.02 | class KL 0.012 ± 0.001 nats")
    with pytest.raises(ValueError, match="at least two draws"):
        metrics.evaluate_draws([second[:100]], first[:100], evaluator)


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
    with pytest.raises(ValueError, match=r"fake must be .* with N >= 4"):  # more than k=3
        metrics.real_neighbourhoods(fake[:3], real, evaluator)



def test_check_mnist_images_is_the_image_check_with_the_mnist_shape() -> None:
    images = torch.zeros(2, 1, 28, 28)
    assert metrics.check_mnist_images(images) is images
    metrics.check_mnist_images(images + 1 + 0.5 * IMAGE_RANGE_TOLERANCE)  # the one tolerance
    with pytest.raises(ValueError, match=r"real must lie in \[-1, 1\]"):
        metrics.check_mnist_images(images + 1 + 2 * IMAGE_RANGE_TOLERANCE, "real")
    with pytest.raises(ValueError, match="N >= 3"):
        metrics.check_mnist_images(images, min_count=3)
