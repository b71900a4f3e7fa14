import pytest
import torch

from gan_tutorial import train
from gan_tutorial.checkpoint import load_checkpoint
from gan_tutorial.config import TrainConfig
from gan_tutorial.losses import g_loss_nonsaturating
from gan_tutorial.models import MLPDiscriminator, MLPGenerator
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
        history = train.fit(G, D, x, TrainConfig(steps=2, **SMALL), device="cpu", progress=False)
        runs.append((history.d_loss, history.g_loss, history.d_x, history.d_g_z))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == 2


def test_d_step_updates_only_d_and_reports_probabilities(mnist_digits) -> None:
    G, D = small_models()
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    g_before, d_before = params(G), params(D)
    stats = train.d_step(G, D, opt_d, mnist_digits[0][:32], torch.randn(32, 16))
    assert changed(d_before, D) and not changed(g_before, G)
    assert all(p.grad is None for p in G.parameters())  # the fake batch was detached
    assert set(stats) == {"d_loss", "d_x", "d_g_z"}
    assert 0 < stats["d_x"] < 1 and 0 < stats["d_g_z"] < 1 and stats["d_loss"] > 0


def test_g_step_updates_only_g_and_lowers_its_loss() -> None:
    G, D = small_models()
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    d_before, g_before = params(D), params(G)
    z = torch.randn(32, 16)
    first = train.g_step(G, D, opt_g, z, g_loss_nonsaturating)["g_loss"]
    assert changed(g_before, G) and not changed(d_before, D)
    for _ in range(20):
        last = train.g_step(G, D, opt_g, z, g_loss_nonsaturating)["g_loss"]
    assert last < first  # G learns to fool a fixed D


def test_d_steps_makes_k_discriminator_updates_per_generator_update(mnist_digits) -> None:
    G, D = small_models()
    opt_g = torch.optim.Adam(G.parameters())
    opt_d = torch.optim.Adam(D.parameters())
    train.fit(G, D, mnist_digits[0][:256], TrainConfig(steps=3, d_steps=4, **SMALL),
              device="cpu", progress=False, optimizers=(opt_g, opt_d))
    adam_steps = lambda opt: int(next(iter(opt.state.values()))["step"])  # noqa: E731
    assert (adam_steps(opt_g), adam_steps(opt_d)) == (3, 12)


def test_history_logging_and_snapshots(mnist_digits) -> None:
    G, D = small_models()
    config = TrainConfig(steps=7, log_every=3, snapshot_every=2, **SMALL)
    history = train.fit(G, D, mnist_digits[0][:256], config, device="cpu", progress=False,
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
    history = train.fit(G, D, mnist_digits[0][:512], TrainConfig(steps=30, lr_d=1e-3, **SMALL),
                        device="cpu", progress=False)
    assert history.d_x[-1] > history.d_g_z[-1]


@pytest.mark.parametrize("x, message", [
    (torch.zeros(100), r"shape \(N, \.\.\.\)"),
    (torch.zeros(10, 1, 28, 28), "at least batch_size=32"),
    (torch.zeros(100, 1, 28, 28, dtype=torch.uint8), r"float tensor .* torch.uint8"),
])
def test_fit_rejects_bad_data(x: torch.Tensor, message: str) -> None:
    G, D = small_models()
    with pytest.raises(ValueError, match=message):
        train.fit(G, D, x, TrainConfig(steps=1, **SMALL), device="cpu", progress=False)


def test_ctrl_c_keeps_the_models_and_the_last_checkpoint(mnist_digits, monkeypatch,
                                                         tmp_path) -> None:
    G, D = small_models()
    real_g_step = train.g_step
    calls = {"n": 0}

    def interrupted_g_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_g_step(*args, **kwargs)

    monkeypatch.setattr(train, "g_step", interrupted_g_step)
    path = tmp_path / "run.pt"
    with pytest.warns(RuntimeWarning, match="interrupted during step 4"):
        history = train.fit(G, D, mnist_digits[0][:256], TrainConfig(steps=10, **SMALL),
                            device="cpu", progress=False, checkpoint_path=path)
    assert history.interrupted and history.step == [1, 2, 3]
    G2, D2 = small_models(seed=1)
    step, config = load_checkpoint(path, G2, D2)
    assert step == 3 and config.steps == 10
    assert all(torch.equal(a, b) for a, b in zip(G.parameters(), G2.parameters()))


def test_periodic_checkpoints(mnist_digits, tmp_path) -> None:
    G, D = small_models()
    path = tmp_path / "run.pt"
    train.fit(G, D, mnist_digits[0][:256], TrainConfig(steps=5, checkpoint_every=2, **SMALL),
              device="cpu", progress=False, checkpoint_path=path)
    step, _ = load_checkpoint(path, *small_models(seed=2))
    assert step == 5
