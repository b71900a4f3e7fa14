import math

import pytest
import torch

from gan_tutorial.losses import (
    LOSSES,
    d_loss_bce,
    d_loss_hinge,
    discriminator_loss,
    get_loss,
    d_loss_wasserstein,
    g_loss_nonsaturating,
    g_loss_saturating,
    g_loss_wasserstein,
    gradient_penalty,
    r1_penalty,
)


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


def test_wasserstein_losses_match_their_definition() -> None:
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.5, 0.5])
    assert d_loss_wasserstein(real, fake).item() == pytest.approx(-1.0 / 3 - 2.0)
    assert g_loss_wasserstein(fake).item() == pytest.approx(1.0 / 3)
    scores = torch.tensor([-50.0, 80.0], requires_grad=True)
    g_loss_wasserstein(scores).backward()  # never saturates: d/ds = -1/B for any score
    assert scores.grad.tolist() == [-0.5, -0.5]


def linear_critic(w: torch.Tensor):
    return lambda x: x.flatten(1) @ w


def test_gradient_penalty_of_a_linear_critic_is_closed_form() -> None:
    # D(x) = w . x has gradient w everywhere: penalty = lambda (|w| - 1)^2 for any x_hat
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    x_real, x_fake = torch.randn(6, 2), torch.randn(6, 2)
    penalty = gradient_penalty(linear_critic(w), x_real, x_fake, lambda_gp=10.0)
    assert penalty.item() == pytest.approx(10 * (5 - 1) ** 2)
    penalty.backward()  # d/dw 10 (|w| - 1)^2 = 20 (|w| - 1) w / |w|
    assert torch.allclose(w.grad, 20 * 4 * torch.tensor([3.0, 4.0]) / 5)
    unit = torch.tensor([0.6, 0.8])
    assert gradient_penalty(linear_critic(unit), x_real, x_fake).item() == pytest.approx(0.0,
                                                                                        abs=1e-10)


def test_gradient_penalty_evaluates_between_real_and_fake() -> None:
    # D(x) = |x|^2 / 2 has gradient x: with x_real = x_fake = p the penalty is (|p| - 1)^2
    def D(x):
        return 0.5 * (x**2).sum(dim=1)
    p = torch.tensor([[2.0, 0.0], [0.0, 0.5]])
    expected = ((2 - 1) ** 2 + (0.5 - 1) ** 2) / 2
    assert gradient_penalty(D, p, p, lambda_gp=1.0).item() == pytest.approx(expected)
    # between 0 and (4, 0): x_hat = (4 (1 - eps), 0), gradient norm 4 (1 - eps), eps ~ U[0, 1]
    x_real, x_fake = torch.zeros(4000, 2), torch.tensor([[4.0, 0.0]]).repeat(4000, 1)
    gp = gradient_penalty(D, x_real, x_fake, 1.0, torch.Generator().manual_seed(0)).item()
    assert gp == pytest.approx(16 / 3 - 4 + 1, rel=0.05)  # E (4u - 1)^2, u ~ U[0, 1]


def test_r1_penalty_is_half_gamma_times_the_squared_gradient_on_real_data() -> None:
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    penalty = r1_penalty(linear_critic(w), torch.randn(5, 2), gamma=0.2)
    assert penalty.item() == pytest.approx(0.1 * 25)
    penalty.backward()  # d/dw gamma/2 |w|^2 = gamma w
    assert torch.allclose(w.grad, 0.2 * torch.tensor([3.0, 4.0]))


def test_penalties_reject_bad_arguments() -> None:
    D = linear_critic(torch.ones(2))
    with pytest.raises(ValueError, match="lambda_gp"):
        gradient_penalty(D, torch.zeros(3, 2), torch.zeros(3, 2), lambda_gp=-1)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(D, torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="gamma"):
        r1_penalty(D, torch.zeros(3, 2), gamma=-0.5)
    with pytest.raises(ValueError, match=r"shape \(B, \.\.\.\)"):
        r1_penalty(D, torch.zeros(3))
    with pytest.raises(ValueError, match="fake_scores"):
        g_loss_wasserstein(torch.zeros(3, 1))


def test_hinge_loss_matches_its_definition() -> None:
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0])
    # mean relu(1 - real) = (0 + 0.5 + 2) / 3; mean relu(1 + fake) = (0 + 1) / 2
    assert d_loss_hinge(real, fake).item() == pytest.approx(2.5 / 3 + 0.5, abs=1e-6)
    assert d_loss_hinge(torch.zeros(4), torch.zeros(4)).item() == pytest.approx(2.0)


def test_the_registry_pairs_each_d_loss_with_its_g_loss() -> None:
    assert sorted(LOSSES) == ["hinge", "least-squares", "nonsaturating", "saturating",
                              "wasserstein-clip", "wasserstein-gp"]
    assert LOSSES["nonsaturating"].g_loss is g_loss_nonsaturating
    assert LOSSES["saturating"].g_loss is g_loss_saturating
    assert LOSSES["hinge"].d_loss is d_loss_hinge
    assert [name for name, loss in LOSSES.items() if loss.sigmoid] == ["nonsaturating",
                                                                       "saturating"]
    assert [name for name, loss in LOSSES.items() if loss.gradient_penalty] == ["wasserstein-gp"]
    with pytest.raises(ValueError, match=r"loss must be one of \['hinge', .*got 'wgan'"):
        get_loss("wgan")


def test_discriminator_loss_adds_exactly_the_penalties_asked_for() -> None:
    torch.manual_seed(0)
    D = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1),
                            torch.nn.Flatten(0))
    x_real, x_fake = torch.randn(6, 2), torch.randn(6, 2)
    total, real, fake = discriminator_loss(LOSSES["hinge"], D, x_real, x_fake, r1_gamma=0.0)
    assert torch.equal(total, d_loss_hinge(real, fake))
    total, real, fake = discriminator_loss(LOSSES["hinge"], D, x_real, x_fake, r1_gamma=2.0)
    assert total.item() == pytest.approx((d_loss_hinge(real, fake)
                                          + r1_penalty(D, x_real, 2.0)).item(), rel=1e-6)
    rng = [torch.Generator().manual_seed(3) for _ in range(2)]
    total, real, fake = discriminator_loss(LOSSES["wasserstein-gp"], D, x_real, x_fake,
                                           lambda_gp=10.0, generator=rng[0])
    expected = d_loss_wasserstein(real, fake) + gradient_penalty(D, x_real, x_fake, 10.0, rng[1])
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("penalty, value", [
    ("lambda_gp", float("nan")), ("lambda_gp", float("inf")), ("gamma", float("inf")),
    ("gamma", True), ("gamma", "1"),
])
def test_penalty_weights_must_be_finite_numbers(penalty: str, value: object) -> None:
    D = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Flatten(0))
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match=rf"^{penalty} must be a finite number >= 0"):
        if penalty == "lambda_gp":
            gradient_penalty(D, x, x, value)  # type: ignore[arg-type]
        else:
            r1_penalty(D, x, value)  # type: ignore[arg-type]
