"""Everything a run needs besides Algorithm 1, as :class:`~gan_tutorial.train.Callback` objects.

Each does one job and is passed to :func:`gan_tutorial.train.training_loop`, alone or in a
:class:`CallbackList`; :func:`gan_tutorial.runner.fit` composes them in this order:

* :class:`ImagePool` -- D sees some past fakes (experience replay, Shrivastava et al. 2017);
* :class:`EMA` -- a moving average of G after every step (Yazici et al. 2019); with
  :func:`ema_generator` and :func:`recompute_batch_norm`, the standing BatchNorm statistics of
  an average of G's weights (Brock et al. 2019);
* :class:`ReadBack` -- keeps each step's logs on the device, copies them to the host every
  ``log_every`` steps in one sync, records them in a :class:`History` and raises
  :class:`TrainingDiverged` at the first non-finite one (the divergence guard);
* :class:`ProgressBar` -- a ``tqdm`` bar showing the last logged losses;
* :class:`Snapshots` -- ``G(fixed_z)`` every ``snapshot_every`` steps;
* :class:`Checkpoints` -- a verified checkpoint every ``checkpoint_every`` steps
  (:func:`resume_run` continues from it);
* :class:`TimeLimit` -- ends training after the first step that ends past a wall-clock limit;
* :class:`StopOnCtrlC` -- around all of them: the first Ctrl-C ends training after the
  current step.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, load_checkpoint, restore_rng_state, save_checkpoint
from .config import TrainConfig
from .losses import LOSSES
from .sampling import evaluating, fixed_latents
from .train import Callback
from .validation import check_bool, check_int, check_number, check_seed, describe

#: The logs each step reports -- D's loss, G's loss, D's mean raw outputs on real and
#: generated samples and, for losses whose D ends in a sigmoid, D(x) and D(G(z)).
LOG_KEYS = ("d_loss", "g_loss", "real_score", "fake_score", "d_x", "d_g_z")
_D_LOG_KEYS = ("d_loss", "real_score", "fake_score", "d_x", "d_g_z")
#: Settings that may change when a run is resumed, because they do not change what is computed
#: (compile and channels_last change only the rounding, so the resume is then not bit-identical).
RESUMABLE_CHANGES = ("steps", "log_every", "snapshot_every", "checkpoint_every", "compile",
                     "channels_last", "num_workers")


@dataclass
class History:
    """What :func:`~gan_tutorial.runner.fit` recorded, one entry per logged step.

    Attributes:
        step: generator step of each entry (1-based), every ``config.log_every`` steps.
        d_loss: D's loss on that step's last D minibatch (nats for the sigmoid losses; critic
            units for ``"wasserstein-gp"`` and ``"hinge"``), penalties included.
        g_loss: G's loss on that step's minibatch.
        real_score: mean raw output of D on real samples: a logit for the sigmoid losses, a
            critic score otherwise; unbounded.
        fake_score: the same on generated samples (the batch the D step saw).
        d_x: mean ``D(x) = sigmoid(logit)`` on real samples, a probability in [0, 1]; empty for
            losses whose D has no sigmoid (``"wasserstein-gp"``, ``"hinge"``).
        d_g_z: mean ``D(G(z))`` on generated samples, in [0, 1]; empty where ``d_x`` is.
        wall_time: seconds since ``fit`` started, at each entry.
        snapshots: ``(step, images)`` pairs, images ``G(fixed_z)`` as ``(n, C, H, W) float32
            in [-1, 1]`` on the CPU; step 0 is the untrained G.
        device: the device trained on, e.g. ``"cpu"``.
        interrupted: True if training stopped early on Ctrl-C (KeyboardInterrupt).

    ``to_dict`` and ``from_dict`` convert it to and from plain lists (what checkpoints store).
    """

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    real_score: list[float] = field(default_factory=list)
    fake_score: list[float] = field(default_factory=list)
    d_x: list[float] = field(default_factory=list)
    d_g_z: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    device: str = ""
    interrupted: bool = False

    @property
    def seconds(self) -> float:
        """Wall time of the run up to its last logged step, in seconds."""
        return self.wall_time[-1] if self.wall_time else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict of lists, numbers, strings and CPU tensors."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> History:
        """Rebuild a History from :meth:`to_dict`'s dict.

        Raises:
            ValueError: if ``state`` has fields a History does not have.
        """
        unknown = set(state) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"not a History: unknown fields {sorted(unknown)}")
        snapshots = [(int(step), images) for step, images in state.get("snapshots", [])]
        return cls(**{**state, "snapshots": snapshots})


class TrainingDiverged(RuntimeError):
    """Training produced a non-finite loss, D output, weight or optimizer state, so it stopped.

    Nothing was saved after the bad step: the last checkpoint (if any) holds the last good
    weights (every checkpoint is written only after G's and D's parameters and optimizer states
    are checked to be finite). G and D themselves now hold the weights of the bad update.

    Attributes:
        step: the generator step (1-based) whose logs were not finite, or, when the logs were
            finite but the weights after the update were not, that step.
        network: the network that diverged: ``"D"`` if D's output on real data, its loss or
            its weights became non-finite, ``"G"`` if G's images (D's output on them), its loss
            or its weights did; ``"G and D"`` if both hold non-finite weights when checked.
        values: that step's logs (the keys of :data:`LOG_KEYS` the loss reports).
        last_finite: ``(step, logs)`` of the last good step, or None if it was the first.
        history: the :class:`History` up to the last good step.
        checkpoint: the last good checkpoint file, or None if none was written.
    """

    def __init__(self, step: int, network: str, values: dict[str, float],
                 last_finite: tuple[int, dict[str, float]] | None, history: History,
                 checkpoint: Path | None, weights: bool = False) -> None:
        self.step, self.network, self.values = step, network, values
        self.last_finite, self.history, self.checkpoint = last_finite, history, checkpoint
        last = ("none (it was the first step)" if last_finite is None
                else f"step {last_finite[0]}: {_shown(last_finite[1])}")
        kept = f"{checkpoint} is left as it was" if checkpoint else "no checkpoint was written"
        what = (f"the {network} update of step {step} or before left non-finite weights or "
                f"optimiser state in {network} (the logs, measured before the update, "
                f"were finite)" if weights else
                f"the {network} update gave non-finite values ({_shown(values)})")
        super().__init__(f"training diverged at step {step}: {what}; last finite values: "
                         f"{last}; {kept}. Check the data for NaN or inf, or lower the "
                         f"learning rates.")


def _shown(values: Mapping[str, float]) -> str:
    return ", ".join(f"{key}={value:.4g}" for key, value in values.items())


class CallbackList(Callback):
    """Several callbacks as one, called in order; training stops if any asks to."""

    def __init__(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = list(callbacks)

    def on_fakes(self, x_fake: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        for callback in self.callbacks:
            x_fake = callback.on_fakes(x_fake, y)
        return x_fake

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        stops = [callback.on_step_end(step, logs) for callback in self.callbacks]
        return any(stops)


class ImagePool(Callback):
    """Experience replay of past generated images for D (Shrivastava et al. 2017, Section 2.3).

    D can forget what G did a while ago, and G can then return to it. The pool keeps up to
    ``capacity`` past fakes. Until it is full, :meth:`query` stores the current fakes and
    returns them unchanged. Once it is full, D's fake batch is the first half of the current
    fakes plus as many images drawn at random from the pool, and the current batch's other half
    replaces random entries (the paper's ``b/2`` from the history, ``b/2`` current; CycleGAN's
    ``ImagePool.query`` does the same per image). A pool smaller than half a batch is drawn
    from with repetition and replaced whole, by the last ``capacity`` current fakes. The random
    draws use torch's global random state. The pool is not saved in checkpoints.

    Args:
        capacity: images the pool holds, >= 0; 0 turns replay off (:meth:`query` returns its
            input). Any capacity works with any batch size.

    Raises:
        ValueError: if ``capacity`` is not an integer >= 0.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = check_int("capacity", capacity, minimum=0)
        self.images: torch.Tensor | None = None  # (n <= capacity, ...) detached fakes

    def query(self, x_fake: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D's fake batch for ``x_fake (B, ...)``: ``x_fake`` itself while the pool fills
        (or when replay is off); once it is full, the first ``B - B // 2`` current fakes
        followed by ``B // 2`` past ones from the pool.

        Returns:
            A tensor of ``x_fake``'s shape; past images in it are detached.

        Raises:
            ValueError: if replay is on and labels ``y`` are given (replay of conditional
                fakes would need their labels; not supported).
        """
        if not self.capacity:
            return x_fake
        if y is not None:
            raise ValueError("experience replay (replay_size > 0) supports unconditional GANs "
                             "only; set replay_size=0 for a conditional G and D")
        new = x_fake.detach()
        if self.images is None or len(self.images) < self.capacity:
            kept = new if self.images is None else torch.cat([self.images, new])
            self.images = kept[:self.capacity].clone()
            return x_fake
        half = len(new) // 2
        drawn = torch.randint(self.capacity, (half,), device=new.device)
        mixed = torch.cat([x_fake[:len(new) - half], self.images[drawn]])
        slots = torch.randperm(self.capacity, device=new.device)[:half]
        self.images[slots] = new[len(new) - len(slots):]  # the last half, or as many as fit
        return mixed

    def on_fakes(self, x_fake: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.query(x_fake, y)


def ema_generator(G: nn.Module, decay: float, buffers: bool = True) -> AveragedModel:
    """An exponential moving average of G's weights, to sample from (Yazici et al. 2019).

    ``theta_ema <- decay * theta_ema + (1 - decay) * theta_G`` after every generator step
    (pass it to :func:`~gan_tutorial.runner.fit` as ``ema=``, or update it with :class:`EMA`);
    it starts as a copy of G, and ``ema.decay`` records ``decay``. Built on
    ``torch.optim.swa_utils.AveragedModel``; the averaged G is ``ema.module``, sampled like any
    G (e.g. ``sample(ema.module, n)``). Yazici et al. use decay 0.9999 over 100,000s of steps;
    the average spans about ``1 / (1 - decay)`` steps, so short runs need less.

    ``buffers=True`` (the default) averages BatchNorm's running statistics the same way
    (``use_buffers=True``). But statistics averaged over past generators do not describe the
    averaged generator's own activations, and such an average can sample badly.
    ``buffers=False`` averages the parameters only (``use_buffers=False``); ``AveragedModel``
    then copies G's current buffers into ``ema.module`` at every update, which fit G's weights,
    not the average's, so call :func:`recompute_batch_norm` on ``ema.module`` before sampling
    from it.

    Args:
        G: the generator, on the device it trains on.
        decay: ``beta`` in ``(0, 1)``.
        buffers: average the buffers (BatchNorm's running statistics) too, True or False.

    Raises:
        ValueError: if ``decay`` is not in ``(0, 1)`` or ``buffers`` is not a bool.
    """
    decay = check_number("decay", decay, 0, 1, above=True, below=True)
    buffers = check_bool("buffers", buffers)
    ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=buffers)
    ema.decay = decay  # what fit checks against config.ema_decay
    return ema


def recompute_batch_norm(G: nn.Module, n_batches: int = 16, batch_size: int = 128,
                         seed: int = 0) -> nn.Module:
    """Re-estimate every BatchNorm's running statistics of G from G's own samples.

    The "standing statistics" of BigGAN (Brock et al. 2019, "Large Scale GAN Training for High
    Fidelity Natural Image Synthesis", and its BigGAN-PyTorch sampling code): the running
    mean and variance of each BatchNorm layer (with ``track_running_stats``) are reset and
    re-estimated, with ``momentum=None`` (a plain average over the batches), from
    ``n_batches`` forward passes of ``batch_size`` latents ``z ~ N(0, I)`` drawn by
    :func:`~gan_tutorial.sampling.fixed_latents` from ``seed`` (the same ``z`` every call), in
    train mode under ``torch.no_grad``. Each layer's running mean is then the mean of its
    inputs over all ``n_batches * batch_size`` samples, and its running variance the average of
    the batches' unbiased variances. G's parameters, each layer's momentum and G's train/eval
    mode are left as they were; torch's global random state is not used. Use it on the weight
    average of :func:`ema_generator` with ``buffers=False`` before every evaluation.

    A conditional G (``G.num_classes = K``) gets the labels ``0, 1, ..., K - 1, 0, ...`` in
    each batch. A G without BatchNorm is returned unchanged.

    Args:
        G: a generator with an integer ``latent_dim`` (every generator of
            :mod:`gan_tutorial.models`), on any device.
        n_batches: forward passes, >= 1.
        batch_size: latents per pass, >= 2 (BatchNorm needs two samples).
        seed: seed of the latents, an integer in ``[0, 2**63)``.

    Returns:
        ``G`` itself, its BatchNorm running statistics replaced.

    Raises:
        ValueError: if ``n_batches`` or ``batch_size`` is out of range, ``seed`` is not a
            seed, or G has no integer ``latent_dim`` or no parameters.
    """
    n_batches = check_int("n_batches", n_batches, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=2)
    seed = check_seed("seed", seed)
    latent_dim = getattr(G, "latent_dim", None)
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool):
        raise ValueError("G must have an integer attribute latent_dim (the size of z), got "
                         f"{describe(latent_dim)}")
    norms = [m for m in G.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return G
    device = next(itertools.chain(G.parameters(), G.buffers())).device
    num_classes = getattr(G, "num_classes", None)
    y = None if num_classes is None else (torch.arange(batch_size) % num_classes).to(device)
    z = fixed_latents(n_batches * batch_size, latent_dim, seed=seed)
    momenta, was_training = [m.momentum for m in norms], G.training
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batches
        G.train()
        with torch.no_grad():
            for chunk in z.split(batch_size):
                G(chunk.to(device)) if y is None else G(chunk.to(device), y)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        G.train(was_training)
    return G


class EMA(Callback):
    """Updates ``ema`` (made by :func:`ema_generator`) from G after every step."""

    def __init__(self, ema: AveragedModel, G: nn.Module) -> None:
        self.ema, self.G = ema, G

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        self.ema.update_parameters(self.G)
        return False


def _all_finite(module: nn.Module, optimizer: torch.optim.Optimizer) -> bool:
    """True if the module's parameters and the optimizer's floating state are all finite."""
    tensors = [*module.parameters(),
               *(value for state in optimizer.state.values() for value in state.values()
                 if isinstance(value, torch.Tensor) and value.is_floating_point())]
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()) \
        if tensors else True


class ReadBack(Callback):
    """Deferred read-back and the divergence guard.

    Each step's logs stay on the device; every ``config.log_every`` steps and after the last
    step, :meth:`flush` copies them to the host in one sync, raises :class:`TrainingDiverged`
    at the first non-finite one, and records the logged steps in ``history``. After the last
    step (and before every snapshot and checkpoint, :meth:`check_weights`) G's and D's
    parameters and optimizer states are checked to be finite.

    Args:
        G, D, opt_g, opt_d: the models and optimizers, to blame and check.
        config: the run's settings (``log_every``, ``steps``, ``loss``).
        history: the :class:`History` to extend (a resumed run's, or a new one).
    """

    def __init__(self, G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer,
                 opt_d: torch.optim.Optimizer, config: TrainConfig, history: History) -> None:
        self.G, self.D, self.opt_g, self.opt_d = G, D, opt_g, opt_d
        self.config, self.history = config, history
        self.keys = [key for key in LOG_KEYS
                     if LOSSES[config.loss].sigmoid or key not in ("d_x", "d_g_z")]
        self.pending: list[tuple[int, torch.Tensor]] = []  # logs not yet read back
        self.last: tuple[int, dict[str, float]] | None = None  # the last finite logs
        self.checkpoint: Path | None = None  # the last good checkpoint, set by Checkpoints
        self.weights_checked: int | None = None  # the step whose weights were found finite
        self.start = time.perf_counter() - history.seconds

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        self.pending.append((step, torch.stack([logs[key].float() for key in self.keys])))
        if step % self.config.log_every == 0 or step == self.config.steps:
            self.flush()
        if step == self.config.steps:
            self.check_weights(step)
        return False

    def flush(self) -> None:
        """Copy the pending logs to the host (one device sync), check that they are finite and
        record the logged steps in the history."""
        if not self.pending:
            return
        rows = torch.stack([logs for _, logs in self.pending]).tolist()
        steps = [step for step, _ in self.pending]
        self.pending.clear()
        for step, row in zip(steps, rows):
            values = dict(zip(self.keys, row))
            self.check_finite(step, values)
            if step % self.config.log_every == 0 or step == self.config.steps:
                self.record(step, values)

    def check_finite(self, step: int, values: dict[str, float]) -> None:
        """Raise :class:`TrainingDiverged` if a log is NaN or infinite."""
        bad = {key for key, value in values.items() if not math.isfinite(value)}
        if bad:
            # In a step, D's logs are measured before D's update, g_loss after it and before
            # G's. D's outputs on real data depend on D alone; non-finite outputs on G's
            # images (real ones finite) mean G's images are; a non-finite g_loss alone means
            # D's update broke D if D's weights now hold NaN or inf, else G's loss.
            network = ("D" if {"real_score", "d_x"} & bad
                       else "G" if {"fake_score", "d_g_z"} & bad
                       else "D" if bad & set(_D_LOG_KEYS)
                       or not _all_finite(self.D, self.opt_d) else "G")
            raise TrainingDiverged(step, network, values, self.last, self.history,
                                   self.checkpoint)
        self.last = (step, values)

    def check_weights(self, step: int) -> None:
        """Raise :class:`TrainingDiverged` if G's or D's parameters or optimizer states hold
        NaN or infinity (one device sync, once per step however many callbacks ask)."""
        if step == self.weights_checked:
            return
        bad = [network for network, module, optimizer in (("G", self.G, self.opt_g),
                                                           ("D", self.D, self.opt_d))
               if not _all_finite(module, optimizer)]
        if bad:
            values = self.last[1] if self.last is not None and self.last[0] == step else {}
            raise TrainingDiverged(step, " and ".join(bad), values, self.last, self.history,
                                   self.checkpoint, weights=True)
        self.weights_checked = step

    def record(self, step: int, values: dict[str, float]) -> None:
        """Append one entry to the history."""
        self.history.step.append(step)
        for key, value in values.items():
            getattr(self.history, key).append(value)
        self.history.wall_time.append(time.perf_counter() - self.start)


class ProgressBar(Callback):
    """A ``tqdm`` progress bar over the steps, showing the last logged D and G losses,
    D(x) and D(G(z)) of ``history``; ``start`` steps are already done."""

    def __init__(self, history: History, total: int, start: int = 0,
                 disable: bool = False) -> None:
        self.history = history
        self.bar = tqdm(total=total, initial=start, desc="training", unit="step",
                        disable=disable)

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        self.bar.update()
        history = self.history
        if history.step and history.step[-1] == step:
            shown = {"D": history.d_loss, "G": history.g_loss, "D(x)": history.d_x,
                     "D(G(z))": history.d_g_z}
            self.bar.set_postfix_str(", ".join(f"{name}={values[-1]:.3f}" for name, values
                                               in shown.items() if values), refresh=False)
        return False

    def close(self) -> None:
        self.bar.close()


class Snapshots(Callback):
    """Appends ``(step, G(*inputs))`` to ``read_back.history.snapshots`` every ``every`` steps
    (G in eval mode, images on the CPU), after the logs and weights are checked; call
    :meth:`take` for step 0."""

    def __init__(self, G: nn.Module, inputs: tuple[torch.Tensor, ...], every: int,
                 read_back: ReadBack) -> None:
        self.G, self.inputs, self.every, self.read_back = G, inputs, every, read_back

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        if step % self.every == 0:
            self.read_back.flush()
            self.read_back.check_weights(step)
            self.take(step)
        return False

    def take(self, step: int) -> None:
        """Append ``(step, G(*inputs))`` now (step 0 is the untrained G)."""
        with evaluating(self.G):
            images = self.G(*self.inputs).float().cpu()
        self.read_back.history.snapshots.append((step, images))


class Checkpoints(Callback):
    """Writes the checkpoint file ``path`` every ``config.checkpoint_every`` steps and after the
    last step (:func:`gan_tutorial.checkpoint.save_checkpoint`), each only after the pending
    logs and the weights are checked (:class:`ReadBack`); ``saved`` is the last step
    written."""

    def __init__(self, path: Path, G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer,
                 opt_d: torch.optim.Optimizer, config: TrainConfig, read_back: ReadBack,
                 saved: int | None = None) -> None:
        self.path, self.G, self.D, self.opt_g, self.opt_d = path, G, D, opt_g, opt_d
        self.config, self.read_back, self.saved = config, read_back, saved
        if saved is not None:
            read_back.checkpoint = path

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        if step % self.config.checkpoint_every == 0 or step == self.config.steps:
            self.save(step)
        return False

    def save(self, step: int) -> None:
        """Check the logs and weights, then write the checkpoint of ``step`` (once)."""
        self.read_back.flush()
        self.read_back.check_weights(step)
        if step != self.saved:
            save_checkpoint(self.path, self.G, self.D, self.opt_g, self.opt_d, self.config,
                            step, self.read_back.history.to_dict())
            self.saved, self.read_back.checkpoint = step, self.path


def resume_run(path: Path, G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer,
               opt_d: torch.optim.Optimizer, config: TrainConfig) -> tuple[History, int]:
    """Restore G, D, the optimizers and torch's random state from the checkpoint ``path``;
    return its history and the number of steps it had done (``(History(), 0)`` if there is no
    file).

    Raises:
        ValueError: if the checkpoint has done more than ``config.steps`` steps or was written
            with other settings (apart from :data:`RESUMABLE_CHANGES`).
        CheckpointError: if the file is damaged, holds an invalid history or does not fit G,
            D and the optimizers (an optimizer state of another optimizer class, say); G, D and
            the optimizers are then left as they were.
    """
    if not path.exists():
        return History(), 0
    checkpoint = load_checkpoint(path)
    if checkpoint.step > config.steps:
        raise ValueError(f"cannot resume from {path}: it has done {checkpoint.step} "
                         f"steps, more than config.steps={config.steps}; pass steps >= "
                         f"{checkpoint.step} to continue it, resume=False to start over, or "
                         f"another checkpoint_dir")
    old, new = checkpoint.config.to_dict(), config.to_dict()
    differ = [key for key in new if key not in RESUMABLE_CHANGES and old[key] != new[key]]
    if differ:
        raise ValueError(f"cannot resume from {path}: it was written with "
                         + ", ".join(f"{key}={old[key]!r}" for key in differ) + " but this "
                         "config has " + ", ".join(f"{key}={new[key]!r}" for key in differ)
                         + "; pass resume=False to start over, or use another checkpoint_dir")
    try:
        history = History.from_dict(checkpoint.history)
        _check_history(history, checkpoint.step)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path} holds an invalid history ({error})") from error
    checkpoint.restore(G, D, opt_g, opt_d)
    restore_rng_state(checkpoint.rng_state)
    history.interrupted = False
    return history, checkpoint.step


def _check_history(history: History, step: int) -> None:
    """Raise ``ValueError`` unless the logged steps increase up to ``step`` and every log has
    one entry per logged step (or none, for logs the loss does not report)."""
    steps = history.step
    if (not all(isinstance(s, int) and 1 <= s <= step for s in steps)
            or any(a >= b for a, b in zip(steps, steps[1:]))):
        raise ValueError(f"its logged steps must be increasing integers in [1, {step}]")
    for key in (*LOG_KEYS, "wall_time"):
        values = getattr(history, key)
        if not isinstance(values, list) or len(values) not in (0, len(steps)):
            raise ValueError(f"{key} must be a list with one entry per logged step "
                             f"({len(steps)}), got {describe(values)}")


class TimeLimit(Callback):
    """Ends training after the first step that ends more than ``seconds`` after this callback
    was made.

    Raises:
        ValueError: if ``seconds`` is not a finite number > 0.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = check_number("seconds", seconds, minimum=0, above=True)
        self.start = time.perf_counter()

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        return time.perf_counter() - self.start > self.seconds


class StopOnCtrlC(Callback):
    """Wraps ``callback`` so that a first Ctrl-C (SIGINT) ends training after the current step
    (inside :meth:`installed`); a second raises KeyboardInterrupt at once.

    ``completed`` is the last step whose updates are done; ``between_steps`` is True while
    G and D hold exactly that step's state (from its callbacks until the next step begins).
    Outside the main thread, where Python cannot catch signals, Ctrl-C works as usual.
    """

    def __init__(self, callback: Callback, start: int = 0) -> None:
        self.callback, self.completed, self.between_steps = callback, start, False
        self.requested = threading.Event()

    def on_fakes(self, x_fake: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.callback.on_fakes(x_fake, y)

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        self.completed, self.between_steps = step, True
        stop = self.callback.on_step_end(step, logs) or self.requested.is_set()
        self.between_steps = stop  # otherwise the next step begins now
        return stop

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Catch SIGINT inside (main thread only); restore the previous handler after."""
        def handler(signum: int, frame: object) -> None:
            if self.requested.is_set():
                raise KeyboardInterrupt
            self.requested.set()

        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, handler) if main else None
        try:
            yield
        finally:
            if main:
                signal.signal(signal.SIGINT, previous if previous is not None
                              else signal.default_int_handler)
