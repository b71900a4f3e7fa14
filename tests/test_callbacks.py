"""The teaching core's hook and each callback of gan_tutorial.callbacks, on its own."""

import math
import signal
import threading
from pathlib import Path

import pytest
import torch

from gan_tutorial import callbacks, models, runner
from gan_tutorial.callbacks import (
    EMA,
    CallbackList,
    Checkpoints,
    History,
    ImagePool,
    ProgressBar,
    ReadBack,
    Snapshots,
    StopOnCtrlC,
    TimeLimit,
    TrainingDiverged,
    ema_generator,
)
from gan_tutorial.checkpoint import load_checkpoint
from gan_tutorial.config import TrainConfig
from gan_tutorial.data import minibatch_indices, uint8_to_model_range
from gan_tutorial.models import MLPDiscriminator, MLPGenerator
from gan_tutorial.sampling import fixed_latents
from gan_tutorial.train import Callback, training_loop
from gan_tutorial.utils import seed_everything

CONFIG = TrainConfig(steps=6, batch_size=8, latent_dim=4, log_every=2, snapshot_every=0,
                     checkpoint_every=3)


def tiny(seed: int = 0) -> tuple[MLPGenerator, MLPDiscriminator]:
    seed_everything(seed)
    return (MLPGenerator(latent_dim=4, img_shape=(1, 4, 4), hidden=(8,)),
            MLPDiscriminator(img_shape=(1, 4, 4), hidden=(8,)))


def batches(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield torch.rand(8, 1, 4, 4, generator=generator) * 2 - 1, None


def adam(G, D):
    return runner.make_optimizers(G, D, CONFIG)


def logs(**values: float) -> dict[str, torch.Tensor]:
    base = {"d_loss": 1.0, "g_loss": 0.7, "real_score": 0.1, "fake_score": -0.1, "d_x": 0.5,
            "d_g_z": 0.5}
    return {key: torch.tensor(value) for key, value in (base | values).items()}


class Recorder(Callback):
    def __init__(self, stop_at: int | None = None) -> None:
        self.steps, self.fakes, self.stop_at = [], [], stop_at

    def on_fakes(self, x_fake, y):
        self.fakes.append(x_fake)
        return x_fake

    def on_step_end(self, step, logs):
        self.steps.append(step)
        return step == self.stop_at


# --- training_loop's hook --------------------------------------------------------------------

def test_training_loop_runs_from_start_and_returns_the_last_step() -> None:
    G, D = tiny()
    recorder = Recorder()
    assert training_loop(G, D, *adam(G, D), batches(), CONFIG, recorder, start=2) == 6
    assert recorder.steps == [3, 4, 5, 6]


def test_a_callback_returning_true_stops_after_that_step() -> None:
    G, D = tiny()
    recorder = Recorder(stop_at=2)
    assert training_loop(G, D, *adam(G, D), batches(), CONFIG, recorder) == 2
    assert recorder.steps == [1, 2]


def test_g_builds_no_graph_for_the_first_k_minus_1_d_updates() -> None:
    G, D = tiny()
    recorder = Recorder()
    config = TrainConfig(steps=2, batch_size=8, latent_dim=4, d_steps=3)
    training_loop(G, D, *adam(G, D), batches(), config, recorder)
    assert [x.requires_grad for x in recorder.fakes] == [False, False, True] * 2


def test_the_loop_with_no_callback_trains_both_networks() -> None:
    G, D = tiny()
    before = [p.detach().clone() for p in (*G.parameters(), *D.parameters())]
    training_loop(G, D, *adam(G, D), batches(), CONFIG)
    after = list(G.parameters()) + list(D.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(before, after))


# --- composing ------------------------------------------------------------------------------

def test_callback_list_chains_fakes_in_order_and_asks_every_callback() -> None:
    class Add(Callback):
        def __init__(self, amount: float, stop: bool) -> None:
            self.amount, self.stop, self.calls = amount, stop, 0

        def on_fakes(self, x_fake, y):
            return x_fake * 10 + self.amount

        def on_step_end(self, step, logs):
            self.calls += 1
            return self.stop

    first, second = Add(1, stop=True), Add(2, stop=False)
    both = CallbackList([first, second])
    assert both.on_fakes(torch.zeros(1), None).item() == 12  # (0 * 10 + 1) * 10 + 2
    assert both.on_step_end(1, {}) is True
    assert first.calls == second.calls == 1
    assert CallbackList([second]).on_step_end(1, {}) is False


def test_the_image_pool_is_its_own_on_fakes() -> None:
    pool, x = ImagePool(4), torch.randn(4, 3)
    assert pool.on_fakes(x, None) is x and torch.equal(pool.images, x)


def test_ema_callback_averages_g_after_each_step() -> None:
    G, _ = tiny()
    ema = ema_generator(G, 0.75)
    callback = EMA(ema, G)
    callback.on_step_end(1, {})  # AveragedModel's first update copies G
    first = [p.detach().clone() for p in G.parameters()]
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    callback.on_step_end(2, {})  # then 0.75 * average + 0.25 * G
    for average, g in zip(ema.module.parameters(), first):
        torch.testing.assert_close(average, g + 0.25)


def _bn_net() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))


@pytest.mark.parametrize("buffers", [True, False])
def test_ema_generator_averages_the_buffers_only_when_asked(buffers: bool) -> None:
    G = _bn_net()
    ema = ema_generator(G, 0.5, buffers=buffers)
    ema.update_parameters(G)  # the first update copies G
    with torch.no_grad():
        G(torch.randn(16, 3) + 5.0)  # train mode: G's running statistics move
        for p in G.parameters():
            p.add_(2.0)
    ema.update_parameters(G)
    bn, bn_ema = G[1], ema.module[1]
    torch.testing.assert_close(bn_ema.weight, torch.full((4,), 2.0))  # 0.5 * 1 + 0.5 * 3
    assert bn.running_mean.abs().min() > 0.01  # moved from the fresh zeros
    if buffers:  # averaged: 0.5 * (fresh zeros) + 0.5 * G's
        torch.testing.assert_close(bn_ema.running_mean, 0.5 * bn.running_mean)
    else:  # copied from G: statistics of G's weights, not of the average
        assert torch.equal(bn_ema.running_mean, bn.running_mean)
        assert torch.equal(bn_ema.running_var, bn.running_var)
    with pytest.raises(ValueError, match="buffers must be True or False"):
        ema_generator(G, 0.5, buffers=1)


def _pre_norm_inputs(G: torch.nn.Module, z: torch.Tensor) -> list[torch.Tensor]:
    """The input of each BatchNorm2d of G for z, G in train mode (batch statistics)."""
    seen: list[torch.Tensor] = []
    norms = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach()))
             for m in norms]
    G.train()
    with torch.no_grad():
        G(z)
    for hook in hooks:
        hook.remove()
    return seen


def test_recompute_batch_norm_gives_the_statistics_of_g_own_samples() -> None:
    torch.manual_seed(0)
    G = models.DCGANGenerator(latent_dim=8, width=4)
    G.apply(models.init_dcgan_weights)
    norms = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in norms:  # stale statistics, as an EMA of the weights would carry
        m.running_mean.fill_(3.0)
        m.running_var.fill_(9.0)
    G.eval()
    params = [p.detach().clone() for p in G.parameters()]
    rng = torch.get_rng_state()
    assert callbacks.recompute_batch_norm(G, n_batches=3, batch_size=16, seed=5) is G
    assert not G.training and all(m.momentum == 0.1 for m in norms)
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), params))
    assert torch.equal(torch.get_rng_state(), rng)
    stats = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    z = fixed_latents(48, 8, seed=5)  # what it drew; these passes move the statistics again
    batches = [_pre_norm_inputs(G, chunk) for chunk in z.split(16)]
    G.eval()
    for i, (running_mean, running_var) in enumerate(stats):
        inputs = [batch[i] for batch in batches]  # (16, C, H, W) each
        mean = torch.cat(inputs).mean(dim=(0, 2, 3))
        var = torch.stack([x.var(dim=(0, 2, 3), unbiased=True) for x in inputs]).mean(0)
        torch.testing.assert_close(running_mean, mean, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(running_var, var, rtol=1e-4, atol=1e-6)
    G.train()
    callbacks.recompute_batch_norm(G, n_batches=3, batch_size=16, seed=5)
    assert G.training and all(int(m.num_batches_tracked) == 3 for m in norms)
    assert all(torch.equal(m.running_mean, mean) for m, (mean, _) in zip(norms, stats))


def test_recompute_batch_norm_conditional_plain_and_bad_inputs() -> None:
    G = models.DCGANGenerator(latent_dim=8, width=4, num_classes=10)
    callbacks.recompute_batch_norm(G, n_batches=1, batch_size=10)
    assert int(G.net[2].num_batches_tracked) == 1
    plain = MLPGenerator(latent_dim=4, img_shape=(1, 4, 4), hidden=(8,))
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in plain.modules())
    assert callbacks.recompute_batch_norm(plain) is plain
    for bad, match in ((dict(n_batches=0), "n_batches must be an integer >= 1"),
                       (dict(batch_size=1), "batch_size must be an integer >= 2"),
                       (dict(seed=-1), "seed must be an integer")):
        with pytest.raises(ValueError, match=match):
            callbacks.recompute_batch_norm(G, **bad)
    with pytest.raises(ValueError, match="latent_dim"):
        callbacks.recompute_batch_norm(torch.nn.BatchNorm1d(3))


# --- read-back and the divergence guard -------------------------------------------------------

def test_read_back_records_every_log_every_steps_and_the_last() -> None:
    G, D = tiny()
    history = History()
    read_back = ReadBack(G, D, *adam(G, D), CONFIG, history)
    for step in range(1, 7):
        read_back.on_step_end(step, logs(d_loss=step))
        assert len(read_back.pending) == step % 2
    assert history.step == [2, 4, 6] and history.d_loss == [2.0, 4.0, 6.0]
    assert len(history.wall_time) == 3 and history.d_x == [0.5] * 3


@pytest.mark.parametrize(("bad", "network"), [("real_score", "D"), ("d_x", "D"),
                                              ("fake_score", "G"), ("d_loss", "D"),
                                              ("g_loss", "G")])
def test_read_back_names_the_step_and_network_of_a_non_finite_log(bad: str, network: str) -> None:
    G, D = tiny()
    read_back = ReadBack(G, D, *adam(G, D), CONFIG, History())
    read_back.on_step_end(1, logs())
    with pytest.raises(TrainingDiverged, match=f"at step 2: the {network} update") as caught:
        read_back.on_step_end(2, logs(**{bad: math.nan}))
    assert caught.value.last_finite[0] == 1 and caught.value.checkpoint is None


def test_the_weights_are_checked_once_per_step_however_many_callbacks_ask(monkeypatch) -> None:
    G, D = tiny()
    read_back, calls = ReadBack(G, D, *adam(G, D), CONFIG, History()), []
    all_finite = callbacks._all_finite
    monkeypatch.setattr(callbacks, "_all_finite", lambda *a: calls.append(1) or all_finite(*a))
    read_back.check_weights(3)
    read_back.check_weights(3)
    assert len(calls) == 2  # G and D, once
    read_back.check_weights(4)
    assert len(calls) == 4


def test_read_back_checks_the_weights_after_the_last_step() -> None:
    G, D = tiny()
    read_back = ReadBack(G, D, *adam(G, D), CONFIG, History())
    with torch.no_grad():
        next(G.parameters())[0, 0] = math.inf
    read_back.on_step_end(5, logs())  # not the last step: no weight check
    with pytest.raises(TrainingDiverged, match="non-finite weights or optimiser state in G"):
        read_back.on_step_end(6, logs())


def test_progress_bar_counts_steps_and_shows_the_last_logged_losses() -> None:
    history = History(step=[2], d_loss=[1.25], g_loss=[0.5], d_x=[0.75], d_g_z=[0.25])
    bar = ProgressBar(history, total=6, start=1)
    bar.on_step_end(2, {})
    assert bar.bar.n == 2
    assert bar.bar.postfix == "D=1.250, G=0.500, D(x)=0.750, D(G(z))=0.250"
    bar.close()


def test_snapshots_every_n_steps_in_eval_mode_and_back_to_train_mode() -> None:
    G, D = tiny()
    G.train()
    history = History()
    read_back = ReadBack(G, D, *adam(G, D), CONFIG, history)
    snapshots = Snapshots(G, (torch.zeros(3, 4),), every=2, read_back=read_back)
    snapshots.take(0)
    for step in (1, 2, 3):
        read_back.on_step_end(step, logs())
        snapshots.on_step_end(step, logs())
    assert [step for step, _ in history.snapshots] == [0, 2]
    assert history.snapshots[1][1].shape == (3, 1, 4, 4) and G.training


def test_checkpoints_are_written_when_due_and_never_after_a_bad_step(tmp_path: Path) -> None:
    G, D = tiny()
    opt_g, opt_d = adam(G, D)
    read_back = ReadBack(G, D, opt_g, opt_d, CONFIG, History())
    path = tmp_path / "checkpoint.pt"
    checkpoints = Checkpoints(path, G, D, opt_g, opt_d, CONFIG, read_back)
    for step in (1, 2, 3):
        read_back.on_step_end(step, logs())
        checkpoints.on_step_end(step, logs())
    assert checkpoints.saved == 3 and load_checkpoint(path).step == 3
    assert read_back.checkpoint == path
    with torch.no_grad():
        next(D.parameters())[0, 0] = math.nan
    with pytest.raises(TrainingDiverged, match=f"{path} is left as it was"):
        checkpoints.save(4)
    assert load_checkpoint(path).step == 3


def test_time_limit_stops_after_the_first_step_past_it() -> None:
    assert TimeLimit(1e-9).on_step_end(1, {}) is True
    assert TimeLimit(3600).on_step_end(1, {}) is False
    for bad in (0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="seconds"):
            TimeLimit(bad)


def test_stop_on_ctrl_c_ends_after_the_current_step_and_knows_where_it_is() -> None:
    inner = Recorder()
    ctrl_c = StopOnCtrlC(inner, start=4)
    assert (ctrl_c.completed, ctrl_c.between_steps) == (4, False)
    assert ctrl_c.on_step_end(5, {}) is False
    assert (ctrl_c.completed, ctrl_c.between_steps) == (5, False)  # step 6 begins now
    ctrl_c.requested.set()
    assert ctrl_c.on_step_end(6, {}) is True
    assert (ctrl_c.completed, ctrl_c.between_steps) == (6, True)
    assert inner.steps == [5, 6]


def test_stop_on_ctrl_c_installs_its_handler_and_restores_the_previous_one() -> None:
    before = signal.getsignal(signal.SIGINT)
    ctrl_c = StopOnCtrlC(Callback())
    with ctrl_c.installed():
        handler = signal.getsignal(signal.SIGINT)
        assert handler is not before
        handler(signal.SIGINT, None)  # the first Ctrl-C only asks to stop
        assert ctrl_c.requested.is_set()
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)  # the second stops at once
    assert signal.getsignal(signal.SIGINT) is before


def test_stop_on_ctrl_c_leaves_signals_alone_outside_the_main_thread() -> None:
    before, seen = signal.getsignal(signal.SIGINT), []

    def run() -> None:
        with StopOnCtrlC(Callback()).installed():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [before]


# --- the helpers -----------------------------------------------------------------------------

def test_make_optimizers_builds_adam_or_rmsprop_for_each_network() -> None:
    G, D = tiny()
    config = TrainConfig(lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9)
    opt_g, opt_d = runner.make_optimizers(G, D, config, fused=True)
    assert isinstance(opt_g, torch.optim.Adam) and opt_g.defaults["fused"]
    assert (opt_g.defaults["lr"], opt_d.defaults["lr"]) == (1e-4, 4e-4)
    assert opt_d.defaults["betas"] == (0.0, 0.9)
    assert {id(p) for p in opt_g.param_groups[0]["params"]} == {id(p) for p in G.parameters()}
    rms_g, rms_d = runner.make_optimizers(G, D, config, "rmsprop")
    assert isinstance(rms_d, torch.optim.RMSprop) and rms_d.defaults["lr"] == 4e-4
    with pytest.raises(ValueError, match="kind must be one of"):
        runner.make_optimizers(G, D, config, "sgd")


def test_uint8_pixels_map_to_the_range_of_g() -> None:
    pixels = torch.tensor([0, 255] + [128] * 782, dtype=torch.uint8)
    x = uint8_to_model_range(pixels)
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    assert x.flatten()[:3].tolist() == pytest.approx([-1.0, 1.0, 128 / 127.5 - 1], abs=1e-6)


def test_labels_checked_skips_only_the_range_read_and_restores_the_check() -> None:
    G = models.DCGANGenerator(latent_dim=4, width=8, num_classes=10)
    z, wrong = torch.zeros(2, 4), torch.tensor([0, 10])
    with pytest.raises(ValueError, match=r"must lie in \[0, 9\]"):
        G(z, wrong)
    with models.labels_checked(G):
        assert G.labels_checked
        G(z, torch.tensor([0, 9]))
        with pytest.raises(ValueError, match="dtype int64"):
            G(z, torch.tensor([0.0, 1.0]))  # shape and dtype are still checked
    assert not G.labels_checked
    with pytest.raises(ValueError, match=r"must lie in \[0, 9\]"):
        G(z, wrong)


def test_fit_checks_the_labels_of_every_dataset_item_as_it_is_read() -> None:
    # fit reads the first minibatch (seed 0) whole before training; the bad item is not in it
    first = next(minibatch_indices(64, 32, seed=0)).tolist()
    bad = min(set(range(64)) - set(first))

    class Labelled(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 64

        def __getitem__(self, index: int):
            return torch.zeros(1, 28, 28) - 0.5, (11 if index == bad else index % 10)

    G = models.DCGANGenerator(latent_dim=4, width=8, num_classes=10)
    D = models.DCGANDiscriminator(width=8, num_classes=10)
    config = TrainConfig(steps=4, batch_size=32, latent_dim=4, snapshot_every=0, seed=1)
    with pytest.raises(ValueError, match=rf"dataset item {bad} has the label 11, outside \[0, 9\]"):
        runner.fit(G, D, Labelled(), config, device="cpu", progress=False)
    assert not G.labels_checked and not D.labels_checked


# --- one loop -------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
#: The files besides train.py that call .backward(), and why each may.
OWN_BACKWARD = {
    "gan_tutorial/classifier.py": "trains the MNIST classifier, not a GAN",
    "benchmarks/train_evaluator.py": "re-trains that classifier",
    "benchmarks/throughput.py": "the naive tutorial loop is what that benchmark measures",
    "gan_tutorial/experiments/applications.py": "pix2pix: G maps images to images, no z",
    "gan_tutorial/experiments/mode_collapse.py": "the stacked torch.func trainer of the study",
}


def test_every_other_gan_trains_through_training_loop() -> None:
    files = [*ROOT.glob("gan_tutorial/**/*.py"), *ROOT.glob("benchmarks/*.py")]
    # a loop of its own calls .backward() or steps G's optimiser itself (the stacked trainer
    # takes its gradients with torch.autograd.grad and hands them to opt_g.step)
    calling = {str(path.relative_to(ROOT)) for path in files
               if any(call in path.read_text() for call in (".backward(", "opt_g.step("))
               and path.name != "train.py"}
    assert calling == set(OWN_BACKWARD)
    assert "training_loop(" in (ROOT / "gan_tutorial/experiments/stacked_mnist.py").read_text()
    assert "training_loop(" in (ROOT / "benchmarks/stabilising.py").read_text()
    train = (ROOT / "gan_tutorial/train.py").read_text()
    assert len(train.splitlines()) <= 150
    imports = {line.split()[1] for line in train.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports == {"__future__", "contextlib", "collections.abc", "typing", "torch",
                       ".config", ".losses"}
