import dataclasses
import math
import itertools
import os
import shutil
import signal

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gan_tutorial import callbacks, data, runner, train
from gan_tutorial.checkpoint import load_checkpoint
from gan_tutorial.config import TrainConfig
from gan_tutorial.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)
from gan_tutorial.utils import seed_everything

SMALL = {"latent_dim": 16, "batch_size": 32}


def small_models(seed: int = 0) -> tuple[MLPGenerator, MLPDiscriminator]:
    seed_everything(seed)
    return MLPGenerator(latent_dim=16, hidden=(32, 64)), MLPDiscriminator(hidden=(64, 32))


def params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_seeded_two_step_fit_is_deterministic(mnist_digits) -> None:
    x = mnist_digits[0][:256]
    runs = []
    for _ in range(2):
        G, D = small_models()
        history = runner.fit(G, D, x, TrainConfig(steps=2, log_every=1, **SMALL), device="cpu",
                            progress=False)
        runs.append((history.d_loss, history.g_loss, history.d_x, history.d_g_z))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == 2


def test_d_step_updates_only_d_and_reports_probabilities(mnist_digits) -> None:
    G, D = small_models()
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    g_before, d_before = params(G), params(D)
    stats = train.d_step(D, opt_d, mnist_digits[0][:32], G(torch.randn(32, 16)))
    assert changed(d_before, D) and not changed(g_before, G)
    assert all(p.grad is None for p in G.parameters())  # the fake batch was detached
    assert set(stats) == {"d_loss", "real_score", "fake_score", "d_x", "d_g_z"}
    assert all(value.shape == () and not value.requires_grad for value in stats.values())
    assert 0 < stats["d_x"] < 1 and 0 < stats["d_g_z"] < 1 and stats["d_loss"] > 0


def test_g_step_updates_only_g_leaves_d_gradients_alone_and_lowers_its_loss() -> None:
    G, D = small_models()
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    d_before, g_before = params(D), params(G)
    z = torch.randn(32, 16)
    first = train.g_step(D, opt_g, G(z))["g_loss"]
    assert changed(g_before, G) and not changed(d_before, D)
    assert all(p.grad is None and p.requires_grad for p in D.parameters())  # D was frozen
    for _ in range(20):
        last = train.g_step(D, opt_g, G(z))["g_loss"]
    assert last < first  # G learns to fool a fixed D


@pytest.mark.parametrize("d_steps", [1, 3])
def test_each_step_runs_g_once_per_d_update_and_g_reuses_the_last_fake_batch(
        mnist_digits, d_steps: int) -> None:
    G, D = small_models()
    fakes, judged = [], []
    G.register_forward_hook(lambda module, inputs, output: fakes.append(output))
    D.register_forward_hook(lambda module, inputs, output: judged.append(inputs[0]))
    runner.fit(G, D, mnist_digits[0][:256], TrainConfig(steps=4, d_steps=d_steps,
                                                       snapshot_every=0, **SMALL),
              device="cpu", progress=False)
    assert len(fakes) == 4 * d_steps  # one forward pass of G per D update, none for G's step
    # D's calls per step: (real, fake) per D update, then the G step judges the last fakes
    g_step_inputs = judged[2 * d_steps::2 * d_steps + 1]
    assert len(g_step_inputs) == 4
    assert all(x is fakes[(i + 1) * d_steps - 1] for i, x in enumerate(g_step_inputs))


def test_logs_are_read_back_only_every_log_every_steps(mnist_digits, monkeypatch) -> None:
    read_at = []
    flush = callbacks.ReadBack.flush
    monkeypatch.setattr(callbacks.ReadBack, "flush", lambda read_back: (
        read_at.append([step for step, _ in read_back.pending]), flush(read_back)))
    G, D = small_models()
    history = runner.fit(G, D, mnist_digits[0][:256],
                        TrainConfig(steps=12, log_every=5, snapshot_every=0, **SMALL),
                        device="cpu", progress=False)
    assert read_at == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12]]
    assert history.step == [5, 10, 12]


class PixelsDataset(torch.utils.data.Dataset):
    """uint8 digits with a per-example transform and labels, like torchvision's MNIST."""

    def __init__(self, images: torch.Tensor) -> None:
        self.pixels = ((images + 1) * 127.5).round().to(torch.uint8)

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.pixels[index].float() / 127.5 - 1, 7


@pytest.mark.parametrize("as_dataset", [torch.utils.data.TensorDataset, PixelsDataset])
def test_the_dataloader_path_gives_the_same_losses_as_the_fast_path(
        mnist_digits, as_dataset) -> None:
    x = ((mnist_digits[0][:96] + 1) * 127.5).round() / 127.5 - 1  # exactly what uint8 gives
    config = TrainConfig(steps=8, log_every=1, **SMALL)
    histories = []
    for source, workers in ((x, 0), (as_dataset(x), 0), (as_dataset(x), 2)):
        G, D = small_models()
        histories.append(runner.fit(G, D, source, dataclasses.replace(config, num_workers=workers),
                                   device="cpu", progress=False))
    for key in ("d_loss", "g_loss", "d_x", "d_g_z"):
        assert getattr(histories[0], key) == getattr(histories[1], key) \
            == getattr(histories[2], key), key


def adam_steps(opt: torch.optim.Optimizer) -> int:
    return int(next(iter(opt.state.values()))["step"])


def test_d_steps_makes_k_discriminator_updates_per_generator_update(mnist_digits) -> None:
    G, D = small_models()
    opt_g = torch.optim.Adam(G.parameters())
    opt_d = torch.optim.Adam(D.parameters())
    runner.fit(G, D, mnist_digits[0][:256], TrainConfig(steps=3, d_steps=4, **SMALL),
              device="cpu", progress=False, optimizers=(opt_g, opt_d))
    assert (adam_steps(opt_g), adam_steps(opt_d)) == (3, 12)


def test_history_logging_and_snapshots(mnist_digits) -> None:
    G, D = small_models()
    config = TrainConfig(steps=7, log_every=3, snapshot_every=2, **SMALL)
    history = runner.fit(G, D, mnist_digits[0][:256], config, device="cpu", progress=False,
                        fixed_z=torch.randn(5, 16))
    assert history.step == [3, 6, 7]
    assert len(history.d_loss) == len(history.wall_time) == 3
    assert history.wall_time == sorted(history.wall_time) and history.seconds > 0
    assert [step for step, _ in history.snapshots] == [0, 2, 4, 6]
    assert all(images.shape == (5, 1, 28, 28) for _, images in history.snapshots)
    assert history.device == "cpu" and not history.interrupted
    assert G.training and D.training


def test_fit_learns_to_tell_real_from_fake_early(mnist_digits) -> None:
    G, D = small_models()
    history = runner.fit(G, D, mnist_digits[0][:512], TrainConfig(steps=30, lr_d=1e-3, **SMALL),
                        device="cpu", progress=False)
    assert history.d_x[-1] > history.d_g_z[-1]


@pytest.mark.parametrize("x, message", [
    (torch.zeros(100), r"images \(N, C, H, W\) float32 .* shape \(100,\)"),
    (torch.zeros(10, 1, 28, 28), "at least batch_size=32"),
    (torch.zeros(100, 1, 28, 28, dtype=torch.uint8), r"float32 tensor .* torch.uint8"),
    (torch.full((100, 1, 28, 28), 255.0), r"lie in \[-1, 1\].*\[255, 255\].*127\.5"),
    (torch.zeros(100, 1, 28, 28).index_fill_(0, torch.tensor([7]), float("nan")),
     "training images must be finite, but it holds 784 NaN"),
])
def test_fit_rejects_bad_data(x: torch.Tensor, message: str) -> None:
    G, D = small_models()
    with pytest.raises(ValueError, match=message):
        runner.fit(G, D, x, TrainConfig(steps=1, **SMALL), device="cpu", progress=False)


def test_points_of_a_toy_problem_may_lie_outside_the_image_range() -> None:
    runner._check_data(torch.full((40, 2), 4.0), batch_size=32, num_classes=None)  # no error


# --- checkpoints, Ctrl-C, exact resume, divergence ---------------------------------------------

RESUME = TrainConfig(steps=12, d_steps=2, checkpoint_every=5, snapshot_every=3, log_every=1,
                     **SMALL)


def run(x, directory, config=RESUME, seed: int = 0, **kwargs):
    """Fresh models and optimizers, trained by fit; returns (G, D, optimizers, history)."""
    G, D = small_models(seed)
    optimizers = (torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters()))
    history = runner.fit(G, D, x, config, device="cpu", progress=False, checkpoint_dir=directory,
                        optimizers=optimizers, **kwargs)
    return G, D, optimizers, history


def assert_identical(a, b) -> None:
    """Bit-identical runs: weights, optimiser states, readings and snapshots."""
    (G1, D1, opts1, h1), (G2, D2, opts2, h2) = a, b
    for p, q in zip([*G1.parameters(), *D1.parameters()], [*G2.parameters(), *D2.parameters()]):
        assert torch.equal(p, q)
    for o1, o2 in zip(opts1, opts2):
        for s1, s2 in zip(o1.state.values(), o2.state.values()):
            assert all(torch.equal(s1[key], s2[key]) for key in ("step", "exp_avg", "exp_avg_sq"))
    for key in ("step", "d_loss", "g_loss", "d_x", "d_g_z"):
        assert getattr(h1, key) == getattr(h2, key), key
    assert [s for s, _ in h1.snapshots] == [s for s, _ in h2.snapshots]
    assert all(torch.equal(i1, i2) for (_, i1), (_, i2) in zip(h1.snapshots, h2.snapshots))


def calls_then(function, n: int, action):
    """Wrap ``function`` so that its n-th call first runs ``action(*args)``."""
    count = {"calls": 0}

    def wrapped(*args, **kwargs):
        count["calls"] += 1
        if count["calls"] == n:
            action(*args)
        return function(*args, **kwargs)
    return wrapped


@pytest.fixture
def x96(mnist_digits) -> torch.Tensor:
    return mnist_digits[0][:96]  # 3 minibatches per epoch: 12 steps x 2 D steps = 8 epochs


def test_ctrl_c_finishes_the_step_saves_it_and_resume_is_bit_identical(
        x96, tmp_path, monkeypatch) -> None:
    reference = run(x96, tmp_path / "reference")
    # a real SIGINT (what Ctrl-C sends) arrives during the 7th generator update
    monkeypatch.setattr(train, "g_step", calls_then(
        train.g_step, 7, lambda *args: os.kill(os.getpid(), signal.SIGINT)))
    with pytest.warns(RuntimeWarning, match=r"interrupted after step 7; .*at step 7"):
        *_, stopped = run(x96, tmp_path / "run")
    assert stopped.interrupted and stopped.step == list(range(1, 8))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    monkeypatch.undo()
    torch.manual_seed(1234)  # the resumed run must not depend on the global random state
    resumed = run(x96, tmp_path / "run", seed=5)  # other initial weights: all are replaced
    assert not resumed[3].interrupted
    assert_identical(resumed, reference)


def test_an_interrupt_inside_a_step_keeps_the_last_checkpoint(x96, tmp_path,
                                                              monkeypatch) -> None:
    reference = run(x96, tmp_path / "reference")

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "g_step", calls_then(train.g_step, 8, interrupt))
    with pytest.warns(RuntimeWarning, match=r"during step 8 .* at step 5"):
        *_, stopped = run(x96, tmp_path / "run")
    assert stopped.interrupted and stopped.step[-1] == 7
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt").step == 5
    monkeypatch.undo()
    assert_identical(run(x96, tmp_path / "run", seed=5), reference)


def test_a_longer_run_can_continue_a_finished_one(x96, tmp_path) -> None:
    reference = run(x96, tmp_path / "reference")
    first = run(x96, tmp_path / "run", dataclasses.replace(RESUME, steps=6))
    assert first[3].step[-1] == 6
    assert_identical(run(x96, tmp_path / "run", seed=5), reference)


def test_resume_false_starts_over(x96, tmp_path) -> None:
    run(x96, tmp_path / "run", dataclasses.replace(RESUME, steps=4, seed=3))
    assert_identical(run(x96, tmp_path / "run", resume=False), run(x96, tmp_path / "other"))


def test_resuming_with_other_settings_is_refused(x96, tmp_path) -> None:
    run(x96, tmp_path / "run", dataclasses.replace(RESUME, steps=2))
    with pytest.raises(ValueError, match=r"written with lr_d=0\.0002 but this config has "
                                         r"lr_d=0\.001; pass resume=False"):
        run(x96, tmp_path / "run", dataclasses.replace(RESUME, lr_d=1e-3))


def test_a_nan_in_the_data_stops_training_and_the_last_checkpoint_loads(
        x96, tmp_path, monkeypatch) -> None:
    def poison(D, opt_d, x_real, x_fake, *rest):
        x_real[0, 0, 0, 0] = float("nan")

    # the 15th D update is the first of step 8 (2 per step); checkpoints at steps 5 and 10
    monkeypatch.setattr(train, "d_step", calls_then(train.d_step, 15, poison))
    with pytest.raises(callbacks.TrainingDiverged, match=r"step 8: the D update gave non-finite "
                                                     r"values \(d_loss=nan.*step 7: d_loss=") \
            as caught:
        run(x96, tmp_path / "run")
    diverged = caught.value
    assert (diverged.step, diverged.network, diverged.last_finite[0]) == (8, "D", 7)
    assert diverged.history.step == list(range(1, 8))
    assert diverged.checkpoint == tmp_path / "run" / "checkpoint.pt"
    G, D = small_models(seed=3)
    assert load_checkpoint(diverged.checkpoint, G, D).step == 5
    assert all(torch.isfinite(p).all() for p in [*G.parameters(), *D.parameters()])


def test_a_non_finite_generator_loss_names_g(x96, monkeypatch) -> None:
    monkeypatch.setattr(train, "g_step", lambda *args: {"g_loss": torch.tensor(float("inf"))})
    with pytest.raises(callbacks.TrainingDiverged, match="step 1: the G update") as caught:
        run(x96, None)
    assert caught.value.last_finite is None and caught.value.checkpoint is None


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 20), batch_size=st.integers(1, 8), seed=st.integers(0, 2**32 - 1),
       start=st.integers(0, 30))
def test_minibatches_resume_at_any_position(n: int, batch_size: int, seed: int,
                                            start: int) -> None:
    assume(batch_size <= n)
    x = torch.arange(n, dtype=torch.float32)[:, None]
    whole = list(itertools.islice(data.minibatches(x, batch_size, seed), start + 5))
    resumed = list(itertools.islice(data.minibatches(x, batch_size, seed, start), 5))
    assert all(torch.equal(a, b) for a, b in zip(whole[start:], resumed))


def test_a_nan_between_read_backs_is_found_at_its_step_before_the_next_checkpoint(
        x96, tmp_path, monkeypatch) -> None:
    def poison(D, opt_d, x_real, x_fake, *rest):
        x_real[0, 0, 0, 0] = float("nan")

    # step 8's first D update is poisoned; readings are read back at steps 5 and 10, and the
    # checkpoint of step 10 must not be written
    monkeypatch.setattr(train, "d_step", calls_then(train.d_step, 15, poison))
    config = dataclasses.replace(RESUME, log_every=5)
    with pytest.raises(callbacks.TrainingDiverged, match="step 8: the D update") as caught:
        run(x96, tmp_path / "run", config)
    assert caught.value.last_finite[0] == 7 and caught.value.history.step == [5]
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt").step == 5


def test_a_dataset_is_checked_like_a_tensor(mnist_digits) -> None:
    G, D = small_models()
    config = TrainConfig(steps=1, **SMALL)
    with pytest.raises(ValueError, match="at least batch_size=32 examples, got 10"):
        runner.fit(G, D, PixelsDataset(mnist_digits[0][:10]), config, device="cpu")
    too_bright = torch.utils.data.TensorDataset(mnist_digits[0][:64] * 255)
    with pytest.raises(ValueError, match=r"lie in \[-1, 1\]"):
        runner.fit(G, D, too_bright, config, device="cpu")


def dcgan_losses(x: torch.Tensor, **flags) -> list[float]:
    seed_everything(0)
    G, D = DCGANGenerator(latent_dim=16, width=8), DCGANDiscriminator(width=8)
    config = TrainConfig(steps=6, log_every=1, snapshot_every=0, **SMALL, **flags)
    history = runner.fit(G, D, x, config, device="cpu", progress=False)
    assert all(p.is_contiguous(memory_format=torch.channels_last)
               for p in G.parameters() if p.dim() == 4) == flags.get("channels_last", False)
    return history.d_loss + history.g_loss


@pytest.mark.parametrize("flag, tolerance", [("channels_last", 1e-4), ("bf16", 0.05)])
def test_the_acceleration_flags_change_the_losses_only_by_rounding(
        mnist_digits, flag: str, tolerance: float) -> None:
    x = mnist_digits[0][:96]
    reference, accelerated = dcgan_losses(x), dcgan_losses(x, **{flag: True})
    assert accelerated != reference or flag == "channels_last"
    assert accelerated == pytest.approx(reference, abs=tolerance)


@pytest.mark.skipif(shutil.which("g++") is None, reason="torch.compile on the CPU needs g++")
def test_compiled_models_train_to_the_same_losses(mnist_digits) -> None:
    x, losses = mnist_digits[0][:96], []
    for compile_ in (False, True):
        G, D = small_models()
        config = TrainConfig(steps=3, log_every=1, snapshot_every=0, compile=compile_, **SMALL)
        history = runner.fit(G, D, x, config, device="cpu", progress=False)
        losses.append(history.d_loss + history.g_loss)
    assert losses[1] == pytest.approx(losses[0], abs=1e-5)


def test_resume_with_the_default_fused_adam_is_bit_identical(x96, tmp_path) -> None:
    config = dataclasses.replace(RESUME, d_steps=1)
    histories = []
    for directory, stops in ((tmp_path / "straight", ()), (tmp_path / "stopped", (5,))):
        G, D = small_models()
        for steps in (*stops, config.steps):
            history = runner.fit(G, D, x96, dataclasses.replace(config, steps=steps),
                                device="cpu", progress=False, checkpoint_dir=directory)
        histories.append(history)
    assert histories[0].d_loss == histories[1].d_loss
    assert histories[0].g_loss == histories[1].g_loss


# --- every loss of the registry, R1, and the labels path --------------------------------------

@pytest.mark.parametrize("loss, d_steps", [("wasserstein-gp", 5), ("hinge", 1),
                                           ("saturating", 1)])
def test_every_registry_loss_trains_the_mnist_dcgan_through_fit(mnist_digits, loss: str,
                                                                d_steps: int) -> None:
    seed_everything(0)
    G, D = DCGANGenerator(latent_dim=16, width=8), DCGANDiscriminator(width=8)
    config = TrainConfig(steps=3, d_steps=d_steps, loss=loss, log_every=1, snapshot_every=0,
                         **SMALL)
    opt_d = torch.optim.Adam(D.parameters())
    history = runner.fit(G, D, mnist_digits[0][:192], config, device="cpu", progress=False,
                        optimizers=(torch.optim.Adam(G.parameters()), opt_d))
    assert adam_steps(opt_d) == 3 * d_steps
    readings = [history.d_loss, history.g_loss, history.real_score, history.fake_score]
    assert all(len(values) == 3 and all(map(math.isfinite, values)) for values in readings)
    sigmoid = loss == "saturating"
    assert (len(history.d_x), len(history.d_g_z)) == ((3, 3) if sigmoid else (0, 0))


class LinearCritic(torch.nn.Module):
    """D(x) = w . x + b on 2-D points: its input gradient is w everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).squeeze(1)


@pytest.mark.parametrize("loss", ["nonsaturating", "hinge"])
def test_r1_adds_gamma_over_two_times_the_squared_input_gradient(loss: str) -> None:
    # Mescheder et al. 2018, Eq. 9 on a linear D: R1 = gamma / 2 * ||w||^2, in closed form
    x_real, x_fake = torch.randn(16, 2), torch.randn(16, 2)
    d_losses = {}
    for gamma in (0.0, 3.0):
        torch.manual_seed(0)
        D = LinearCritic()
        w = D.linear.weight.detach().clone()
        opt = torch.optim.SGD(D.parameters(), lr=0.0)
        d_losses[gamma] = train.d_step(D, opt, x_real, x_fake, loss, r1_gamma=gamma)["d_loss"]
    assert d_losses[3.0] - d_losses[0.0] == pytest.approx(1.5 * float((w ** 2).sum()), rel=1e-5)


def test_wasserstein_gp_adds_the_gradient_penalty_in_closed_form() -> None:
    # a linear critic has ||grad|| = ||w|| on every interpolate: penalty lambda (||w|| - 1)^2
    torch.manual_seed(0)
    D = LinearCritic()
    x_real, x_fake = torch.randn(16, 2), torch.randn(16, 2)
    norm = float(D.linear.weight.detach().norm())
    stats = train.d_step(D, torch.optim.SGD(D.parameters(), lr=0.0), x_real, x_fake,
                         "wasserstein-gp", lambda_gp=10.0)
    wasserstein = float(stats["fake_score"] - stats["real_score"])
    assert float(stats["d_loss"]) == pytest.approx(wasserstein + 10 * (norm - 1) ** 2, rel=1e-5)
    assert "d_x" not in stats  # a critic has no probabilities


def conditional_models(kind: str, seed: int = 0):
    seed_everything(seed)
    if kind == "mlp":
        return (MLPGenerator(latent_dim=16, hidden=(32, 64), num_classes=10),
                MLPDiscriminator(hidden=(64, 32), num_classes=10))
    return (DCGANGenerator(latent_dim=16, width=8, num_classes=10),
            DCGANDiscriminator(width=8, num_classes=10))


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_a_conditional_gan_trains_through_fit_on_images_and_labels(mnist_digits,
                                                                   kind: str) -> None:
    x, y = mnist_digits[0][::10], mnist_digits[1][::10]  # 500 digits, 50 per class
    G, D = conditional_models(kind)
    seen = []
    G.register_forward_hook(lambda module, inputs, output: seen.append(inputs[1]))
    history = runner.fit(G, D, (x, y), TrainConfig(steps=4, log_every=1, snapshot_every=2,
                                                  **SMALL),
                        device="cpu", progress=False, fixed_z=torch.randn(20, 16))
    assert len(history.d_loss) == 4 and all(map(math.isfinite, history.d_loss + history.g_loss))
    snapshot_labels, train_labels = seen[0], seen[1]
    assert torch.equal(snapshot_labels, torch.arange(20) % 10)  # fixed_labels for the grid
    assert train_labels.dtype == torch.int64 and len(train_labels) == 32
    assert all(images.shape == (20, 1, 28, 28) for _, images in history.snapshots)


def test_a_conditional_gan_takes_a_dataset_of_pairs(mnist_digits) -> None:
    x, y = mnist_digits[0][::10], mnist_digits[1][::10]
    config = TrainConfig(steps=3, log_every=1, snapshot_every=0, **SMALL)
    histories = []
    for source in ((x, y), torch.utils.data.TensorDataset(x, y)):
        G, D = conditional_models("mlp")
        histories.append(runner.fit(G, D, source, config, device="cpu", progress=False))
    assert histories[0].d_loss == histories[1].d_loss
    assert histories[0].g_loss == histories[1].g_loss


@pytest.mark.parametrize("labels, message", [
    (None, "conditional .* needs labelled data"),
    ("float", r"training labels must be class labels of shape \(500,\) and dtype int64"),
    ("short", r"training labels must be class labels of shape \(500,\)"),
    ("range", r"training labels must lie in \[0, 9\] .* \[0, 10\]"),
])
def test_fit_refuses_bad_labels_for_a_conditional_gan(mnist_digits, labels, message) -> None:
    x, y = mnist_digits[0][::10], mnist_digits[1][::10]
    data = {None: x, "float": (x, y.float()), "short": (x, y[:-1]),
            "range": (x, torch.where(y == 9, 10, y))}[labels]
    G, D = conditional_models("mlp")
    with pytest.raises(ValueError, match=message):
        runner.fit(G, D, data, TrainConfig(steps=1, **SMALL), device="cpu", progress=False)


def test_g_and_d_must_agree_on_conditioning(mnist_digits) -> None:
    G, _ = conditional_models("mlp")
    with pytest.raises(ValueError, match="G.num_classes=10 and D.num_classes=None"):
        runner.fit(G, MLPDiscriminator(hidden=(64, 32)), mnist_digits, TrainConfig(steps=1),
                  device="cpu", progress=False)


def test_a_conditional_run_resumes_bit_identically(mnist_digits, tmp_path) -> None:
    xy = (mnist_digits[0][::50], mnist_digits[1][::50])  # 100 digits
    config = TrainConfig(steps=8, checkpoint_every=3, log_every=1, snapshot_every=4, **SMALL)
    results = []
    for directory, stops in ((tmp_path / "straight", ()), (tmp_path / "stopped", (3,))):
        G, D = conditional_models("mlp")
        for steps in (*stops, config.steps):
            history = runner.fit(G, D, xy, dataclasses.replace(config, steps=steps),
                                device="cpu", progress=False, checkpoint_dir=directory)
        results.append((G, D, history))
    (G1, D1, h1), (G2, D2, h2) = results
    assert h1.d_loss == h2.d_loss and h1.g_loss == h2.g_loss and h1.d_x == h2.d_x
    assert all(torch.equal(p, q) for p, q in zip([*G1.parameters(), *D1.parameters()],
                                                  [*G2.parameters(), *D2.parameters()]))


def test_ctrl_c_and_the_divergence_guard_work_for_a_conditional_gan(mnist_digits, tmp_path,
                                                                     monkeypatch) -> None:
    xy = (mnist_digits[0][::50], mnist_digits[1][::50])  # 100 digits, 10 per class
    config = TrainConfig(steps=8, checkpoint_every=3, log_every=1, snapshot_every=4, **SMALL)

    def conditional_run(directory, seed: int = 0):
        G, D = conditional_models("mlp", seed)
        return G, D, runner.fit(G, D, xy, config, device="cpu", progress=False,
                               checkpoint_dir=directory)

    G_ref, D_ref, reference = conditional_run(tmp_path / "reference")
    monkeypatch.setattr(train, "g_step", calls_then(
        train.g_step, 5, lambda *args: os.kill(os.getpid(), signal.SIGINT)))
    with pytest.warns(RuntimeWarning, match=r"interrupted after step 5; .*at step 5"):
        *_, stopped = conditional_run(tmp_path / "run")
    assert stopped.interrupted and stopped.step[-1] == 5
    monkeypatch.undo()
    G, D, resumed = conditional_run(tmp_path / "run", seed=5)
    assert resumed.d_loss == reference.d_loss and resumed.g_loss == reference.g_loss
    assert all(torch.equal(p, q) for p, q in zip([*G.parameters(), *D.parameters()],
                                                  [*G_ref.parameters(), *D_ref.parameters()]))

    def poison(D, opt_d, x_real, x_fake, *rest):
        x_real[0, 0, 0, 0] = float("nan")

    monkeypatch.setattr(train, "d_step", calls_then(train.d_step, 4, poison))
    with pytest.raises(callbacks.TrainingDiverged, match="step 4: the D update") as caught:
        conditional_run(tmp_path / "diverged")
    assert load_checkpoint(caught.value.checkpoint).step == 3
