"""The stabilisers of the chapter "Stabilising GAN training": LSGAN, WGAN with weight clipping,
one-sided label smoothing, experience replay, an EMA of G, spectral normalisation, presets."""

import math
from dataclasses import replace

import pandas as pd
import pytest
import torch
from torch import nn

from gan_tutorial.config import PRESETS, TrainConfig
from gan_tutorial.losses import (
    LOSSES,
    d_loss_bce,
    d_loss_least_squares,
    d_loss_wasserstein,
    discriminator_loss,
    g_loss_least_squares,
    g_loss_wasserstein,
)
from gan_tutorial.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    init_dcgan_weights,
)
from gan_tutorial.callbacks import ImagePool, ema_generator
from gan_tutorial.losses import clip_weights
from gan_tutorial.runner import fit
from gan_tutorial.train import d_step


def logit(p: float) -> float:
    return math.log(p / (1 - p))


# --- LSGAN -------------------------------------------------------------------------------------

def test_least_squares_losses_match_mao_eq_9() -> None:
    real, fake = torch.tensor([1.0, 0.0, 3.0]), torch.tensor([0.5, -1.0])
    # 1/2 mean (real - 1)^2 = 1/2 (0 + 1 + 4) / 3; 1/2 mean fake^2 = 1/2 (0.25 + 1) / 2
    assert d_loss_least_squares(real, fake).item() == pytest.approx(5 / 6 + 1.25 / 4)
    assert d_loss_least_squares(torch.ones(3), torch.zeros(2)).item() == 0.0
    assert d_loss_least_squares(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(0.5)
    assert g_loss_least_squares(fake).item() == pytest.approx((0.25 + 4) / 4)


def test_least_squares_generator_gradient_grows_with_the_distance() -> None:
    fake = torch.tensor([-20.0, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    g_loss_least_squares(fake).backward()
    assert fake.grad.tolist() == pytest.approx([-21 / 3, -1 / 3, 0.0])


def test_new_registry_entries() -> None:
    lsgan, clip = LOSSES["least-squares"], LOSSES["wasserstein-clip"]
    assert (lsgan.d_loss, lsgan.g_loss) == (d_loss_least_squares, g_loss_least_squares)
    assert (clip.d_loss, clip.g_loss) == (d_loss_wasserstein, g_loss_wasserstein)
    assert clip.weight_clip == 0.01 and not clip.gradient_penalty and not clip.sigmoid
    assert [name for name, loss in LOSSES.items() if loss.weight_clip] == ["wasserstein-clip"]


# --- WGAN weight clipping ----------------------------------------------------------------------

def test_clip_weights_clamps_every_parameter() -> None:
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.2, 0.003], [-0.004, 0.0, 1.0]]))
        layer.bias.copy_(torch.tensor([-3.0, 0.001]))
    clip_weights(layer, 0.01)
    assert layer.weight.flatten().tolist() == pytest.approx([0.01, -0.01, 0.003, -0.004, 0.0,
                                                             0.01])
    assert layer.bias.tolist() == pytest.approx([-0.01, 0.001])
    for c in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="c must be"):
            clip_weights(layer, c)


def test_wasserstein_clip_d_step_leaves_the_critic_inside_the_box() -> None:
    torch.manual_seed(0)
    D = DCGANDiscriminator(width=4)
    opt = torch.optim.SGD(D.parameters(), lr=10.0)  # a step far outside [-0.01, 0.01]
    d_step(D, opt, torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1,
           "wasserstein-clip")
    values = torch.cat([p.flatten() for p in D.parameters()])
    assert values.abs().max().item() == pytest.approx(0.01)
    opt_free = torch.optim.SGD(D.parameters(), lr=10.0)
    d_step(D, opt_free, torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28), "wasserstein-gp")
    assert torch.cat([p.flatten() for p in D.parameters()]).abs().max().item() > 0.02


# --- one-sided label smoothing -----------------------------------------------------------------

def test_smoothed_bce_is_minimised_at_the_target() -> None:
    real = torch.tensor([logit(0.9), logit(0.99)], dtype=torch.float64, requires_grad=True)
    fake = torch.tensor([logit(0.2)], dtype=torch.float64)
    loss = d_loss_bce(real, fake, real_target=0.9)
    expected = (-(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
                - (0.9 * math.log(0.99) + 0.1 * math.log(0.01))) / 2 - math.log(0.8)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    loss.backward()  # d/dl = (sigmoid(l) - t) / B: zero at D(x) = 0.9, positive above it
    assert real.grad.tolist() == pytest.approx([0.0, (0.99 - 0.9) / 2], abs=1e-12)
    assert d_loss_bce(real, fake).item() == pytest.approx(
        -(math.log(0.9) + math.log(0.99)) / 2 - math.log(0.8))
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="real_target must be"):
            d_loss_bce(real, fake, real_target=bad)


def test_label_smoothing_reaches_d_step_and_is_refused_for_other_losses() -> None:
    torch.manual_seed(0)
    D = MLPDiscriminator(hidden=(8,))
    x_real, x_fake = torch.rand(5, 1, 28, 28) * 2 - 1, torch.rand(5, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        expected = d_loss_bce(D(x_real), D(x_fake), real_target=0.9).item()
        plain = d_loss_bce(D(x_real), D(x_fake)).item()
    readings = d_step(D, torch.optim.SGD(D.parameters(), lr=0.0), x_real, x_fake,
                      label_smoothing=0.1)
    assert readings["d_loss"].item() == pytest.approx(expected, rel=1e-6)
    assert expected != pytest.approx(plain)
    with pytest.raises(ValueError, match="label_smoothing needs a loss"):
        discriminator_loss(LOSSES["hinge"], D, x_real, x_fake, label_smoothing=0.1)
    with pytest.raises(ValueError, match="label_smoothing=0.1 needs a loss"):
        TrainConfig(loss="least-squares", label_smoothing=0.1)


# --- experience replay -------------------------------------------------------------------------

def test_replay_off_returns_the_same_tensor() -> None:
    x = torch.randn(4, 2)
    assert ImagePool(0).query(x) is x


def test_replay_fills_then_mixes_half_past_half_current() -> None:
    torch.manual_seed(0)
    buffer = ImagePool(8)
    past = [torch.full((4, 1), float(i)) for i in range(2)]  # images 0, 0, 0, 0, 1, 1, 1, 1
    for x in past:
        assert buffer.query(x) is x  # still filling: D sees the current fakes only
    current = torch.full((4, 1), 7.0, requires_grad=True)
    mixed = buffer.query(current)
    assert mixed.shape == (4, 1)
    assert mixed[:2].tolist() == [[7.0], [7.0]] and mixed.requires_grad
    assert set(mixed[2:].flatten().tolist()) <= {0.0, 1.0}  # drawn from the buffer
    stored = buffer.images.flatten().tolist()
    assert stored.count(7.0) == 2  # the other half of the batch, in two random places
    assert stored.count(0.0) + stored.count(1.0) == 6
    assert len(buffer.images) == 8 and not buffer.images.requires_grad


def test_replay_refuses_conditional_fakes_and_bad_sizes() -> None:
    with pytest.raises(ValueError, match="unconditional GANs only"):
        ImagePool(4).query(torch.randn(2, 3), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="capacity must be"):
        ImagePool(-1)
    with pytest.raises(ValueError, match="^replay_size must be"):
        TrainConfig(replay_size=-5)


# --- exponential moving average of G -----------------------------------------------------------

def test_ema_generator_averages_with_the_given_decay() -> None:
    G = nn.Linear(1, 1, bias=False)
    ema = ema_generator(G, 0.9)
    for value in (1.0, 2.0, 4.0):
        with torch.no_grad():
            G.weight.fill_(value)
        ema.update_parameters(G)
    # starts as a copy of G at the first update: 1, then 0.9 * 1 + 0.1 * 2, then ...
    expected = 0.9 * (0.9 * 1.0 + 0.1 * 2.0) + 0.1 * 4.0
    assert ema.module.weight.item() == pytest.approx(expected)
    for bad in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="decay must be"):
            ema_generator(G, bad)


def test_fit_updates_the_ema_and_insists_on_it() -> None:
    torch.manual_seed(0)
    G, D = DCGANGenerator(8, width=4), DCGANDiscriminator(width=4)
    data = torch.rand(32, 1, 28, 28) * 2 - 1
    config = TrainConfig(steps=3, batch_size=8, latent_dim=8, snapshot_every=0, ema_decay=0.5)
    with pytest.raises(ValueError, match="ema=ema_generator"):
        fit(G, D, data, config, device="cpu", progress=False)
    with pytest.raises(ValueError, match="ema_decay is 0"):
        fit(G, D, data, TrainConfig(steps=1, batch_size=8, latent_dim=8), device="cpu",
            progress=False, ema=ema_generator(G, 0.5))
    ema = ema_generator(G, 0.5)
    start = [p.detach().clone() for p in G.parameters()]
    fit(G, D, data, config, device="cpu", progress=False, ema=ema)
    assert int(ema.n_averaged) == 3
    for p_ema, p_g, p_0 in zip(ema.module.parameters(), G.parameters(), start):
        assert not torch.equal(p_ema, p_0) and not torch.equal(p_ema, p_g)


# --- spectral normalisation and D without BatchNorm ---------------------------------------------

def test_spectral_norm_makes_each_layer_1_lipschitz() -> None:
    torch.manual_seed(0)
    D = DCGANDiscriminator(width=8, batch_norm=False, spectral_norm=True)
    D.apply(init_dcgan_weights)
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    for _ in range(50):  # one power-iteration step per forward pass in training mode
        D(x)
    layers = [m for m in D.net if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 3
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=1e-3)
        assert layer.parametrizations.weight.original.std().item() == pytest.approx(0.02,
                                                                                   rel=0.2)
    plain = DCGANDiscriminator(width=8, batch_norm=False)
    assert (sum(p.numel() for p in D.parameters())
            == sum(p.numel() for p in plain.parameters()))


def test_d_without_batch_norm_judges_each_sample_alone() -> None:
    torch.manual_seed(0)
    D = DCGANDiscriminator(width=8, batch_norm=False).train()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    assert torch.allclose(D(x)[:2], D(x[:2]), atol=1e-6)
    with_bn = DCGANDiscriminator(width=8).train()
    assert not torch.allclose(with_bn(x)[:2], with_bn(x[:2]), atol=1e-6)
    with pytest.raises(ValueError, match="spectral_norm must be True or False"):
        DCGANDiscriminator(spectral_norm=1)


# --- presets -----------------------------------------------------------------------------------

def test_presets() -> None:
    assert sorted(PRESETS) == ["dcgan", "dcgan-recipe"]
    paper = TrainConfig.preset("dcgan")
    assert (paper.steps, paper.batch_size, paper.lr_g, paper.lr_d, paper.beta1) == (
        1_500, 128, 2e-4, 2e-4, 0.5)
    recipe = TrainConfig.preset("dcgan-recipe", seed=3, steps=10)
    assert (recipe.seed, recipe.steps) == (3, 10)
    assert recipe.loss == PRESETS["dcgan-recipe"].loss
    with pytest.raises(ValueError, match=r"preset must be one of \['dcgan', 'dcgan-recipe'\]"):
        TrainConfig.preset("dcgan2")
    with pytest.raises(ValueError, match="^ema_decay must be"):
        TrainConfig.preset("dcgan", ema_decay=1.0)


def test_new_fields_default_to_todays_behaviour_and_old_dicts_load() -> None:
    config = TrainConfig()
    assert (config.label_smoothing, config.replay_size, config.ema_decay) == (0.0, 0, 0.0)
    old = {key: value for key, value in config.to_dict().items()
           if key not in ("label_smoothing", "replay_size", "ema_decay")}
    assert TrainConfig.from_dict(old) == config


# --- the chapter's two figures -----------------------------------------------------------------

def test_curve_with_band_draws_the_curve_and_its_band() -> None:
    import matplotlib
    matplotlib.use("Agg")
    from gan_tutorial import plot
    ax = plot.curve_with_band([1, 2, 3], [10.0, 8.0, 7.0], [1.0, 0.5, 0.0], label="m")
    assert ax.get_lines()[0].get_ydata().tolist() == [10.0, 8.0, 7.0]
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == 11.0 and band[:, 1].min() == 7.0
    with pytest.raises(ValueError, match="spread must be >= 0"):
        plot.curve_with_band([1, 2], [1.0, 2.0], [0.1, -0.1])
    with pytest.raises(ValueError, match="y must have shape"):
        plot.curve_with_band([1, 2], [1.0], [0.1, 0.1])


def test_grid_heatmap_writes_each_value_and_skips_nan() -> None:
    import matplotlib
    matplotlib.use("Agg")
    from gan_tutorial import plot
    ax = plot.grid_heatmap([[1.0, float("nan")], [3.0, 4.0]], ["a", "b"], ["x", "y"])
    assert sorted(text.get_text() for text in ax.texts) == ["1", "3", "4"]
    with pytest.raises(ValueError, match=r"values must have shape \(2, 3\)"):
        plot.grid_heatmap([[1.0, 2.0]], ["a", "b"], ["x", "y", "z"])


# --- benchmarks/stabilising.py --controls: the recipe's parts on fresh seeds --------------------

def test_controls_change_one_part_of_the_recipe_at_a_time(load_benchmark) -> None:
    bench = load_benchmark("stabilising")
    bench._WORKER["budget"] = 192_000
    try:
        def config(name: str):
            spec = {**bench.CONTROLS, **bench.EQUAL_G_STEPS}[name]
            return bench.config_of(bench.Job(name, 10, spec))

        quiet = {"seed": 10, "log_every": 1_000_000, "snapshot_every": 0}
        assert config("dcgan-recipe") == TrainConfig.preset("dcgan-recipe", **quiet)
        assert config("baseline") == TrainConfig.preset("dcgan", **quiet)
        assert bench.CONTROLS["dcgan-recipe"].d == {"batch_norm": False}
        recipe_adam = TrainConfig.preset("dcgan-recipe", r1_gamma=0.0, **quiet)
        assert config("baseline@recipe-adam") == recipe_adam
        assert config("label-smoothing@recipe-adam") == replace(recipe_adam,
                                                                label_smoothing=0.1)
        assert config("r1") == TrainConfig.preset("dcgan", r1_gamma=10.0, **quiet)
        for name, buffers in (("ema-weights", False), ("ema", True)):
            assert config(name) == TrainConfig.preset("dcgan", ema_decay=0.995, **quiet)
            assert bench.CONTROLS[name].ema_buffers is buffers
        for name in ("wgan-gp", "wgan-clip"):
            equal = config(f"{name}@equal-g-steps")
            assert (equal.steps, equal.d_steps) == (1_500, 5)  # 960,000 training images
            assert equal == replace(bench.config_of(bench.Job(name, 10, bench.METHODS[name])),
                                    steps=1_500)
    finally:
        bench._WORKER.clear()


def test_control_jobs_skip_the_finished_runs_and_save_one_generator(load_benchmark) -> None:
    bench = load_benchmark("stabilising")
    seeds = bench.CONTROL_SEEDS
    assert seeds == (10, 11, 12, 13, 14) and not set(seeds) & {0, 1}
    jobs = bench.control_jobs(seeds, seeds[:3], set())
    assert len(jobs) == 7 * 5 + 2 * 3
    assert [(j.method, j.seed) for j in jobs if j.save_g] == [("dcgan-recipe", 10)]
    assert {j.seed for j in jobs if "@equal-g-steps" in j.method} == {10, 11, 12}
    assert [j.seed for j in jobs[:7 * 3]] == [10] * 7 + [11] * 7 + [12] * 7
    done = {("dcgan-recipe", 10), ("baseline", 14), ("wgan-gp@equal-g-steps", 11)}
    left = bench.control_jobs(seeds, seeds[:3], done)
    assert len(left) == len(jobs) - 3 and not {(j.method, j.seed) for j in left} & done
    assert not any(j.save_g for j in left)


def test_controls_writer_appends_resumes_and_keeps_its_rows(tmp_path, load_benchmark) -> None:
    bench = load_benchmark("stabilising")
    writer = bench.ControlsWriter(tmp_path)
    assert writer.done() == set() and writer.drop_unfinished_curves() == 0
    assert not list(tmp_path.iterdir())  # nothing written before a run finishes
    curve = {"method": "r1", "seed": 10, "images": 128, "g_step": 1}
    writer.append("curves", [curve, {**curve, "seed": 11}, {**curve, "g_step": 2}])
    writer.append("final", [{"method": "r1", "seed": 10, "diverged": False}])
    assert writer.path("final").name == "stabilising_controls_final.csv"
    assert writer.done() == {("r1", 10)}
    assert writer.drop_unfinished_curves() == 1  # seed 11 has no final row: cut mid-run
    curves = pd.read_csv(writer.path("curves"))
    assert list(curves.columns) == bench.CONTROL_CURVE_COLUMNS
    assert curves.seed.tolist() == [10, 10]
    writer.check_headers()
    writer.save_g({"w": torch.ones(2)})
    assert torch.equal(torch.load(tmp_path / writer.g_file, weights_only=True)["w"],
                       torch.ones(2))
    pd.DataFrame({"method": ["r1"], "seed": [12]}).to_csv(writer.path("final"), index=False)
    with pytest.raises(ValueError, match="has the columns"):
        writer.check_headers()
