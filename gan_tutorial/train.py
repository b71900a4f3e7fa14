"""The GAN training loop of Goodfellow et al. 2014, Algorithm 1, for any G and D.

One *step* of :func:`fit` is one iteration of Algorithm 1: ``k = config.d_steps`` discriminator
updates (:func:`d_step`), each on a fresh minibatch of real images and of latents, then one
generator update (:func:`g_step`). Nothing here names an architecture.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from .checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from .config import TrainConfig
from .data import minibatches
from .losses import LOSSES, d_loss_bce, g_loss_nonsaturating, g_loss_saturating
from .sampling import evaluating, fixed_latents
from .utils import get_device

#: Settings that may change when a run is resumed, because they do not change what is computed
#: (compile and channels_last change only the rounding, so the resume is then not bit-identical).
RESUMABLE_CHANGES = ("steps", "log_every", "snapshot_every", "checkpoint_every", "compile",
                     "channels_last", "num_workers")
IMAGE_RANGE_TOLERANCE = 1e-4  # images may exceed [-1, 1] by this much (rounding)
READINGS = ("d_loss", "g_loss", "d_x", "d_g_z")  # what each step reports
_D_READINGS = ("d_loss", "d_x", "d_g_z")
DEFAULT_CONFIG = TrainConfig()  # frozen, so one shared default is safe

G_LOSS_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "nonsaturating": g_loss_nonsaturating,
    "saturating": g_loss_saturating,
}


@dataclass
class History:
    """What :func:`fit` recorded, one entry per logged step (every ``config.log_every`` steps).

    Attributes:
        step: generator step of each entry (1-based).
        d_loss: discriminator loss ``-V`` on that step's last D minibatch, nats.
        g_loss: generator loss on that step's minibatch, nats.
        d_x: mean ``D(x)`` on real images, a probability in [0, 1].
        d_g_z: mean ``D(G(z))`` on generated images (seen by the D step), in [0, 1].
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
    """Training produced a non-finite loss or D output, so :func:`fit` stopped.

    Nothing was saved after the bad step: the last checkpoint (if any) holds the last good
    weights. G and D themselves now hold the non-finite weights of the bad update.

    Attributes:
        step: the generator step (1-based) whose readings were not finite.
        network: ``"D"`` if the discriminator update gave a non-finite loss, D(x) or D(G(z)),
            else ``"G"``.
        values: that step's readings, ``{"d_loss", "d_x", "d_g_z", "g_loss"}``.
        last_finite: ``(step, readings)`` of the last good step, or None if it was the first.
        history: the :class:`History` up to the last good step.
        checkpoint: the last good checkpoint file, or None if none was written.
    """

    def __init__(self, step: int, network: str, values: dict[str, float],
                 last_finite: tuple[int, dict[str, float]] | None, history: History,
                 checkpoint: Path | None) -> None:
        self.step, self.network, self.values = step, network, values
        self.last_finite, self.history, self.checkpoint = last_finite, history, checkpoint
        last = ("none (it was the first step)" if last_finite is None
                else f"step {last_finite[0]}: {_readings(last_finite[1])}")
        kept = f"{checkpoint} is left as it was" if checkpoint else "no checkpoint was written"
        super().__init__(f"training diverged at step {step}: the {network} update gave "
                         f"non-finite values ({_readings(values)}); last finite values: {last}; "
                         f"{kept}. Check the data for NaN or inf, or lower the learning rates.")


def _readings(values: Mapping[str, float]) -> str:
    return ", ".join(f"{key}={value:.4g}" for key, value in values.items())


def d_step(D: nn.Module, opt_d: torch.optim.Optimizer, x_real: torch.Tensor,
           x_fake: torch.Tensor, autocast: Callable[[], Any] = contextlib.nullcontext
           ) -> dict[str, torch.Tensor]:
    """One discriminator update: ascend V(D, G) on a minibatch (Goodfellow et al. 2014, Alg. 1).

    The fake images are *detached* here: this step changes D only, so back-propagating into G
    would be wasted work. :func:`g_step` then reuses the same ``x_fake``, graph and all.

    Args:
        D: the discriminator (returns logits ``(B,)``).
        opt_d: the optimiser of D's parameters.
        x_real: real images ``(B, C, H, W) float32 in [-1, 1]`` (or points ``(B, d)``).
        x_fake: ``G(z)``, images of the same shape (any batch size B'), on D's device.
        autocast: context for the forward pass, e.g. bfloat16 autocast; default: none.

    Returns:
        ``{"d_loss": nats, "d_x": mean D(x) in [0, 1], "d_g_z": mean D(G(z)) in [0, 1]}``,
        measured before the update, as 0-dim tensors on D's device. Reading one (``float``)
        waits for the device, so :func:`fit` reads them only every ``log_every`` steps.
    """
    with autocast():
        real_logits, fake_logits = D(x_real), D(x_fake.detach())
        loss = d_loss_bce(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_d.step()
    return {"d_loss": loss.detach(), "d_x": torch.sigmoid(real_logits.detach()).mean(),
            "d_g_z": torch.sigmoid(fake_logits.detach()).mean()}


def g_step(D: nn.Module, opt_g: torch.optim.Optimizer, x_fake: torch.Tensor,
           loss_fn: Callable[[torch.Tensor], torch.Tensor] = g_loss_nonsaturating,
           autocast: Callable[[], Any] = contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """One generator update: descend the generator loss through D (Goodfellow et al. 2014, Alg. 1).

    ``x_fake = G(z)`` is the batch the D step just saw, still attached to G's graph: G is not
    run a second time. D (already updated) is frozen while it judges the batch, so the backward
    pass computes the gradient for the images, and through them for G, but none for D's weights.

    Args:
        D: the discriminator (returns logits ``(B,)``).
        opt_g: the optimiser of G's parameters.
        x_fake: ``G(z)`` computed with autograd on, e.g. ``(B, C, H, W)`` in [-1, 1].
        loss_fn: a generator loss of :mod:`gan_tutorial.losses` (default non-saturating).
        autocast: context for the forward pass, e.g. bfloat16 autocast; default: none.

    Returns:
        ``{"g_loss": nats}``, measured before the update, as a 0-dim tensor on D's device.
    """
    with _frozen(D), autocast():
        loss = loss_fn(D(x_fake))
    opt_g.zero_grad(set_to_none=True)
    loss.backward()
    opt_g.step()
    return {"g_loss": loss.detach()}


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Turn off ``requires_grad`` of the module's trainable parameters for a forward pass."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    for p in trainable:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in trainable:
            p.requires_grad_(True)


def _check_data(x: torch.Tensor | Dataset, batch_size: int) -> None:
    """Size of the data, then shape, dtype, finiteness and image range: all of a tensor, the
    first minibatch of a Dataset (which cannot be read whole)."""
    if isinstance(x, Dataset) and not isinstance(x, torch.Tensor):
        if len(x) < batch_size:  # type: ignore[arg-type]
            raise ValueError(f"fit needs at least batch_size={batch_size} examples, got {len(x)}")
        x = next(minibatches(x, batch_size, seed=0))
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or not x.is_floating_point():
        got = (f"{tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor)
               else type(x).__name__)
        raise ValueError(f"fit expected a float tensor of shape (N, ...): images (N, C, H, W) "
                         f"in [-1, 1] or points (N, d); got {got}")
    if len(x) < batch_size:
        raise ValueError(f"fit needs at least batch_size={batch_size} images, got {len(x)}")
    _check_values(x)


def _check_values(x: torch.Tensor) -> None:
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"fit expected finite data, but x holds {bad:,} NaN or infinite values")
    if x.dim() != 4:
        return  # points of a toy problem: any finite values
    low, high = (float(v) for v in torch.aminmax(x))
    if low < -1 - IMAGE_RANGE_TOLERANCE or high > 1 + IMAGE_RANGE_TOLERANCE:
        raise ValueError(f"fit expected images in [-1, 1] (the range of G's tanh output), got "
                         f"values in [{low:.4g}, {high:.4g}]; load MNIST with "
                         f"gan_tutorial.data.mnist, or map pixels with x / 127.5 - 1 (from "
                         f"[0, 255]) or x * 2 - 1 (from [0, 1])")


@dataclass
class _Run:
    """What one call of :func:`fit` shares between its small helpers."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    config: TrainConfig
    history: History
    path: Path | None  # the checkpoint file, or None
    saved: int | None = None  # the step of the last good checkpoint in ``path``
    last: tuple[int, dict[str, float]] | None = None  # the last step with finite readings
    forward_G: Callable[[torch.Tensor], torch.Tensor] | None = None  # G, or torch.compile(G)
    forward_D: Callable[[torch.Tensor], torch.Tensor] | None = None
    autocast: Callable[[], Any] = contextlib.nullcontext
    pending: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # unread readings
    start: float = 0.0  # time.perf_counter() when the history's clock started

    def update(self, batches: Iterator[torch.Tensor], device: torch.device) -> torch.Tensor:
        """One step of Algorithm 1: ``d_steps`` updates of D, then one of G on the last fake
        batch. Returns the readings ``(d_loss, g_loss, d_x, d_g_z)``, not yet read back."""
        size, k = self.config.batch_size, self.config.d_steps
        for i in range(k):
            z = torch.randn(size, self.config.latent_dim, device=device)
            with torch.set_grad_enabled(i == k - 1), self.autocast():  # G's step reuses it
                x_fake = self.forward_G(z)
            stats = d_step(self.forward_D, self.opt_d, next(batches), x_fake, self.autocast)
        stats |= g_step(self.forward_D, self.opt_g, x_fake, LOSSES[self.config.loss].g_loss,
                        self.autocast)
        return torch.stack([stats[key].float() for key in READINGS])

    def read_back(self, bar: tqdm) -> None:
        """Copy the pending readings to the host (one device sync), check that they are finite
        and record the logged steps in the history."""
        if not self.pending:
            return
        rows = torch.stack([readings for _, readings in self.pending]).tolist()
        steps = [step for step, _ in self.pending]
        self.pending.clear()
        for step, row in zip(steps, rows):
            stats = dict(zip(READINGS, row))
            self.check_finite(step, stats)
            if step % self.config.log_every == 0 or step == self.config.steps:
                _record(self.history, step, stats, time.perf_counter() - self.start, bar)

    def check_finite(self, step: int, stats: dict[str, float]) -> None:
        """Raise :class:`TrainingDiverged` if a reading is NaN or infinite."""
        bad = [key for key, value in stats.items() if not math.isfinite(value)]
        if bad:
            network = "D" if set(bad) & set(_D_READINGS) else "G"
            checkpoint = self.path if self.saved is not None else None
            raise TrainingDiverged(step, network, stats, self.last, self.history, checkpoint)
        self.last = (step, stats)

    def save(self, step: int) -> None:
        """Write the checkpoint of ``step``; call :meth:`read_back` first, so that no step
        with unchecked readings is saved."""
        if self.path is not None and step != self.saved:
            save_checkpoint(self.path, self.G, self.D, self.opt_g, self.opt_d, self.config,
                            step, self.history.to_dict())
            self.saved = step


def _adam(G: nn.Module, D: nn.Module, config: TrainConfig,
          device: torch.device) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """Adam for G and for D. The fused implementation (one kernel for all parameters) where
    PyTorch has one: on a 2-core CPU it updates the MLP GAN's 2 million weights in about 1 ms
    instead of 7 ms."""
    options = {"betas": (config.beta1, config.beta2), "fused": device.type in ("cpu", "cuda")}
    return (torch.optim.Adam(G.parameters(), lr=config.lr_g, **options),
            torch.optim.Adam(D.parameters(), lr=config.lr_d, **options))


def _resume(run: _Run, resume: bool) -> int:
    """Restore the run from ``run.path`` if it exists and ``resume``; return the steps done."""
    if run.path is None or not resume or not run.path.exists():
        return 0
    checkpoint = load_checkpoint(run.path)
    old, new = checkpoint.config.to_dict(), run.config.to_dict()
    differ = [key for key in new if key not in RESUMABLE_CHANGES and old[key] != new[key]]
    if differ:
        raise ValueError(f"cannot resume from {run.path}: it was written with "
                         + ", ".join(f"{key}={old[key]!r}" for key in differ) + " but this "
                         "config has " + ", ".join(f"{key}={new[key]!r}" for key in differ)
                         + "; pass resume=False to start over, or use another checkpoint_dir")
    try:
        history = History.from_dict(checkpoint.history)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{run.path} holds an invalid history ({error})") from error
    checkpoint.restore(run.G, run.D, run.opt_g, run.opt_d)
    restore_rng_state(checkpoint.rng_state)
    history.interrupted = False
    run.history, run.saved = history, checkpoint.step
    return checkpoint.step


@contextlib.contextmanager
def _finish_step_on_ctrl_c() -> Iterator[threading.Event]:
    """While active, a first Ctrl-C (SIGINT) only sets the yielded event, so that :func:`fit`
    can finish the current step and save it; a second Ctrl-C raises KeyboardInterrupt at once.
    Outside the main thread, where Python cannot catch signals, Ctrl-C works as usual."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return

    def handler(signum: int, frame: object) -> None:
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield requested
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None
                      else signal.default_int_handler)


def fit(G: nn.Module, D: nn.Module, x: torch.Tensor | Dataset,
        config: TrainConfig = DEFAULT_CONFIG,
        device: torch.device | str | None = None, fixed_z: torch.Tensor | None = None,
        checkpoint_dir: str | Path | None = None, resume: bool = True, progress: bool = True,
        optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer] | None = None,
        ) -> History:
    """Train G and D with Goodfellow et al. 2014, Algorithm 1, and return the :class:`History`.

    Each of ``config.steps`` steps makes ``config.d_steps`` calls of :func:`d_step` (fresh real
    minibatch and fresh ``x_fake = G(z)`` each) and one call of :func:`g_step` with
    ``config.g_loss`` on the last ``x_fake``, so G runs once per D step. Minibatches come from
    :func:`gan_tutorial.data.minibatches` in an order seeded with ``config.seed``: a tensor is
    held on the training device and sliced there (the fast path), a ``Dataset`` is read by a
    ``DataLoader``; both give the same minibatches. z is drawn from torch's global random
    state. Models are trained in place.

    **No waiting for the device inside the loop.** The losses and D outputs stay on the device
    and are read back every ``config.log_every`` steps (and before snapshots and checkpoints),
    when the ``tqdm`` progress bar shows them and the history records them. ``config.compile``,
    ``config.bf16`` and ``config.channels_last`` switch on optional accelerations.

    **Checkpoints.** With ``checkpoint_dir``, the file ``checkpoint_dir / "checkpoint.pt"``
    (:data:`gan_tutorial.checkpoint.CHECKPOINT_NAME`) is written atomically every
    ``config.checkpoint_every`` steps, after the last step and on Ctrl-C. It holds G, D, both
    optimisers, the config, the step, the history and torch's random states (see
    :mod:`gan_tutorial.checkpoint`). If the file exists and ``resume`` is True, training
    continues from it up to ``config.steps``: on the CPU, the result (weights, losses) is
    bit-identical to a run that was never stopped.

    **Ctrl-C** (SIGINT, also a notebook's "interrupt kernel") lets the current step finish,
    writes the checkpoint of that step, warns and returns the partial history with
    ``history.interrupted = True``; G and D keep their weights. A second Ctrl-C, or a
    KeyboardInterrupt raised inside a step, stops at once: G and D keep their mid-step weights
    and the last checkpoint is left as it was.

    **Divergence guard.** If a loss, D(x) or D(G(z)) is NaN or infinite, training stops with
    :class:`TrainingDiverged` at the next read-back (at most ``log_every`` steps later), which
    names the first bad step; nothing is saved after the last good step.

    Args:
        G, D: generator (with ``latent_dim``) and discriminator (logits ``(B,)``).
        x: training data, ``N >= config.batch_size`` finite examples: images ``(N, C, H, W)
            float32 in [-1, 1]``, or points ``(N, d) float32`` for the low-dimensional toy
            problems; or a ``torch.utils.data.Dataset`` of such examples (or of
            ``(example, label)`` pairs), whose first minibatch is checked.
        config: the settings; see :class:`gan_tutorial.config.TrainConfig`.
        device: where to train; ``None`` means :func:`gan_tutorial.utils.get_device`.
        fixed_z: latents for the snapshots, ``(n, latent_dim)``; default 16 vectors from
            ``fixed_latents(16, latent_dim, seed=config.seed)``.
        checkpoint_dir: folder of the checkpoint file (created if missing); None: no file.
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one; False
            starts over and overwrites it.
        progress: show the progress bar.
        optimizers: ``(opt_g, opt_d)``; default fresh Adam optimisers with
            ``config.lr_g``/``config.lr_d`` and betas ``(config.beta1, config.beta2)``
            (PyTorch's fused implementation on CPU and CUDA).
            On resume their states are replaced by the stored ones.

    Returns:
        The :class:`History` (on resume it includes the steps before the checkpoint).

    Raises:
        ValueError: if ``x`` is not a finite floating tensor ``(N, ...)`` (or a Dataset of
            them) with at least one minibatch, if images lie outside [-1, 1], or if the
            checkpoint to resume from was written with other settings than ``config`` (apart
            from :data:`RESUMABLE_CHANGES`).
        CheckpointError: if the checkpoint to resume from is damaged or does not fit G and D.
        TrainingDiverged: if a loss or D output becomes NaN or infinite.
    """
    _check_data(x, config.batch_size)
    device = get_device() if device is None else torch.device(device)
    run = _prepare(G, D, config, device, optimizers, checkpoint_dir)
    done = _resume(run, resume)
    run.history.device = str(device)
    if fixed_z is None:
        fixed_z = fixed_latents(16, config.latent_dim, seed=config.seed)
    snapshot = _snapshotter(G, fixed_z.to(device), run.history)
    if config.snapshot_every and done == 0:
        snapshot(0)
    batches = minibatches(x, config.batch_size, config.seed, done * config.d_steps, device,
                          config.num_workers)
    if config.channels_last:
        batches = (batch.contiguous(memory_format=torch.channels_last) if batch.dim() == 4
                   else batch for batch in batches)
    _loop(run, batches, device, snapshot, done, progress)
    return run.history


def _prepare(G: nn.Module, D: nn.Module, config: TrainConfig, device: torch.device,
             optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer] | None,
             checkpoint_dir: str | Path | None) -> _Run:
    """Move the models, build the optimisers and apply the acceleration flags of ``config``."""
    memory_format = torch.channels_last if config.channels_last else torch.preserve_format
    G.to(device, memory_format=memory_format).train()
    D.to(device, memory_format=memory_format).train()
    opt_g, opt_d = optimizers if optimizers is not None else _adam(G, D, config, device)
    path = None if checkpoint_dir is None else Path(checkpoint_dir) / CHECKPOINT_NAME
    run = _Run(G, D, opt_g, opt_d, config, History(), path)
    run.forward_G, run.forward_D = ((torch.compile(G), torch.compile(D)) if config.compile
                                    else (G, D))
    if config.bf16:
        run.autocast = functools.partial(torch.autocast, device.type, dtype=torch.bfloat16)
    return run


def _snapshotter(G: nn.Module, fixed_z: torch.Tensor, history: History) -> Callable[[int], None]:
    def snapshot(step: int) -> None:
        with evaluating(G):
            history.snapshots.append((step, G(fixed_z).float().cpu()))
    return snapshot


def _loop(run: _Run, batches: Iterator[torch.Tensor], device: torch.device,
          snapshot: Callable[[int], None], done: int, progress: bool) -> None:
    """Steps ``done + 1 .. config.steps`` of :func:`fit`, with logging, snapshots, checkpoints,
    the divergence guard and Ctrl-C handling."""
    config = run.config
    run.start = time.perf_counter() - run.history.seconds
    bar = tqdm(range(done + 1, config.steps + 1), initial=done, total=config.steps,
               desc="training", unit="step", disable=not progress)
    completed, clean = done, True  # clean: no update of step completed + 1 has begun
    with _finish_step_on_ctrl_c() as stop_requested:
        try:
            for step in bar:
                clean = False
                run.pending.append((step, run.update(batches, device)))
                completed, clean = step, True
                snapshot_due = config.snapshot_every and step % config.snapshot_every == 0
                save_due = step % config.checkpoint_every == 0 or step == config.steps
                if (step % config.log_every == 0 or snapshot_due or save_due
                        or stop_requested.is_set()):
                    run.read_back(bar)
                if snapshot_due:
                    snapshot(step)
                if stop_requested.is_set() and step < config.steps:
                    raise KeyboardInterrupt
                if save_due:
                    run.save(step)
        except KeyboardInterrupt:
            _stop(run, completed, clean, bar)
        finally:
            bar.close()


def _stop(run: _Run, completed: int, clean: bool, bar: tqdm) -> None:
    """After Ctrl-C: save the last completed step if the models hold exactly its state."""
    run.read_back(bar)
    if clean:
        run.save(completed)
        where = f"after step {completed}"
    else:
        where = f"during step {completed + 1} (G and D keep their mid-step weights)"
    run.history.interrupted = True
    saved = ("" if run.path is None else
             f"; checkpoint: {run.path} at step {run.saved}" if run.saved is not None
             else "; no checkpoint written yet")
    warnings.warn(f"training interrupted {where}; the history ends at step "
                  f"{run.history.step[-1] if run.history.step else 0}{saved}",
                  RuntimeWarning, stacklevel=4)


def _record(history: History, step: int, stats: dict[str, float], seconds: float,
            bar: tqdm) -> None:
    history.step.append(step)
    for key in READINGS:
        getattr(history, key).append(stats[key])
    history.wall_time.append(seconds)
    bar.set_postfix(d_loss=f"{stats['d_loss']:.3f}", g_loss=f"{stats['g_loss']:.3f}",
                    D_x=f"{stats['d_x']:.2f}", D_G_z=f"{stats['d_g_z']:.2f}",
                    refresh=False)  # the bar redraws at its own pace
