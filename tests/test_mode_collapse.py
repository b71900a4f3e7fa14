"""The multi-seed 2-D protocol: seeding, stacking, the registry losses, scoring, the table."""

from __future__ import annotations

import math

import pytest
import torch

from gan_tutorial.experiments.mode_collapse import (
    COLUMNS,
    DATASETS,
    METHODS,
    Method,
    Protocol,
    Run,
    _build,
    _d_loss,
    _g_loss,
    mode_coverage_2d,
    run_method,
    run_protocol,
    summarize,
)
from gan_tutorial.losses import discriminator_loss, get_loss, gradient_penalty
from gan_tutorial.metrics import kl_to_uniform
from gan_tutorial.models import PointDiscriminator, PointGenerator

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny networks (see conftest.one_thread)

TINY = Protocol(steps=3, batch_size=8, g_hidden=(8,), d_hidden=(8,), n_train=64, n_eval=50)


@pytest.mark.parametrize("method", [Method("ns"), Method("pac", pack=2),
                                    Method("w", loss="wasserstein-gp", d_steps=2, lambda_gp=10),
                                    Method("r1", r1_gamma=1.0)])
def test_run_method_scores_each_dataset_and_seed_reproducibly(method: Method) -> None:
    runs = run_method(method, ["ring", "grid"], [3, 4], TINY, progress=False)
    assert [(r.dataset, r.seed) for r in runs] == [("ring", 3), ("ring", 4), ("grid", 3),
                                                   ("grid", 4)]
    for run in runs:
        assert run.samples.shape == (50, 2) and run.method == method.name
        _, centers, std = DATASETS[run.dataset]
        scores = mode_coverage_2d(run.samples, centers, std)
        assert (run.modes, run.hq_fraction) == (scores["modes"], scores["hq_fraction"])
    again = run_method(method, ["ring", "grid"], [3, 4], TINY, progress=False)
    assert all(torch.equal(a.samples, b.samples) for a, b in zip(runs, again))
    assert not torch.equal(runs[0].samples, runs[1].samples)  # seeds differ


def test_the_book_s_methods_keep_their_settings() -> None:
    wgan = {m.name: m for m in METHODS}["WGAN-GP"]
    assert (wgan.loss, wgan.d_steps, wgan.lambda_gp, wgan.lr, wgan.betas) == (
        "wasserstein-gp", 5, 10.0, 1e-3, (0.0, 0.9))
    assert [m.loss for m in METHODS] == ["saturating", "nonsaturating", "wasserstein-gp"] + [
        "nonsaturating"] * 4
    assert [m.pack for m in METHODS] == [1, 1, 1, 2, 3, 4, 1]
    assert {m.name: m.r1_gamma for m in METHODS if m.r1_gamma} == {"GAN + R1": 0.1}


def test_stacked_models_keep_each_seed_s_own_initial_weights() -> None:
    G, D = _build(Method("pac", pack=3), TINY, [0, 1])
    torch.manual_seed(1)
    alone = PointGenerator(TINY.latent_dim, 2, TINY.g_hidden, "relu")
    z = torch.randn(2, 5, TINY.latent_dim)
    assert torch.allclose(G(z)[1], alone(z[1]))
    assert D(torch.zeros(2, 6, 2)).shape == (2, 2)  # 6 points, packs of 3


def _lone(stacked, s: int, module: torch.nn.Module) -> torch.nn.Module:
    """``module`` carrying the stacked parameters of run ``s``."""
    module.load_state_dict({name: p[s].detach() for name, p in stacked.params.items()})
    return module


@pytest.mark.parametrize("method", [
    Method("r1", r1_gamma=1.0), Method("gp", loss="wasserstein-gp", lambda_gp=10.0),
    Method("sat", loss="saturating"), Method("pac", pack=2)])
def test_each_stacked_seed_gets_the_gradient_it_would_get_alone(method: Method) -> None:
    """S = 3 stacked runs against three ordinary, unstacked PointGenerator/PointDiscriminator
    pairs with the same weights and the same minibatches, for D's loss and for G's loss.

    The WGAN-GP penalty draws a random ``eps`` per point. The stacked D loss draws all
    ``S * B`` of them in one ``torch.rand(S * B, 1, generator=rng)`` (inside
    ``losses.gradient_penalty``, after the two forward passes, which draw nothing), and a
    stream of ``S * B`` numbers need not equal three streams of ``B``. So the lone run is fed
    the same slice of eps instead of drawing its own: it evaluates the penalty at the very
    points ``x_hat_s = eps_s x_real_s + (1 - eps_s) x_fake_s``, by calling
    ``gradient_penalty(D_s, x_hat_s, x_hat_s)`` (its interpolation of a point with itself is
    that point, up to one rounding). If the stacked code drew eps differently, the points would
    differ and this test would fail.
    """
    S, B, seeds, loss = 3, 8, [0, 1, 2], get_loss(method.loss)
    G, D = _build(method, TINY, seeds)
    x_real = torch.randn(S, B * method.pack, 2)
    x_fake = torch.randn(S, B * method.pack, 2)
    z = torch.randn(S, B * method.pack, TINY.latent_dim)
    _d_loss(method, D, x_real, x_fake, torch.Generator().manual_seed(5)).backward()
    d_grads = {name: g.clone() for name, g in D.unflatten(D.flat.grad).items()}
    _g_loss(method, D(G(z))).backward()
    eps = torch.rand(S * B, 1, generator=torch.Generator().manual_seed(5)).view(S, B, 1)
    for s in range(S):
        D_s = _lone(D, s, PointDiscriminator(2, TINY.d_hidden, method.pack, "relu"))
        G_s = _lone(G, s, PointGenerator(TINY.latent_dim, 2, TINY.g_hidden, "relu"))
        if loss.gradient_penalty:
            x_hat = eps[s] * x_real[s] + (1 - eps[s]) * x_fake[s]
            d_loss = (loss.d_loss(D_s(x_real[s]), D_s(x_fake[s]))
                      + gradient_penalty(D_s, x_hat, x_hat, method.lambda_gp))
        else:
            d_loss, _, _ = discriminator_loss(loss, D_s, x_real[s], x_fake[s],
                                              r1_gamma=method.r1_gamma)
        d_loss.backward()
        for name, p in D_s.named_parameters():
            assert torch.allclose(d_grads[name][s], p.grad, rtol=1e-5, atol=1e-6), name
        D_s.zero_grad()
        loss.g_loss(D_s(G_s(z[s]))).backward()
        for name, p in G_s.named_parameters():
            g_grads = G.unflatten(G.flat.grad)
            assert torch.allclose(g_grads[name][s], p.grad, rtol=1e-5, atol=1e-6), name


def test_run_protocol_gives_the_same_runs_with_two_workers() -> None:
    methods = [Method("ns"), Method("w", loss="wasserstein-gp", lambda_gp=10.0)]
    one = run_protocol(methods, ["ring"], [0, 1], TINY, workers=1, progress=False)
    two = run_protocol(methods, ["ring"], [0, 1], TINY, workers=2, progress=False)
    assert [(r.method, r.dataset, r.seed) for r in two] == [
        ("ns", "ring", 0), ("ns", "ring", 1), ("w", "ring", 0), ("w", "ring", 1)]
    for a, b in zip(one, two):
        assert (a.method, a.seed, a.modes, a.hq_fraction) == (b.method, b.seed, b.modes,
                                                              b.hq_fraction)
        assert torch.equal(a.samples, b.samples)


def fake_run(dataset: str, method: str, modes: int, hq: float, kl: float) -> Run:
    return Run(dataset, method, 0, torch.zeros(1, 2), modes, hq, kl)


def test_summarize_gives_mean_and_standard_error_per_dataset_and_method() -> None:
    runs = [fake_run("ring", "a", 8, 0.9, 0.1), fake_run("ring", "a", 6, 0.7, 0.3),
            fake_run("ring", "a", 7, 0.8, 0.2), fake_run("grid", "a", 25, 1.0, 0.0)]
    rows = summarize(runs)
    assert [tuple(row) for row in rows] == [COLUMNS, COLUMNS]
    ring, grid = rows
    assert (ring["dataset"], ring["method"], ring["seeds"]) == ("ring", "a", 3)
    assert ring["modes_mean"] == pytest.approx(7.0)
    assert ring["modes_se"] == pytest.approx(1 / math.sqrt(3))  # sd 1, n 3
    assert ring["hq_mean"] == pytest.approx(80.0) and ring["hq_se"] == pytest.approx(
        10 / math.sqrt(3))
    assert ring["kl_se"] == pytest.approx(0.1 / math.sqrt(3))
    assert grid["seeds"] == 1 and grid["modes_se"] == 0.0
    with pytest.raises(ValueError, match="empty"):
        summarize([])


@pytest.mark.parametrize("make, message", [
    (lambda: Method("x", loss="hinge"), "loss must be one of"),
    (lambda: Method("x", loss="wasserstein"), "loss must be one of"),
    (lambda: Method("x", pack=0), "pack must be an integer >= 1"),
    (lambda: Method("x", d_steps=1.5), "d_steps must be an integer >= 1"),
    (lambda: Method("x", pack=2, r1_gamma=1.0), "use them with pack=1"),
    (lambda: Method("x", lr=0.0), "lr must be a finite number > 0"),
    (lambda: Method("x", r1_gamma=-1.0), "r1_gamma must be a finite number >= 0"),
    (lambda: Method("x", betas=(0.5, 1.0)), r"betas must be a finite number in \[0, 1\)"),
    (lambda: Method("x", lambda_gp=10.0), "lambda_gp must be > 0 with 'wasserstein-gp' and 0"),
    (lambda: Method("x", loss="wasserstein-gp"), "lambda_gp must be > 0 with 'wasserstein-gp'"),
    (lambda: Protocol(steps=0), "steps must be an integer >= 1"),
    (lambda: Protocol(g_hidden=()), "g_hidden must be a non-empty sequence"),
    (lambda: Protocol(threshold=float("nan")), "threshold must be a finite number > 0"),
])
def test_bad_settings_are_rejected(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_dataset_or_no_seeds_is_an_error() -> None:
    with pytest.raises(ValueError, match="datasets must be a non-empty list of names in"):
        run_method(Method("ns"), ["spiral"], [0], TINY)
    with pytest.raises(ValueError, match="seeds must be a non-empty sequence of integers >= 0"):
        run_method(Method("ns"), ["ring"], [], TINY)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        run_protocol([Method("ns")], ["ring"], [0], TINY, workers=0)


def test_mode_coverage_2d_on_hand_made_samples() -> None:
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    std = 1.0
    samples = torch.tensor([[0.5, 0.0], [0.0, -2.9], [10.0, 2.0],  # HQ: modes 0, 0, 1
                            [3.5, 0.0], [5.0, 5.0],                 # not HQ (> 3 std)
                            [0.0, 3.0]])                            # exactly 3 std: HQ, mode 0
    scores = mode_coverage_2d(samples, centers, std)
    assert scores["modes"] == 2
    assert scores["hq_fraction"] == pytest.approx(4 / 6)
    h = torch.tensor([3 / 4, 1 / 4, 0.0, 0.0])  # HQ histogram over the 4 modes
    expected = (0.75 * math.log(4 * 0.75) + 0.25 * math.log(4 * 0.25))
    assert scores["reverse_kl"] == pytest.approx(expected)
    assert scores["reverse_kl"] == pytest.approx(kl_to_uniform(h))


def test_mode_coverage_2d_extremes() -> None:
    centers = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    balanced = mode_coverage_2d(centers.repeat(3, 1), centers, std=0.01)
    assert balanced == {"modes": 2, "hq_fraction": 1.0, "reverse_kl": 0.0}
    collapsed = mode_coverage_2d(torch.zeros(5, 2), centers, std=0.01)
    assert collapsed["modes"] == 1 and collapsed["reverse_kl"] == pytest.approx(math.log(2))
    nothing = mode_coverage_2d(torch.full((5, 2), 0.5), centers, std=0.01)
    assert nothing["modes"] == 0 and nothing["hq_fraction"] == 0 and math.isnan(
        nothing["reverse_kl"])
    wider = mode_coverage_2d(torch.tensor([[0.5, 0.5]]), centers, 0.01, threshold=80)
    assert wider["hq_fraction"] == 1.0


@pytest.mark.parametrize("samples, centers, std, message", [
    (torch.zeros(5, 3), torch.zeros(2, 2), 1.0, "the same d"),
    (torch.zeros(0, 2), torch.zeros(2, 2), 1.0, "non-empty float tensors"),
    (torch.zeros(5, 2), torch.zeros(2, 2), 0.0, "std must be a finite number > 0"),
    (torch.zeros(5, 2, dtype=torch.long), torch.zeros(2, 2), 1.0, "float tensors"),
    (torch.full((5, 2), float("nan")), torch.zeros(2, 2), 1.0, "samples must be finite"),
])
def test_mode_coverage_2d_rejects_bad_input(samples, centers, std, message) -> None:
    with pytest.raises(ValueError, match=message):
        mode_coverage_2d(samples, centers, std)
