"""The multi-seed 2-D protocol: seeding, stacking, the registry losses, scoring, the table."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from gan_tutorial.experiments.mode_collapse import (
    COLUMNS,
    DATASETS,
    METHODS,
    PAPER,
    STUDY_METHODS,
    STUDY_PROTOCOL,
    STUDY_SEARCH,
    Method,
    Protocol,
    Run,
    _build,
    _d_loss,
    _g_loss,
    _networks,
    StackedOptimizer,
    last_quarter_change,
    mode_coverage_2d,
    run_method,
    run_plan,
    run_protocol,
    search_space,
    summarize,
    train_stacked_runs,
    tuned,
)
from gan_tutorial.losses import discriminator_loss, get_loss, gradient_penalty
from gan_tutorial.metrics import kl_to_uniform
from gan_tutorial.models import (
    BatchNormPointGenerator,
    Maxout,
    MaxoutPointDiscriminator,
    PointDiscriminator,
    PointGenerator,
)

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


# --- the fair study: PacGAN's networks, per-run optimiser settings, the two protocols --------

PACGAN_TINY = Protocol(steps=3, batch_size=8, g_hidden=(8, 8), d_hidden=(8,), n_train=64,
                       n_eval=50, networks="pacgan", init_std=0.02, decay=False)


@pytest.mark.parametrize("kind", ["adam", "rmsprop"])
def test_the_stacked_optimizer_is_torch_s_optimizer_row_by_row(kind: str) -> None:
    # rows 0 and 3 share a setting (one fused call), the others have their own
    lrs, betas = [1e-2, 3e-3, 1e-3, 1e-2], [(0.0, 0.99), (0.5, 0.9), (0.0, 0.999), (0.0, 0.99)]
    if kind == "adam":
        betas[2] = (0.8, 0.999)
    start = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    flat = start.clone().requires_grad_(True)
    stacked = StackedOptimizer(flat, lrs, betas, kind)
    rows = [start[s].clone().requires_grad_(True) for s in range(4)]
    alone = [torch.optim.Adam([rows[s]], lr=lrs[s], betas=betas[s]) if kind == "adam"
             else torch.optim.RMSprop([rows[s]], lr=lrs[s], alpha=betas[s][1])
             for s in range(4)]
    for step in range(4):
        grad = torch.randn(4, 5, generator=torch.Generator().manual_seed(step + 1))
        stacked.step(grad.clone())
        for s in range(4):
            rows[s].grad = grad[s].clone()
            alone[s].step()
    for s in range(4):
        assert torch.allclose(flat[s], rows[s], rtol=1e-5, atol=1e-7), s
    assert not torch.allclose(flat, start)


def test_the_linear_decay_scales_every_learning_rate() -> None:
    flat = torch.zeros(2, 3, requires_grad=True)
    optimizer = StackedOptimizer(flat, [1e-2, 1e-3], [(0.0, 0.9)] * 2, "adam")
    optimizer.step(torch.ones(2, 3), scale=0.5)  # Adam's first step moves by lr * scale
    assert torch.allclose(flat.detach(), torch.tensor([[-5e-3] * 3, [-5e-4] * 3]), rtol=1e-4)


def test_pacgan_networks_stacked_give_each_run_its_own_batch_statistics() -> None:
    method = Method("gan")
    G, D = _build(method, PACGAN_TINY, [0, 1])
    torch.manual_seed(1)
    G_1, D_1 = _networks(method, PACGAN_TINY)
    z = torch.randn(2, 16, 2)
    z[0] *= 100  # run 0's batch statistics must not leak into run 1
    assert torch.allclose(G(z)[1], G_1(z[1]), atol=1e-6)
    x = torch.randn(2, 6, 2)
    assert torch.allclose(D(x)[1], D_1(x[1]), atol=1e-6)
    weights = [p for name, p in G_1.named_parameters() if name.endswith("weight")
               and p.dim() == 2]
    assert all(abs(w.std().item() - 0.02) < 0.01 for w in weights)  # N(0, 0.02^2) init
    assert all(not torch.any(b) for name, b in D_1.named_parameters() if "bias" in name)


@pytest.mark.parametrize("method", [Method("gan", betas=(0.8, 0.999)), Method("pac", pack=3),
                                    Method("r1", r1_gamma=10.0)])
def test_pacgan_networks_stacked_get_the_gradient_they_would_get_alone(method: Method) -> None:
    S, B, seeds = 2, 6, [3, 4]
    G, D = _build(method, PACGAN_TINY, seeds)
    x_real = torch.randn(S, B * method.pack, 2)
    x_fake = torch.randn(S, B * method.pack, 2)
    z = torch.randn(S, B * method.pack, 2)
    _d_loss(method, D, x_real, x_fake, torch.Generator()).backward()
    d_grads = D.unflatten(D.flat.grad.clone())
    _g_loss(method, D(G(z))).backward()
    g_grads = G.unflatten(G.flat.grad)
    loss = get_loss(method.loss)
    for s, seed in enumerate(seeds):
        torch.manual_seed(seed)
        G_s, D_s = _networks(method, PACGAN_TINY)
        discriminator_loss(loss, D_s, x_real[s], x_fake[s], r1_gamma=method.r1_gamma
                           )[0].backward()
        for name, p in D_s.named_parameters():
            assert torch.allclose(d_grads[name][s], p.grad, rtol=1e-4, atol=1e-6), name
        D_s.zero_grad()
        loss.g_loss(D_s(G_s(z[s]))).backward()
        for name, p in G_s.named_parameters():
            assert torch.allclose(g_grads[name][s], p.grad, rtol=1e-4, atol=1e-6), name


def test_a_search_trains_every_setting_for_every_seed_and_records_it() -> None:
    settings = [(1e-3, 0.5), (3e-4, 0.0)]
    runs = run_method(Method("gan", betas=(0.8, 0.999)), ["ring"], [0, 1], PACGAN_TINY,
                      progress=False, settings=settings)
    assert [(r.lr, r.betas, r.seed) for r in runs] == [
        (1e-3, (0.5, 0.999), 0), (1e-3, (0.5, 0.999), 1), (3e-4, (0.0, 0.999), 0),
        (3e-4, (0.0, 0.999), 1)]
    assert all(r.steps == 3 and r.seconds > 0 for r in runs)
    assert not torch.equal(runs[0].samples, runs[2].samples)  # the settings differ


def test_checkpoints_score_the_runs_on_the_way_and_a_time_limit_stops_early() -> None:
    protocol = dataclasses.replace(PACGAN_TINY, steps=4, checkpoints=(1, 3))
    (run,) = run_plan([("grid", Method("gan"), 0)], protocol, progress=False)
    assert [step for step, *_ in run.curve] == [1, 3] and run.steps == 4
    for _step, modes, hq, _kl in run.curve:
        assert 0 <= modes <= 25 and 0 <= hq <= 1
    hurried = dataclasses.replace(PACGAN_TINY, steps=50, time_limit=1e-9)
    (run,) = run_plan([("grid", Method("gan"), 0)], hurried, progress=False)
    assert run.steps == 1


def test_a_plan_mixes_only_learning_rates_and_betas() -> None:
    with pytest.raises(ValueError, match="may differ only in name, lr and betas"):
        run_plan([("ring", Method("a"), 0), ("ring", Method("b", pack=2), 1)], TINY)
    with pytest.raises(ValueError, match="may differ only"):
        run_plan([("ring", Method("a", betas=(0.0, 0.99)), 0),
                  ("ring", Method("a", betas=(0.0, 0.99), optimizer="rmsprop"), 1)], TINY)
    with pytest.raises(ValueError, match="plan is empty"):
        run_plan([], TINY)


def test_the_search_space_is_the_same_for_every_method_and_in_range() -> None:
    space = search_space(6)
    assert space == search_space(6) and len(set(space)) == 6
    assert all(1e-5 <= lr <= 1e-2 and 0 <= beta1 <= 0.9 for lr, beta1 in space)
    assert search_space(6, seed=1) != space
    gp = tuned(PAPER["WGAN-GP"][0], 3e-4, 0.2)
    assert (gp.lr, gp.betas, gp.d_steps, gp.lambda_gp, gp.optimizer) == (
        3e-4, (0.2, 0.9), 5, 10.0, "adam")
    r1 = tuned(PAPER["GAN + R1"][0], 3e-4, 0.2)  # RMSProp's alpha becomes Adam's beta2
    assert (r1.optimizer, r1.betas, r1.r1_gamma) == ("adam", (0.2, 0.99), 10.0)


def test_the_paper_settings_are_the_papers() -> None:
    for name in ("GAN", "GAN (saturating)", "PacGAN2", "PacGAN3", "PacGAN4"):
        method, protocol = PAPER[name]
        assert (method.lr, method.betas, method.optimizer) == (1e-4, (0.8, 0.999), "adam")
        assert (protocol.networks, protocol.g_hidden, protocol.d_hidden, protocol.batch_size,
                protocol.init_std, protocol.decay) == ("pacgan", (400,) * 4, (200,) * 3, 100,
                                                       0.02, False)
    assert [PAPER[f"PacGAN{m}"][0].pack for m in (2, 3, 4)] == [2, 3, 4]
    gp, gp_protocol = PAPER["WGAN-GP"]
    assert (gp.lr, gp.betas, gp.d_steps, gp.lambda_gp) == (1e-4, (0.5, 0.9), 5, 10.0)
    assert (gp_protocol.g_hidden, gp_protocol.batch_size) == ((512,) * 3, 256)
    r1, _ = PAPER["GAN + R1"]
    assert (r1.optimizer, r1.lr, r1.r1_gamma, r1.loss) == ("rmsprop", 1e-4, 10.0,
                                                           "nonsaturating")


def test_maxout_takes_the_largest_piece() -> None:
    layer = Maxout(1, 2, pieces=3)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [-1.0], [0.0], [2.0], [0.0], [0.0]]))
        layer.linear.bias.copy_(torch.tensor([0.0, 0.0, 0.5, 0.0, 0.0, -1.0]))
    x = torch.tensor([[2.0], [-3.0], [0.1]])
    expected = torch.tensor([[2.0, 4.0], [3.0, 0.0], [0.5, 0.2]])
    assert torch.allclose(layer(x), expected)


def test_maxout_discriminator_packs_consecutive_points() -> None:
    torch.manual_seed(0)
    D = MaxoutPointDiscriminator(2, (4,), pack=2, pieces=3)
    x = torch.randn(6, 2)
    assert torch.allclose(D(x), D.net(x.reshape(3, 4)).squeeze(1))
    with pytest.raises(ValueError, match="divisible by 2"):
        D(torch.randn(5, 2))


def test_batchnorm_generator_normalises_with_the_batch_it_is_given() -> None:
    torch.manual_seed(0)
    G = BatchNormPointGenerator(2, 2, (16, 16))
    assert not list(G.buffers())  # no running statistics: sampling uses batch statistics
    hidden = G.net[:2](torch.randn(500, 2) * 7 + 3)  # first Linear + BatchNorm
    assert torch.allclose(hidden.mean(0), torch.zeros(16), atol=1e-5)
    assert torch.allclose(hidden.std(0, unbiased=False), torch.ones(16), atol=1e-2)
    G.eval()
    assert G(torch.randn(10, 2)).shape == (10, 2)


@pytest.mark.parametrize("make, message", [
    (lambda: Method("x", optimizer="sgd"), "optimizer must be one of"),
    (lambda: Method("x", optimizer="rmsprop", betas=(0.5, 0.99)), "betas.0. must be 0"),
    (lambda: Protocol(networks="resnet"), "networks must be one of"),
    (lambda: Protocol(steps=10, checkpoints=(10,)), "checkpoints must be an integer"),
    (lambda: Protocol(time_limit=0.0), "time_limit must be a finite number > 0"),
    (lambda: Protocol(init_std=-1.0), "init_std must be a finite number >= 0"),
])
def test_bad_study_settings_are_rejected(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# --- the equal-steps study -------------------------------------------------------------------

def test_one_stacked_step_is_algorithm_1_with_the_d_step_s_fakes_reused() -> None:
    """Two runs of ``train_stacked_runs`` for one step against a hand-written step of each run
    alone with ``torch.optim.Adam``: D's step on the reals and ``G(z)``, then G's step on
    ``D(G(z))`` with the updated D and the *same* fakes. The minibatch indices and latents are
    drawn as the stacked loop draws them (indices, then latents, from one generator)."""
    method, S, B = Method("ns", lr=1e-2, betas=(0.5, 0.99)), 2, TINY.batch_size
    protocol = dataclasses.replace(TINY, steps=1, decay=False)
    data = torch.randn(S, protocol.n_train, 2, generator=torch.Generator().manual_seed(3))
    G_alone, D_alone = [], []
    for seed in (0, 1):
        torch.manual_seed(seed)
        G_s, D_s = _networks(method, protocol)
        G_alone.append(G_s)
        D_alone.append(D_s)
    G, _ = train_stacked_runs(method, protocol, data, [0, 1], [(method.lr, method.betas)] * S,
                              torch.Generator().manual_seed(9), False, lambda *_: None)
    rng = torch.Generator().manual_seed(9)
    index = torch.randint(protocol.n_train, (S, B), generator=rng)
    z = torch.randn(S, B, protocol.latent_dim, generator=rng)
    loss = get_loss("nonsaturating")
    for s in range(S):
        G_s, D_s = G_alone[s], D_alone[s]
        opt_g = torch.optim.Adam(G_s.parameters(), lr=method.lr, betas=method.betas)
        opt_d = torch.optim.Adam(D_s.parameters(), lr=method.lr, betas=method.betas)
        fake = G_s(z[s])
        loss.d_loss(D_s(data[s, index[s]]), D_s(fake.detach())).backward()
        opt_d.step()
        opt_g.zero_grad()
        loss.g_loss(D_s(fake)).backward()
        opt_g.step()
        stacked = G.unflatten(G.flat.detach())
        for name, p in G_s.named_parameters():
            assert torch.allclose(stacked[name][s], p, rtol=1e-5, atol=1e-6), name


def test_the_study_trains_seven_methods_on_one_protocol_with_adam() -> None:
    names = [m.name for m in STUDY_METHODS]
    assert names == ["GAN", "GAN (saturating)", "PacGAN2", "PacGAN3", "PacGAN4", "WGAN-GP",
                     "GAN + R1"]
    assert all(m.optimizer == "adam" for m in STUDY_METHODS)
    wgan = STUDY_METHODS[5]
    assert (wgan.lambda_gp, wgan.d_steps, wgan.betas[1]) == (10.0, 5, 0.9)
    assert [m.pack for m in STUDY_METHODS[2:5]] == [2, 3, 4]
    assert STUDY_PROTOCOL.steps == 6_000 and STUDY_PROTOCOL.decay is False
    assert STUDY_PROTOCOL.checkpoints[-1] == 5_700 and 4_500 in STUDY_PROTOCOL.checkpoints
    assert len(STUDY_SEARCH) == 4
    assert all(1e-4 <= lr <= 10 ** -2.5 and 0 <= b1 <= 0.9 for lr, b1 in STUDY_SEARCH)


def test_search_space_draws_learning_rates_in_the_range_given() -> None:
    space = search_space(50, seed=3, lr_range=(1e-3, 1e-2))
    assert all(1e-3 <= lr <= 1e-2 for lr, _ in space)
    assert search_space(1, seed=0, lr_range=(2e-4, 2e-4)) == [(2e-4, search_space(1)[0][1])]
    for bad in [(1e-2, 1e-3), (0.0, 1e-3), (1e-3,), "1e-3", (1e-3, float("nan"))]:
        with pytest.raises(ValueError, match="lr_range"):
            search_space(2, lr_range=bad)


def test_last_quarter_change_is_the_mean_change_against_the_final_standard_error() -> None:
    # final 8, 6, 7: mean 7, sd 1, s.e. 1 / sqrt(3); changes 1, -1, 1: mean 1/3
    out = last_quarter_change([7, 7, 6], [8, 6, 7])
    assert out["change"] == pytest.approx(1 / 3)
    assert out["se"] == pytest.approx(1 / math.sqrt(3))
    assert out["converged"] == 1
    rising = last_quarter_change([10, 11, 12], [20, 21, 22])  # +10 each, s.e. 0.577
    assert rising["change"] == pytest.approx(10) and rising["converged"] == 0
    assert last_quarter_change([8, 8], [8, 8])["converged"] == 1  # no change, no spread


@pytest.mark.parametrize("first, last", [([], []), ([1, 2], [1]), ([1.0], [float("nan")]),
                                         ("12", "12"), (None, [1])])
def test_last_quarter_change_refuses_bad_input(first, last) -> None:
    with pytest.raises(ValueError):
        last_quarter_change(first, last)
