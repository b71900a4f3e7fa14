"""Fault injection: the 22 cases of the reliability sweep (issue 20), one or more tests each.

Each test names its item. Where the fault used to kill the interpreter (a segfault in the BLAS,
an out-of-bounds write of fused Adam), or needs a process killed, it runs in a subprocess and
checks the exit code. Tiny models throughout.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_tutorial import (callbacks, checkpoint, data, losses, models, plot, runner, sampling,
                          utils, validation)
from gan_tutorial.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gan_tutorial.config import TrainConfig
from gan_tutorial.validation import check_images

ROOT = Path(__file__).resolve().parents[1]
TINY = {"latent_dim": 4, "batch_size": 8, "snapshot_every": 0, "log_every": 1}


def tiny(seed: int = 0) -> tuple[models.MLPGenerator, models.MLPDiscriminator]:
    torch.manual_seed(seed)
    return (models.MLPGenerator(latent_dim=4, img_shape=(1, 4, 4), hidden=(8,)),
            models.MLPDiscriminator(img_shape=(1, 4, 4), hidden=(8,)))


def images(n: int = 32, seed: int = 0) -> torch.Tensor:
    """n images (n, 1, 4, 4) spread over [-1, 1]."""
    return torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def fit(G, D, x, directory=None, optimizers=None, **settings):
    return runner.fit(G, D, x, TrainConfig(**{**TINY, **settings}), device="cpu",
                     progress=False, checkpoint_dir=directory, optimizers=optimizers)


def weights(*modules: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def a_checkpoint(path: Path, step: int = 3, **kwargs) -> tuple:
    """Save tiny models whose Adam optimisers have taken one step."""
    G, D = tiny()
    opt_g, opt_d = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    G(torch.randn(2, 4)).sum().backward()
    D(images(2)).sum().backward()
    opt_g.step()
    opt_d.step()
    save_checkpoint(path, G, D, opt_g, opt_d, TrainConfig(**TINY, steps=5), step, **kwargs)
    return G, D, opt_g, opt_d


def tamper(path: Path, change) -> None:
    """Rewrite a checkpoint after ``change(state)``, with a matching digest (a file that is
    intact but holds a wrong value, as an older or hostile writer could produce)."""
    state = torch.load(path, weights_only=True)
    change(state)
    state["sha256"] = checkpoint.content_digest(state)
    torch.save(state, path)


def python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with this checkout on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


# --- Data lost ---------------------------------------------------------------------------------

def test_item01_an_update_to_infinite_weights_is_named_g_and_never_saved(tmp_path) -> None:
    G, D = tiny()
    with pytest.raises(callbacks.TrainingDiverged, match="non-finite weights or optimiser state "
                                                     "in G") as caught:
        fit(G, D, images(), tmp_path, lr_g=1e300, checkpoint_every=1, steps=3)
    assert (caught.value.step, caught.value.network, caught.value.checkpoint) == (1, "G", None)
    assert not (tmp_path / "checkpoint.pt").exists()  # step 1 was the bad one: nothing saved


class ExplodesAt(torch.optim.Adam):
    """Adam that fills its first parameter with +inf after its ``at``-th step."""

    def __init__(self, params, at: int) -> None:
        super().__init__(params)
        self.at, self.calls = at, 0

    def step(self, closure=None):
        self.calls += 1
        loss = super().step(closure)
        if self.calls == self.at:
            with torch.no_grad():
                self.param_groups[0]["params"][0].fill_(math.inf)
        return loss


@pytest.mark.parametrize("network", ["G", "D"])
def test_item01_the_file_keeps_the_last_good_step_and_the_right_network_is_named(
        tmp_path, network: str) -> None:
    G, D = tiny()
    opt_g = ExplodesAt(G.parameters(), 3 if network == "G" else 0)
    opt_d = ExplodesAt(D.parameters(), 3 if network == "D" else 0)
    with pytest.raises(callbacks.TrainingDiverged, match="is left as it was") as caught:
        fit(G, D, images(), tmp_path / "run", (opt_g, opt_d), checkpoint_every=1, steps=5)
    assert (caught.value.step, caught.value.network) == (3, network)
    G2, D2 = tiny(seed=9)
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt", G2, D2).step == 2
    G3, D3 = tiny()  # the same two steps, never diverged
    fit(G3, D3, images(), None, (torch.optim.Adam(G3.parameters()),
                                 torch.optim.Adam(D3.parameters())), steps=2)
    assert same(weights(G2, D2), weights(G3, D3))


LOCK_HOLDER = """
    import sys, time
    from gan_tutorial.checkpoint import folder_lock
    with folder_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(120)
"""


def test_item02_a_second_run_cannot_use_a_locked_checkpoint_folder(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(LOCK_HOLDER),
                               str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        G, D = tiny()
        before = weights(G, D)
        with pytest.raises(checkpoint.CheckpointLocked, match="in use by another training run"):
            fit(G, D, images(), tmp_path, steps=2)
        assert same(weights(G, D), before) and not (tmp_path / "checkpoint.pt").exists()
    finally:
        holder.kill()  # the OS releases a killed process's lock
        holder.wait()
    fit(G, D, images(), tmp_path, steps=2)
    assert load_checkpoint(tmp_path / "checkpoint.pt").step == 2
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # the lock adds no file


def test_item02_the_lock_is_exclusive_within_one_process_too(tmp_path) -> None:
    with checkpoint.folder_lock(tmp_path):
        with pytest.raises(checkpoint.CheckpointLocked):
            fit(*tiny(), images(), tmp_path, steps=1)
    fit(*tiny(), images(), tmp_path, steps=1)  # released


def test_item03_numpy_numbers_in_the_history_are_stored_as_python_numbers(tmp_path) -> None:
    history = {"d_loss": [np.float64(0.5), np.float32(0.25)], "step": [np.int64(1), 2]}
    a_checkpoint(tmp_path / "c.pt", history=history)
    loaded = load_checkpoint(tmp_path / "c.pt").history
    assert loaded == {"d_loss": [0.5, 0.25], "step": [1, 2]}
    assert [type(v) for v in loaded["d_loss"] + loaded["step"]] == [float, float, int, int]


def test_item03_an_object_that_cannot_be_stored_is_refused_when_saving(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"history\['note'\] must hold only tensors"):
        a_checkpoint(tmp_path / "c.pt", history={"note": object()})
    assert not (tmp_path / "c.pt").exists()


# --- The interpreter killed --------------------------------------------------------------------

def test_item04_fid_of_images_with_one_nan_pixel_is_an_error_not_a_crash() -> None:
    result = python("""
        import torch
        from gan_tutorial import metrics
        evaluator = metrics.mnist_evaluator(device="cpu")
        fake = torch.zeros(8, 1, 28, 28)
        fake[3, 0, 5, 5] = float("nan")
        try:
            metrics.classifier_fid(fake, torch.zeros(8, 1, 28, 28), evaluator)
        except ValueError as error:
            print("refused:", error)
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: fake must be finite, but it holds 1 NaN" in result.stdout


def test_item05_a_wrong_shaped_adam_state_is_refused_before_fused_adam_runs(tmp_path) -> None:
    G, D = tiny()
    fit(G, D, images(), tmp_path, steps=2)  # default optimisers: fused Adam

    def shrink(state):
        state["opt_g"]["state"][0]["exp_avg"] = torch.zeros(2)

    tamper(tmp_path / "checkpoint.pt", shrink)
    result = python("""
        import sys, torch
        from gan_tutorial import models, runner
        from gan_tutorial.config import TrainConfig
        torch.manual_seed(0)
        G = models.MLPGenerator(latent_dim=4, img_shape=(1, 4, 4), hidden=(8,))
        D = models.MLPDiscriminator(img_shape=(1, 4, 4), hidden=(8,))
        x = torch.rand(32, 1, 4, 4) * 2 - 1
        config = TrainConfig(latent_dim=4, batch_size=8, snapshot_every=0, log_every=1, steps=4)
        try:
            runner.fit(G, D, x, config, device="cpu", progress=False, checkpoint_dir=sys.argv[1])
        except ValueError as error:
            print("refused:", error)
    """, str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "stored opt_g state 'exp_avg' of parameter 0 has shape (2,)" in result.stdout


# --- Silent wrong results ----------------------------------------------------------------------

def test_item06_nan_images_are_refused_by_every_metric(evaluator) -> None:
    from gan_tutorial import metrics

    fake = torch.zeros(8, 1, 28, 28)
    fake[0, 0, 0, 0] = float("nan")
    for score in (metrics.inception_score, metrics.class_histogram):
        with pytest.raises(ValueError, match="fake must be finite"):
            score(fake, evaluator)
    with pytest.raises(ValueError, match="fake must be finite"):
        metrics.precision_recall(fake, torch.zeros(8, 1, 28, 28), evaluator)
    with pytest.raises(ValueError, match="images must be finite"):
        metrics.check_mnist_images(torch.full((2, 1, 28, 28), float("inf")))


def test_item07_no_single_bit_flip_changes_what_is_loaded(tmp_path) -> None:
    path = tmp_path / "c.pt"
    a_checkpoint(path, history={"d_loss": [0.5, 0.25]})
    original = path.read_bytes()
    digest = torch.load(path, weights_only=True)["sha256"]
    positions = torch.randperm(len(original) * 8, generator=torch.Generator().manual_seed(0))
    refused = 0
    for bit in positions[:60].tolist():
        flipped = bytearray(original)
        flipped[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(flipped))
        try:
            load_checkpoint(path)
        except CheckpointError:
            refused += 1
            continue
        # loaded without error: then every stored value must be the original one
        assert checkpoint.content_digest(torch.load(path, weights_only=True)) == digest, bit
    assert refused >= 30  # most flips hit the contents and are refused


def test_item07_an_edited_value_is_refused_by_its_digest(tmp_path) -> None:
    path = tmp_path / "c.pt"
    a_checkpoint(path)
    state = torch.load(path, weights_only=True)
    state["G"]["net.0.weight"][0, 0] += 1e-3  # edited, digest not updated
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="corrupted or was edited: the SHA-256"):
        load_checkpoint(path)


def test_item07_a_version_1_checkpoint_without_a_digest_loads_with_a_warning(tmp_path) -> None:
    path = tmp_path / "c.pt"
    a_checkpoint(path)
    state = torch.load(path, weights_only=True)
    del state["sha256"]
    torch.save({**state, "version": 1}, path)
    with pytest.warns(UserWarning, match="format version 1, without a SHA-256"):
        assert load_checkpoint(path).step == 3


def test_item08_loading_into_one_network_only_is_an_error(tmp_path) -> None:
    a_checkpoint(tmp_path / "c.pt")
    G, D = tiny(seed=5)
    before = weights(G)
    with pytest.raises(ValueError, match="pass both"):
        load_checkpoint(tmp_path / "c.pt", G)
    with pytest.raises(ValueError, match="pass both"):
        load_checkpoint(tmp_path / "c.pt", D=D)
    assert same(weights(G), before)


def test_item09_swapped_optimizers_are_refused() -> None:
    G, D = tiny()
    before = weights(G, D)
    swapped = (torch.optim.Adam(D.parameters()), torch.optim.Adam(G.parameters()))
    with pytest.raises(ValueError, match="opt_g must update parameters of G only; .* swapped"):
        fit(G, D, images(), optimizers=swapped, steps=2)
    with pytest.raises(ValueError, match=r"pair \(opt_g, opt_d\) of torch optimisers"):
        fit(G, D, images(), optimizers=(swapped[1],), steps=2)
    assert same(weights(G, D), before)


def test_item10_images_in_0_1_are_refused() -> None:
    with pytest.raises(ValueError, match=r"look like images in \[0, 1\]; map them with x \* 2 - 1"):
        fit(*tiny(), (images() + 1) / 2, steps=1)


class LateBadItem(torch.utils.data.Dataset):
    """32 images in [-1, 1] except item ``bad``, which is in [0, 255]."""

    def __init__(self, bad: int) -> None:
        self.x, self.bad = images(), bad

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.x[index] * (200 if index == self.bad else 1)


def test_item10_an_out_of_range_dataset_item_after_the_first_batch_is_refused() -> None:
    first = next(data.minibatch_indices(32, 8, seed=0)).tolist()
    bad = next(i for i in range(32) if i not in first)
    G, D = tiny()
    with pytest.raises(ValueError, match=f"dataset item {bad} must be finite and in"):
        fit(G, D, LateBadItem(bad), steps=4)  # 4 minibatches of 8 read all 32 items


def idx_file(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in MNIST's IDX format."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("n_images, labels, message", [
    (10, [1, 2, 3], "one label per image: 10 images"),
    (3, [1, 200, 3], r"digits 0-9, got values in \[1, 200\]"),
])
def test_item11_corrupt_mnist_raw_files_are_refused(tmp_path, n_images: int, labels: list,
                                                    message: str) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):
        idx_file(raw / f"{split}-images-idx3-ubyte", np.zeros((n_images, 28, 28)))
        idx_file(raw / f"{split}-labels-idx1-ubyte", np.array(labels))
    with pytest.raises(data.CorruptDataError, match=message):
        data.mnist(tmp_path, download=False)


def test_item12_resuming_with_fewer_steps_than_done_is_refused(tmp_path) -> None:
    G, D = tiny()
    fit(G, D, images(), tmp_path, steps=4)
    after = weights(G, D)
    with pytest.raises(ValueError, match="it has done 4 steps, more than config.steps=2"):
        fit(G, D, images(), tmp_path, steps=2)
    assert same(weights(G, D), after)


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(state):
        target = state
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value(target[keys[-1]]) if callable(value) else value
    return change


@pytest.mark.parametrize("change, message", [
    (_set("step", -1), "invalid step -1"),
    (_set("step", "3"), "invalid step '3'"),
    (_set("history", [1, 2]), "invalid history"),
    (_set("G", "net.0.weight", lambda w: w.fill_(math.nan)), "non-finite weights in G"),
    (_set("opt_d", "param_groups", 0, "lr", math.nan), "non-finite hyper-parameter lr"),
    (_set("opt_g", "state", 0, "exp_avg_sq", lambda t: t.fill_(math.inf)),
     "opt_g state 'exp_avg_sq' of parameter 0 holds non-finite"),
    (_set("rng", "cpu", torch.zeros(7, dtype=torch.uint8)), "invalid random state"),
    (_set("rng", "cuda", "garbage"), "invalid random state"),
])
def test_item12_invalid_checkpoint_contents_are_refused_before_anything_changes(
        tmp_path, change, message: str) -> None:
    a_checkpoint(tmp_path / "c.pt")
    tamper(tmp_path / "c.pt", change)
    G, D = tiny(seed=4)
    opt_g, opt_d = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
    before = weights(G, D)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "c.pt", G, D, opt_g, opt_d)
    assert same(weights(G, D), before) and not opt_g.state and not opt_d.state


def test_item12_a_history_that_does_not_match_its_steps_is_refused_on_resume(tmp_path) -> None:
    G, D = tiny()
    fit(G, D, images(), tmp_path, steps=2)
    tamper(tmp_path / "checkpoint.pt", _set("history", "d_loss", [0.5]))
    with pytest.raises(CheckpointError, match="invalid history .*d_loss must be a list with "
                                              "one entry per logged step"):
        fit(G, D, images(), tmp_path, steps=4)


@pytest.mark.parametrize("bad, message", [
    (torch.rand(4, 1, 4, 4) * 255, r"must lie in \[-1, 1\]"),
    (torch.full((4, 1, 4, 4), math.nan), "must be finite"),
])
def test_item13_sample_grid_refuses_what_it_would_draw_white_or_blank(bad, message) -> None:
    with pytest.raises(ValueError, match=message):
        plot.sample_grid(bad)


def test_item14_penalty_weights_must_be_finite_numbers() -> None:
    D = tiny()[1]
    x = images(4)
    for value in (math.nan, math.inf, True):
        with pytest.raises(ValueError, match="lambda_gp must be a finite number"):
            losses.gradient_penalty(D, x, x, lambda_gp=value)
        with pytest.raises(ValueError, match="gamma must be a finite number"):
            losses.r1_penalty(D, x, gamma=value)


def test_item14_bce_losses_are_exact_at_infinite_logits() -> None:
    inf = torch.tensor([math.inf])
    assert losses.d_loss_bce(inf, -inf).item() == 0.0  # D is certain and right
    assert losses.d_loss_bce(-inf, -inf).item() == math.inf  # certain and wrong
    assert losses.d_loss_bce(inf, inf).item() == math.inf
    assert losses.g_loss_nonsaturating(inf).item() == 0.0
    assert losses.g_loss_nonsaturating(-inf).item() == math.inf
    assert losses.g_loss_saturating(-inf).item() == 0.0
    assert losses.g_loss_saturating(inf).item() == -math.inf


def test_item15_a_save_killed_by_sigkill_leaves_a_temporary_file_the_next_save_removes(
        tmp_path) -> None:
    result = python("""
        import os, signal, sys, torch
        from gan_tutorial import checkpoint, models
        from gan_tutorial.config import TrainConfig
        G, D = models.MLPGenerator(latent_dim=4, hidden=(8,)), models.MLPDiscriminator(hidden=(8,))
        opt_g, opt_d = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
        checkpoint.os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        checkpoint.save_checkpoint(sys.argv[1], G, D, opt_g, opt_d, TrainConfig(), 1)
    """, str(tmp_path / "c.pt"))
    assert result.returncode == -signal.SIGKILL
    left = list(tmp_path.glob(".c.pt.*.tmp"))
    assert len(left) == 1 and not (tmp_path / "c.pt").exists()
    a_checkpoint(tmp_path / "c.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_item15_a_temporary_file_of_a_running_process_is_kept(tmp_path) -> None:
    busy = tmp_path / f".c.pt.{os.getppid()}.abc.tmp"  # our parent is alive
    busy.write_bytes(b"")
    a_checkpoint(tmp_path / "c.pt")
    assert busy.exists()


def test_item16_the_evaluator_loads_the_very_bytes_it_hashed(tmp_path, monkeypatch) -> None:
    from gan_tutorial import metrics

    path = tmp_path / "evaluator.pt"
    path.write_bytes(metrics.WEIGHTS.read_bytes())
    original = torch.load(path, weights_only=True)
    real_sha256 = metrics.hashlib.sha256

    def sha256_then_replace_the_file(*args):
        digest = real_sha256(*args)
        torch.save({key: torch.zeros_like(value) for key, value in original.items()}, path)
        return digest

    monkeypatch.setattr(metrics.hashlib, "sha256", sha256_then_replace_the_file)
    evaluator = metrics.mnist_evaluator(device="cpu", path=path)
    assert all(torch.equal(value, original[key])
               for key, value in evaluator.state_dict().items())


# --- Unhelpful or misleading errors ------------------------------------------------------------

@pytest.mark.parametrize("how", ["zip", "legacy", "pickle"])
def test_item17_a_checkpoint_carrying_os_system_is_refused_as_code_without_torchs_advice(
        tmp_path, how: str) -> None:
    path = tmp_path / "evil.pt"
    payload = {"format": checkpoint.FORMAT, "version": checkpoint.FORMAT_VERSION,
               "step": os.system}
    if how == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=how == "zip")
    with pytest.raises(CheckpointError, match="refused: it holds pickled code") as caught:
        load_checkpoint(path)
    shown = "".join(traceback.format_exception(caught.value))
    assert "truncated" not in shown and "weights_only" not in shown
    assert "likely succeed" not in shown


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_item18_a_full_disk_is_an_oserror_naming_the_file(tmp_path, monkeypatch) -> None:
    import errno

    path = tmp_path / "c.pt"
    a_checkpoint(path)
    before = path.read_bytes()

    def full_disk(fd, mode):
        os.close(fd)
        return open("/dev/full", mode)  # every write: ENOSPC

    monkeypatch.setattr(checkpoint.os, "fdopen", full_disk)
    with pytest.raises(OSError, match=r"could not write the checkpoint .*c\.pt \(No space left "
                                      r"on device\); the previous checkpoint") as caught:
        a_checkpoint(path, step=4)
    assert caught.value.errno == errno.ENOSPC
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_item19_an_unusable_checkpoint_dir_fails_before_the_first_step(tmp_path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    G, D = tiny()
    before = weights(G, D)
    with pytest.raises(ValueError, match="checkpoint_dir must be a folder this process can "
                                         "write, got .*file'"):
        fit(G, D, images(), not_a_folder, steps=3)
    assert same(weights(G, D), before)  # no step was trained
    with pytest.raises(ValueError, match="checkpoint_dir must be a folder"):
        fit(G, D, images(), not_a_folder / "sub", steps=3)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_item20_float64_and_float16_images_are_refused_up_front(dtype) -> None:
    with pytest.raises(ValueError, match=f"must be a float32 tensor .*dtype {dtype}"):
        fit(*tiny(), images().to(dtype), steps=1)
    with pytest.raises(ValueError, match="float32"):
        check_images("images", images().to(dtype))


def test_item21_numpy_integers_are_accepted_everywhere() -> None:
    n = np.int64
    utils.seed_everything(n(3))
    G = models.MLPGenerator(latent_dim=n(4), img_shape=(n(1), n(4), n(4)), hidden=(np.int32(8),))
    D = models.DCGANDiscriminator(num_classes=n(10))
    assert type(G.latent_dim) is int and type(D.num_classes) is int
    assert sampling.sample(G, n(3), seed=n(1), batch_size=n(2)).shape == (3, 1, 4, 4)
    assert sampling.fixed_latents(n(2), n(4), seed=n(0)).shape == (2, 4)
    assert TrainConfig(steps=n(5)).steps == 5


class Stream(torch.utils.data.IterableDataset):
    def __iter__(self):
        return iter(images())


class NoParameters(torch.nn.Module):
    latent_dim = 4

    def forward(self, z):
        return z


@pytest.mark.parametrize("call, message", [
    (lambda ev: __import__("gan_tutorial.metrics").metrics.inception_score(
        torch.zeros(4, 1, 28, 28), ev, batch_size=0), "batch_size must be an integer >= 1"),
    (lambda ev: __import__("gan_tutorial.metrics").metrics.classifier_fid(
        torch.zeros(4, 1, 28, 28), torch.zeros(4, 1, 28, 28), ev, batch_size=0),
     "batch_size must be an integer >= 1"),
    (lambda ev: __import__("gan_tutorial.metrics").metrics.nearest_neighbours(
        torch.zeros(4, 1, 28, 28), torch.zeros(4, 1, 28, 28), batch_size=0),
     "batch_size must be an integer >= 1"),
    (lambda ev: plot.sample_grid(torch.zeros(0, 1, 4, 4)), "with N >= 1"),
    (lambda ev: runner.fit(*tiny(), images(), {"steps": 2}), "config must be a TrainConfig"),
    (lambda ev: fit(*tiny(), Stream(), steps=1), "map-style torch.utils.data.Dataset"),
    (lambda ev: sampling.sample(NoParameters(), 2), "G must have parameters"),
    (lambda ev: checkpoint.restore_rng_state({"cpu": torch.zeros(3)}),
     "CPU random state must be a uint8 tensor"),
])
def test_item22_clear_errors_instead_of_internal_exceptions(evaluator, call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call(evaluator)


def test_item22_a_checkpoint_with_a_garbage_rng_state_is_refused_on_resume(tmp_path) -> None:
    G, D = tiny()
    fit(G, D, images(), tmp_path, steps=2)
    tamper(tmp_path / "checkpoint.pt", _set("rng", "cpu", lambda t: t[:100]))
    rng = torch.get_rng_state()
    with pytest.raises(CheckpointError, match="invalid random state"):
        fit(G, D, images(), tmp_path, steps=4)
    assert torch.equal(torch.get_rng_state(), rng)


def test_r3_seeds_refuse_values_torch_cannot_take() -> None:
    assert validation.check_seed("seed", 2**63 - 1) == 2**63 - 1
    for bad in (2**63, -1, 1.5, True):
        with pytest.raises(ValueError, match="seed must be an integer"):
            validation.check_seed("seed", bad)


def test_r3_signed_images_refuse_pixels_in_zero_one() -> None:
    x = torch.rand(4, 1, 8, 8)
    with pytest.raises(ValueError, match=r"pixels in \[0, 1\]"):
        validation.check_images("x", x, signed=True)
    validation.check_images("x", x * 2 - 1, signed=True)
