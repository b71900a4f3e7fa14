import math

import pytest
import torch

from gan_tutorial.losses import d_loss_bce, g_loss_nonsaturating, g_loss_saturating


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_d_loss_at_equilibrium_is_log_4() -> None:
    zeros = torch.zeros(5)
    assert d_loss_bce(zeros, zeros).item() == pytest.approx(math.log(4), abs=1e-6)


def test_losses_match_hand_computed_values() -> None:
    real = torch.tensor([logit(0.75), logit(0.9)])  # D(x) = 0.75, 0.9
    fake = torch.tensor([logit(0.25), logit(0.5)])  # D(G(z)) = 0.25, 0.5
    expected_d = -(math.log(0.75) + math.log(0.9)) / 2 - (math.log(0.75) + math.log(0.5)) / 2
    assert d_loss_bce(real, fake).item() == pytest.approx(expected_d, abs=1e-6)
    assert g_loss_nonsaturating(fake).item() == pytest.approx(
        -(math.log(0.25) + math.log(0.5)) / 2, abs=1e-6)
    assert g_loss_saturating(fake).item() == pytest.approx(
        (math.log(0.75) + math.log(0.5)) / 2, abs=1e-6)


@pytest.mark.parametrize("p", [0.001, 0.1, 0.5, 0.9])
def test_generator_gradients_wrt_the_logit(p: float) -> None:
    # d/dl log(1 - sigmoid(l)) = -D ; d/dl -log sigmoid(l) = D - 1 (Goodfellow et al. 2014, Sec. 3)
    for loss_fn, expected in ((g_loss_saturating, -p), (g_loss_nonsaturating, p - 1)):
        fake = torch.tensor([logit(p)], dtype=torch.float64, requires_grad=True)
        loss_fn(fake).backward()
        assert fake.grad.item() == pytest.approx(expected, rel=1e-9)


def test_saturating_gradient_vanishes_where_the_nonsaturating_one_does_not() -> None:
    fake = torch.full((4,), -12.0, requires_grad=True)  # D(G(z)) ~ 6e-6: D wins
    g_loss_saturating(fake).backward()
    saturating = fake.grad.abs().sum().item()
    fake.grad = None
    g_loss_nonsaturating(fake).backward()
    assert saturating < 1e-4 < 0.99 < fake.grad.abs().sum().item()


def test_losses_stay_finite_for_extreme_logits() -> None:
    extreme = torch.tensor([-200.0, 200.0])
    for value in (d_loss_bce(extreme, extreme), g_loss_saturating(extreme),
                  g_loss_nonsaturating(extreme)):
        assert torch.isfinite(value)
    assert g_loss_nonsaturating(torch.tensor([-200.0])).item() == pytest.approx(200.0)


@pytest.mark.parametrize("bad", [torch.zeros(4, 1), torch.zeros(()), torch.zeros(0),
                                 torch.zeros(3, dtype=torch.long), [0.0, 1.0]])
def test_losses_reject_anything_but_1d_logits(bad: object) -> None:
    with pytest.raises(ValueError, match=r"logits of shape \(B,\)|at least one"):
        g_loss_nonsaturating(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="real_logits"):
        d_loss_bce(bad, torch.zeros(2))  # type: ignore[arg-type]
