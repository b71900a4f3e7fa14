"""The multi-seed 2-D protocol: seeding, stacking, scoring and the summary table."""

from __future__ import annotations

import math

import pytest
import torch

from gan_tutorial.metrics import mode_coverage_2d
from gan_tutorial.mode_collapse import (
    COLUMNS,
    DATASETS,
    Method,
    Protocol,
    Run,
    _build,
    _d_loss,
    _g_loss,
    run_method,
    run_protocol,
    summarize,
)

TINY = Protocol(steps=3, batch_size=8, g_hidden=(8,), d_hidden=(8,), n_train=64, n_eval=50)


@pytest.mark.parametrize("method", [Method("ns"), Method("pac", pack=2),
                                    Method("w", loss="wasserstein", n_critic=2, lambda_gp=10),
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


def test_stacked_models_keep_each_seed_s_own_initial_weights() -> None:
    G, D = _build(Method("pac", pack=3), TINY, [0, 1])
    torch.manual_seed(1)
    from gan_tutorial.models import PointGenerator
    alone = PointGenerator(TINY.latent_dim, 2, TINY.g_hidden, "relu")
    z = torch.randn(2, 5, TINY.latent_dim)
    assert torch.allclose(G(z)[1], alone(z[1]))
    assert D(torch.zeros(2, 6, 2)).shape == (2, 2)  # 6 points, packs of 3


@pytest.mark.parametrize("method", [Method("r1", r1_gamma=1.0), Method("pac", pack=2),
                                    Method("sat", loss="saturating")])
def test_the_summed_loss_gives_each_run_the_gradient_it_would_have_alone(method) -> None:
    G2, D2 = _build(method, TINY, [0, 1])
    G1, D1 = _build(method, TINY, [0])
    x_real, x_fake = torch.randn(2, 8, 2), torch.randn(2, 8, 2)
    _d_loss(method, D2, x_real, x_fake, torch.Generator()).backward()
    _d_loss(method, D1, x_real[:1], x_fake[:1], torch.Generator()).backward()
    z = torch.randn(2, 8, TINY.latent_dim)
    _g_loss(method, D2(G2(z))).backward()
    _g_loss(method, D1(G1(z[:1]))).backward()
    for both, alone in ((D2, D1), (G2, G1)):
        for name, p in alone.params.items():
            assert torch.allclose(both.params[name].grad[0], p.grad[0], atol=1e-6), name


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


@pytest.mark.parametrize("make", [lambda: Method("x", loss="hinge"), lambda: Method("x", pack=0),
                                  lambda: Method("x", n_critic=1.5),
                                  lambda: Method("x", pack=2, r1_gamma=1.0),
                                  lambda: Method("x", lr=0.0),
                                  lambda: Protocol(steps=0), lambda: Protocol(g_hidden=())])
def test_bad_settings_are_rejected(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_unknown_dataset_or_no_seeds_is_an_error() -> None:
    with pytest.raises(ValueError, match="datasets must be names in"):
        run_method(Method("ns"), ["spiral"], [0], TINY)
    with pytest.raises(ValueError, match="seeds non-empty"):
        run_method(Method("ns"), ["ring"], [], TINY)
    with pytest.raises(ValueError, match="workers"):
        run_protocol([Method("ns")], ["ring"], [0], TINY, workers=0)
