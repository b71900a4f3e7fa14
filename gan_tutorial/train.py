"""The GAN training loop of Goodfellow et al. 2014, Algorithm 1, for any G and D.

Read :func:`training_loop` first: it *is* Algorithm 1, one screen long. Each step draws a
minibatch of real data and latents ``z``, makes ``config.d_steps`` discriminator updates
(:func:`d_step`) and one generator update (:func:`g_step`), with the loss named by
``config.loss`` (:data:`gan_tutorial.losses.LOSSES`). Everything a long run needs besides the
algorithm -- the progress bar, the history, snapshots, checkpoints, the divergence guard,
Ctrl-C -- lives in :class:`RunKeeper`, beside the loop; :func:`fit` puts the two together.
Nothing here names an architecture.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import Dataset, IterableDataset
from tqdm.auto import tqdm

from .checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    folder_lock,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from .config import TrainConfig
from .data import _example, minibatches
from .losses import LOSSES, discriminator_loss, get_loss
from .sampling import evaluating, fixed_labels, fixed_latents
from .utils import get_device
from .validation import (
    IMAGE_RANGE_TOLERANCE,
    check_finite,
    check_images,
    check_int,
    check_labels,
    check_number,
    describe,
)

#: Settings that may change when a run is resumed, because they do not change what is computed
#: (compile and channels_last change only the rounding, so the resume is then not bit-identical).
RESUMABLE_CHANGES = ("steps", "log_every", "snapshot_every", "checkpoint_every", "compile",
                     "channels_last", "num_workers")
#: The readings each step reports -- D's loss, G's loss, D's mean raw outputs on real and
#: generated samples and, for losses whose D ends in a sigmoid, D(x) and D(G(z)).
READINGS = ("d_loss", "g_loss", "real_score", "fake_score", "d_x", "d_g_z")
_D_READINGS = ("d_loss", "real_score", "fake_score", "d_x", "d_g_z")
DEFAULT_CONFIG = TrainConfig()  # frozen, so one shared default is safe


@dataclass
class History:
    """What :func:`fit` recorded, one entry per logged step (every ``config.log_every`` steps).

    Attributes:
        step: generator step of each entry (1-based).
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
    """Training produced a non-finite loss, D output, weight or optimiser state, so :func:`fit`
    stopped.

    Nothing was saved after the bad step: the last checkpoint (if any) holds the last good
    weights (every checkpoint is written only after G's and D's parameters and optimiser states
    are checked to be finite). G and D themselves now hold the non-finite weights of the bad
    update.

    Attributes:
        step: the generator step (1-based) whose readings were not finite, or, when the
            readings were finite but the weights after the update were not, that step.
        network: the network that diverged: ``"D"`` if D's output on real data, its loss or
            its weights became non-finite, ``"G"`` if G's images (D's output on them), its loss
            or its weights did; ``"G and D"`` if both hold non-finite weights when checked.
        values: that step's readings (the keys of :data:`READINGS` the loss reports).
        last_finite: ``(step, readings)`` of the last good step, or None if it was the first.
        history: the :class:`History` up to the last good step.
        checkpoint: the last good checkpoint file, or None if none was written.
    """

    def __init__(self, step: int, network: str, values: dict[str, float],
                 last_finite: tuple[int, dict[str, float]] | None, history: History,
                 checkpoint: Path | None, weights: bool = False) -> None:
        self.step, self.network, self.values = step, network, values
        self.last_finite, self.history, self.checkpoint = last_finite, history, checkpoint
        last = ("none (it was the first step)" if last_finite is None
                else f"step {last_finite[0]}: {_readings(last_finite[1])}")
        kept = f"{checkpoint} is left as it was" if checkpoint else "no checkpoint was written"
        what = (f"the {network} update of step {step} or before left non-finite weights or "
                f"optimiser state in {network} (the readings, measured before the update, "
                f"were finite)" if weights else
                f"the {network} update gave non-finite values ({_readings(values)})")
        super().__init__(f"training diverged at step {step}: {what}; last finite values: "
                         f"{last}; {kept}. Check the data for NaN or inf, or lower the "
                         f"learning rates.")


def _readings(values: Mapping[str, float]) -> str:
    return ", ".join(f"{key}={value:.4g}" for key, value in values.items())


def d_step(D: nn.Module, opt_d: torch.optim.Optimizer, x_real: torch.Tensor,
           x_fake: torch.Tensor, loss: str = "nonsaturating", y: torch.Tensor | None = None,
           lambda_gp: float = 10.0, r1_gamma: float = 0.0,
           label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
    """One discriminator update: descend D's loss on a minibatch (Goodfellow et al. 2014, Alg. 1).

    The fake images are *detached* here: this step changes D only, so back-propagating into G
    would be wasted work. :func:`g_step` then reuses the same ``x_fake``, graph and all.

    Args:
        D: the discriminator (returns logits or critic scores ``(B,)``).
        opt_d: the optimiser of D's parameters.
        x_real: real images ``(B, C, H, W) float32 in [-1, 1]`` (or points ``(B, d)``).
        x_fake: ``G(z)``, images of the same shape, on D's device.
        loss: a key of :data:`gan_tutorial.losses.LOSSES` (default ``"nonsaturating"``).
        y: class labels ``(B,) int64`` for a conditional D (``D(x, y)``), shared by the real
            and the fake batch; None for an unconditional D.
        lambda_gp: gradient-penalty weight, used by ``"wasserstein-gp"`` only, >= 0.
        r1_gamma: R1 weight on real data (Mescheder et al. 2018, Eq. 9), >= 0.
        label_smoothing: one-sided label smoothing: real target ``1 - label_smoothing``
            (Salimans et al. 2016), in ``[0, 1)``.

    A loss with ``weight_clip = c > 0`` (``"wasserstein-clip"``) clips D's parameters to
    ``[-c, c]`` after the update (:func:`clip_weights`).

    Returns:
        A dict of 0-dim tensors on D's device, measured before the update -- ``d_loss``,
        ``real_score`` and ``fake_score`` (mean raw outputs) and, for losses with a sigmoid,
        ``d_x`` and ``d_g_z`` (mean probabilities in [0, 1]). Reading one (``float``) waits for
        the device, so :func:`fit` reads them only every ``log_every`` steps.
    """
    spec = get_loss(loss)
    D_y = D if y is None else (lambda x: D(x, y))  # noqa: E731
    total, real_out, fake_out = discriminator_loss(spec, D_y, x_real, x_fake.detach(),
                                                   lambda_gp, r1_gamma,
                                                   label_smoothing=label_smoothing)
    opt_d.zero_grad(set_to_none=True)
    total.backward()
    opt_d.step()
    if spec.weight_clip:
        clip_weights(D, spec.weight_clip)
    real_out, fake_out = real_out.detach().float(), fake_out.detach().float()
    readings = {"d_loss": total.detach(), "real_score": real_out.mean(),
                "fake_score": fake_out.mean()}
    if spec.sigmoid:
        readings |= {"d_x": torch.sigmoid(real_out).mean(),
                     "d_g_z": torch.sigmoid(fake_out).mean()}
    return readings


def g_step(D: nn.Module, opt_g: torch.optim.Optimizer, x_fake: torch.Tensor,
           loss: str = "nonsaturating", y: torch.Tensor | None = None
           ) -> dict[str, torch.Tensor]:
    """One generator update: descend G's loss through D (Goodfellow et al. 2014, Alg. 1).

    ``x_fake = G(z)`` is the batch the D step just saw, still attached to G's graph: G is not
    run a second time. D (already updated) is frozen while it judges the batch, so the backward
    pass computes the gradient for the images, and through them for G, but none for D's weights.

    Args:
        D: the discriminator (returns logits or critic scores ``(B,)``).
        opt_g: the optimiser of G's parameters.
        x_fake: ``G(z)`` computed with autograd on, e.g. ``(B, C, H, W)`` in [-1, 1].
        loss: a key of :data:`gan_tutorial.losses.LOSSES` (default ``"nonsaturating"``).
        y: the labels ``(B,) int64`` x_fake was generated for (conditional GANs), or None.

    Returns:
        ``{"g_loss": ...}``, measured before the update, a 0-dim tensor on D's device.
    """
    with _frozen(D):
        fake_out = D(x_fake) if y is None else D(x_fake, y)
        total = get_loss(loss).g_loss(fake_out)
    opt_g.zero_grad(set_to_none=True)
    total.backward()
    opt_g.step()
    return {"g_loss": total.detach()}


def training_loop(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer,
                  opt_d: torch.optim.Optimizer, batches: Iterator[tuple[torch.Tensor, Any]],
                  config: TrainConfig, keeper: RunKeeper,
                  ema: AveragedModel | None = None) -> None:
    """Goodfellow et al. 2014, Algorithm 1: k = ``config.d_steps`` D updates, then one G update.

    ``batches`` yields ``(x_real, y)``: real samples and their labels (``y = None`` for an
    unconditional GAN; a conditional G makes its fakes for the real batch's labels).
    ``keeper`` (:class:`RunKeeper`) numbers the steps and, after each one, records the
    readings, takes snapshots and checkpoints and stops on NaN or Ctrl-C. Two stabilisers
    plug in here: ``config.replay_size`` mixes past fakes into D's batches
    (:class:`ReplayBuffer`), and ``ema`` (:func:`ema_generator`) averages G after each step.
    """
    replay = ReplayBuffer(config.replay_size)  # size 0: D sees only the current fakes
    for step in keeper.steps():  # done + 1, ..., config.steps
        for _ in range(config.d_steps):
            x_real, y = next(batches)
            z = torch.randn(len(x_real), config.latent_dim, device=x_real.device)
            x_fake = G(z) if y is None else G(z, y)
            readings = d_step(D, opt_d, x_real, replay.mix(x_fake, y), config.loss, y,
                              config.lambda_gp, config.r1_gamma, config.label_smoothing)
        readings |= g_step(D, opt_g, x_fake, config.loss, y)  # on the last fake batch
        if ema is not None:
            ema.update_parameters(G)
        keeper.after_step(step, readings)


def clip_weights(D: nn.Module, c: float) -> None:
    """Clip every parameter of D to ``[-c, c]``, in place (Arjovsky et al. 2017, Algorithm 1,
    line 7: the crude way of the WGAN paper to keep the critic K-Lipschitz for some K).

    Raises:
        ValueError: if ``c`` is not a finite number > 0.
    """
    c = check_number("c", c, minimum=0, above=True)
    with torch.no_grad():
        for p in D.parameters():
            p.clamp_(-c, c)


class ReplayBuffer:
    """Experience replay of past generated images for D (Shrivastava et al. 2017, Section 2.3).

    D can forget what G did a while ago, and G can then return to it. The buffer keeps up to
    ``capacity`` past fakes. Until it is full, :meth:`mix` stores the current fakes and returns
    them unchanged. Once it is full, D's fake batch is the first half of the current fakes
    plus as many images drawn at random from the buffer, and the current batch's other half
    replaces random entries (the paper's ``b/2`` from the history, ``b/2`` current). The
    random draws use torch's global random state. The buffer is not saved in checkpoints.

    Args:
        capacity: images the buffer holds, >= 0; 0 turns replay off (:meth:`mix` returns its
            input).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = check_int("capacity", capacity, minimum=0)
        self.images: torch.Tensor | None = None  # (n <= capacity, ...) detached fakes

    def mix(self, x_fake: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D's fake batch for ``x_fake (B, ...)``: ``x_fake`` itself while the buffer fills
        (or when replay is off); once it is full, the first ``B - B // 2`` current fakes
        followed by ``B // 2`` past ones from the buffer.

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
        self.images[slots] = new[len(new) - half:]
        return mixed


def ema_generator(G: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of G's weights, to sample from (Yazici et al. 2019).

    ``theta_ema <- decay * theta_ema + (1 - decay) * theta_G`` after every generator step
    (pass it to :func:`fit` as ``ema=``); it starts as a copy of G. BatchNorm's running
    statistics are averaged the same way (``use_buffers=True``). Built on
    ``torch.optim.swa_utils.AveragedModel``; the averaged G is ``ema.module``, sampled like
    any G (e.g. ``sample(ema.module, n)``). Yazici et al. use decay 0.9999 over 100,000s of
    steps; the average spans about ``1 / (1 - decay)`` steps, so short runs need less.

    Args:
        G: the generator, on the device it trains on.
        decay: ``beta`` in ``(0, 1)``.

    Raises:
        ValueError: if ``decay`` is not in ``(0, 1)``.
    """
    decay = check_number("decay", decay, 0, 1, above=True, below=True)
    return AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


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


# --- Beside the loop: checks, acceleration, bookkeeping, resume, Ctrl-C ------------------------

def _num_classes(G: nn.Module, D: nn.Module) -> int | None:
    """The models' number of classes (None: unconditional); they must agree."""
    g_classes, d_classes = getattr(G, "num_classes", None), getattr(D, "num_classes", None)
    if g_classes != d_classes:
        raise ValueError(f"G and D must both be conditional on the same classes or both be "
                         f"unconditional, got G.num_classes={g_classes!r} and "
                         f"D.num_classes={d_classes!r}")
    return g_classes


def _check_data(data: Any, batch_size: int, num_classes: int | None) -> None:
    """Check the training data: all of a tensor or ``(images, labels)`` pair, the first
    minibatch of a Dataset (which cannot be read whole; :class:`_CheckedItems` checks every
    item as it is read)."""
    if isinstance(data, IterableDataset):
        raise ValueError(f"fit needs data it can index and count: a tensor, a pair (images, "
                         f"labels) or a map-style torch.utils.data.Dataset (with __len__ and "
                         f"__getitem__), got the IterableDataset {type(data).__name__}")
    if isinstance(data, Dataset) and not isinstance(data, torch.Tensor):
        if len(data) < batch_size:  # type: ignore[arg-type]
            raise ValueError(f"fit needs at least batch_size={batch_size} examples, "
                             f"got {len(data)}")  # type: ignore[arg-type]
        first = next(minibatches(data, batch_size, seed=0, labels=num_classes is not None))
        data = first if num_classes is not None else (first, None)
    elif isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"fit expected data as images or as a pair (images, labels), got "
                             f"a {type(data).__name__} of length {len(data)}")
    else:
        data = (data, None)
    x, y = data
    if num_classes is not None and y is None:
        raise ValueError("G and D are conditional (num_classes is set), so fit needs labelled "
                         "data: a pair (images, labels) or a Dataset of (image, label) pairs")
    if not isinstance(x, torch.Tensor) or x.dim() < 2 or len(x) < batch_size:
        raise ValueError(f"fit expected at least batch_size={batch_size} samples: images "
                         f"(N, C, H, W) float32 in [-1, 1] or points (N, d); got {describe(x)}")
    if x.dim() == 4:
        check_images("the training images", x)
        if float(x.min()) >= 0:
            raise ValueError(f"the training images must span [-1, 1] (the range of G's tanh "
                             f"output), but none is below 0 (values in [0, {float(x.max()):.4g}]"
                             f"): they look like images in [0, 1]; map them with x * 2 - 1")
    elif not x.is_floating_point():
        raise ValueError(f"fit expected float points (N, d), got {describe(x)}")
    check_finite("the training data", x)
    if y is not None and num_classes is not None:
        check_labels("the training labels", y, len(x), num_classes)


class _CheckedItems(Dataset):
    """A Dataset whose items are checked as they are read: finite and, for images (items with
    3 dimensions), in [-1, 1]. Items after the first minibatch are otherwise never seen whole;
    the check runs on the CPU, in the DataLoader's workers, with no device sync."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        item = self.dataset[index]
        x = torch.as_tensor(_example(item))
        if x.is_floating_point() and x.numel():
            bad = not bool(torch.isfinite(x).all())
            if not bad and x.dim() == 3:
                low, high = (float(v) for v in torch.aminmax(x))
                bad = min(low, -high) < -1 - IMAGE_RANGE_TOLERANCE
            if bad:
                raise ValueError(f"dataset item {index} must be finite"
                                 + (" and in [-1, 1]" if x.dim() == 3 else "")
                                 + f", got values in [{float(x.min()):.4g}, "
                                   f"{float(x.max()):.4g}]")
        return item


def _check_optimizers(G: nn.Module, D: nn.Module, optimizers: Any) -> None:
    """``optimizers`` must be ``(opt_g, opt_d)``: opt_g updates only G's parameters, opt_d only
    D's (swapped optimisers would train nothing, silently)."""
    if (not isinstance(optimizers, (tuple, list)) or len(optimizers) != 2
            or not all(isinstance(o, torch.optim.Optimizer) for o in optimizers)):
        raise ValueError(f"optimizers must be a pair (opt_g, opt_d) of torch optimisers, got "
                         f"{describe(optimizers)}")
    for name, optimizer, network, module, other in (
            ("opt_g", optimizers[0], "G", G, D), ("opt_d", optimizers[1], "D", D, G)):
        given = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if not given or not given <= {id(p) for p in module.parameters()}:
            swapped = given and given <= {id(p) for p in other.parameters()}
            raise ValueError(f"optimizers must be (opt_g, opt_d): {name} must update "
                             f"parameters of {network} only"
                             + ("; it updates the other network's, so the pair looks swapped"
                                if swapped else ""))


def _all_finite(module: nn.Module, optimizer: torch.optim.Optimizer) -> bool:
    """True if the module's parameters and the optimiser's floating state are all finite."""
    tensors = [*module.parameters(),
               *(value for state in optimizer.state.values() for value in state.values()
                 if isinstance(value, torch.Tensor) and value.is_floating_point())]
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()) \
        if tensors else True


def _check_history(history: History, step: int) -> None:
    """Raise ``ValueError`` unless the logged steps increase up to ``step`` and every reading
    has one entry per logged step (or none, for readings the loss does not report)."""
    steps = history.step
    if (not all(isinstance(s, int) and 1 <= s <= step for s in steps)
            or any(a >= b for a, b in zip(steps, steps[1:]))):
        raise ValueError(f"its logged steps must be increasing integers in [1, {step}]")
    for key in (*READINGS, "wall_time"):
        values = getattr(history, key)
        if not isinstance(values, list) or len(values) not in (0, len(steps)):
            raise ValueError(f"{key} must be a list with one entry per logged step "
                             f"({len(steps)}), got {describe(values)}")


def _check_ema(ema: object, config: TrainConfig) -> None:
    """``ema`` must be an ``AveragedModel`` exactly when ``config.ema_decay > 0``."""
    if config.ema_decay and not isinstance(ema, AveragedModel):
        raise ValueError(f"config.ema_decay={config.ema_decay} asks for a moving average of G: "
                         f"pass ema=ema_generator(G, config.ema_decay) and sample from "
                         f"ema.module; got ema={describe(ema)}")
    if not config.ema_decay and ema is not None:
        raise ValueError("fit got ema= but config.ema_decay is 0: set ema_decay to the decay "
                         "the average was made with")


def _real_batches(data: Any, config: TrainConfig, start: int, device: torch.device,
                  conditional: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Endless ``(x_real, y)`` minibatches from :func:`gan_tutorial.data.minibatches`, skipping
    the first ``start``; ``y`` is None unless ``conditional``."""
    batches = minibatches(data, config.batch_size, config.seed, start, device,
                          config.num_workers, labels=conditional)
    memory_format = torch.channels_last if config.channels_last else torch.preserve_format
    for batch in batches:
        x, y = batch if conditional else (batch, None)
        yield (x.contiguous(memory_format=memory_format) if x.dim() == 4 else x), y


class _Autocast(nn.Module):
    """Runs a module under bfloat16 autocast. D's outputs are returned as float32, so that the
    losses are computed in float32; G's images stay bfloat16 (D casts them anyway)."""

    def __init__(self, module: nn.Module, device_type: str, float_output: bool) -> None:
        super().__init__()
        self.module, self.device_type, self.float_output = module, device_type, float_output

    def forward(self, *args: Any) -> torch.Tensor:
        with torch.autocast(self.device_type, dtype=torch.bfloat16):
            output = self.module(*args)
        return output.float() if self.float_output else output


def accelerate(G: nn.Module, D: nn.Module, config: TrainConfig,
               device: torch.device) -> tuple[nn.Module, nn.Module]:
    """Move G and D to ``device`` in training mode and apply ``config``'s acceleration flags.

    ``channels_last`` stores their 4-D weights in that memory format; ``compile`` wraps each in
    ``torch.compile``; ``bf16`` runs their forward passes under bfloat16 autocast (D's outputs
    float32, so the losses are computed in float32). Returns the modules the training loop
    calls; their parameters are G's and D's own, so optimisers and checkpoints see the same
    weights.
    """
    memory_format = torch.channels_last if config.channels_last else torch.preserve_format
    G.to(device, memory_format=memory_format).train()
    D.to(device, memory_format=memory_format).train()
    G_fast, D_fast = (torch.compile(G), torch.compile(D)) if config.compile else (G, D)
    if config.bf16:
        G_fast = _Autocast(G_fast, device.type, float_output=False)
        D_fast = _Autocast(D_fast, device.type, float_output=True)
    return G_fast, D_fast


def _adam(G: nn.Module, D: nn.Module, config: TrainConfig,
          device: torch.device) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """Adam for G and for D. The fused implementation (one kernel for all parameters) where
    PyTorch has one: on a 2-core CPU it updates the MLP GAN's 2 million weights in about 1 ms
    instead of 7 ms."""
    options = {"betas": (config.beta1, config.beta2), "fused": device.type in ("cpu", "cuda")}
    return (torch.optim.Adam(G.parameters(), lr=config.lr_g, **options),
            torch.optim.Adam(D.parameters(), lr=config.lr_d, **options))


class RunKeeper:
    """Everything :func:`training_loop` needs besides Algorithm 1.

    :meth:`steps` yields the step numbers behind a ``tqdm`` progress bar and stops after a
    Ctrl-C; :meth:`after_step` keeps each step's readings on the device and, every
    ``log_every`` steps (and before snapshots and checkpoints), reads them back in one sync,
    stops with :class:`TrainingDiverged` at the first non-finite one, records them in the
    :class:`History`, takes snapshots of ``G(fixed_z)`` and writes checkpoints.
    """

    def __init__(self, G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer,
                 opt_d: torch.optim.Optimizer, config: TrainConfig, path: Path | None,
                 progress: bool) -> None:
        self.G, self.D, self.opt_g, self.opt_d = G, D, opt_g, opt_d
        self.config, self.path, self.progress = config, path, progress
        self.keys = [key for key in READINGS
                     if LOSSES[config.loss].sigmoid or key not in ("d_x", "d_g_z")]
        self.history = History()
        self.done = 0  # steps completed before this call of fit (resume)
        self.completed = 0  # the last step whose updates are complete
        self.in_step = False  # True while a step's updates run
        self.saved: int | None = None  # the step of the last good checkpoint in ``path``
        self.last: tuple[int, dict[str, float]] | None = None  # the last finite readings
        self.pending: list[tuple[int, torch.Tensor]] = []  # readings not yet read back
        self.stop_requested = threading.Event()
        self.snapshot_input: tuple[torch.Tensor, ...] = ()
        self.start = 0.0
        self.bar: tqdm | None = None

    def steps(self) -> Iterator[int]:
        """Steps ``done + 1 .. config.steps``; ends early (KeyboardInterrupt) after a Ctrl-C."""
        self.start = time.perf_counter() - self.history.seconds
        self.bar = tqdm(total=self.config.steps, initial=self.done, desc="training",
                        unit="step", disable=not self.progress)
        self.completed = self.done
        for step in range(self.done + 1, self.config.steps + 1):
            self.in_step = True
            yield step
            if self.stop_requested.is_set() and step < self.config.steps:
                raise KeyboardInterrupt

    def after_step(self, step: int, readings: dict[str, torch.Tensor]) -> None:
        """Keep the readings of ``step`` and do what is due: read back, snapshot, checkpoint."""
        self.in_step, self.completed = False, step
        self.pending.append((step, torch.stack([readings[key].float() for key in self.keys])))
        self.bar.update()
        config = self.config
        snapshot_due = config.snapshot_every and step % config.snapshot_every == 0
        save_due = step % config.checkpoint_every == 0 or step == config.steps
        if (step % config.log_every == 0 or snapshot_due or save_due
                or self.stop_requested.is_set()):
            self.read_back()
        if snapshot_due or save_due:
            self.check_weights(step)
        if snapshot_due:
            self.snapshot(step)
        if save_due:
            self.save(step)

    def read_back(self) -> None:
        """Copy the pending readings to the host (one device sync), check that they are finite
        and record the logged steps in the history."""
        if not self.pending:
            return
        rows = torch.stack([readings for _, readings in self.pending]).tolist()
        steps = [step for step, _ in self.pending]
        self.pending.clear()
        for step, row in zip(steps, rows):
            stats = dict(zip(self.keys, row))
            self.check_finite(step, stats)
            if step % self.config.log_every == 0 or step == self.config.steps:
                self.record(step, stats)

    def check_finite(self, step: int, stats: dict[str, float]) -> None:
        """Raise :class:`TrainingDiverged` if a reading is NaN or infinite."""
        bad = [key for key, value in stats.items() if not math.isfinite(value)]
        if bad:
            # In a step, D's readings are measured before D's update, g_loss after it and
            # before G's. D's outputs on real data depend on D alone; non-finite outputs on
            # G's images (real ones finite) mean G's images are; a non-finite g_loss alone
            # means D's update broke D if D's weights now hold NaN or inf, else G's loss.
            network = ("D" if {"real_score", "d_x"} & set(bad)
                       else "G" if {"fake_score", "d_g_z"} & set(bad)
                       else "D" if set(bad) & set(_D_READINGS)
                       or not _all_finite(self.D, self.opt_d) else "G")
            checkpoint = self.path if self.saved is not None else None
            raise TrainingDiverged(step, network, stats, self.last, self.history, checkpoint)
        self.last = (step, stats)

    def check_weights(self, step: int) -> None:
        """Raise :class:`TrainingDiverged` if G's or D's parameters or optimiser states hold
        NaN or infinity (one device sync; called only before snapshots and checkpoints)."""
        bad = [network for network, module, optimizer in (("G", self.G, self.opt_g),
                                                           ("D", self.D, self.opt_d))
               if not _all_finite(module, optimizer)]
        if bad:
            checkpoint = self.path if self.saved is not None else None
            values = self.last[1] if self.last is not None and self.last[0] == step else {}
            raise TrainingDiverged(step, " and ".join(bad), values, self.last, self.history,
                                   checkpoint, weights=True)

    def record(self, step: int, stats: dict[str, float]) -> None:
        """Append one entry to the history and show it on the progress bar."""
        self.history.step.append(step)
        for key, value in stats.items():
            getattr(self.history, key).append(value)
        self.history.wall_time.append(time.perf_counter() - self.start)
        shown = {"D": "d_loss", "G": "g_loss", "D(x)": "d_x", "D(G(z))": "d_g_z"}
        self.bar.set_postfix_str(", ".join(f"{name}={stats[key]:.3f}" for name, key
                                           in shown.items() if key in stats), refresh=False)

    def snapshot(self, step: int) -> None:
        """Append ``(step, G(fixed_z))`` to the history's snapshots (G in eval mode)."""
        if self.snapshot_input:
            with evaluating(self.G):
                images = self.G(*self.snapshot_input).float().cpu()
            self.history.snapshots.append((step, images))

    def save(self, step: int) -> None:
        """Write the checkpoint of ``step``; :meth:`read_back` first, so that no step with
        unchecked readings is saved."""
        if self.path is not None and step != self.saved:
            save_checkpoint(self.path, self.G, self.D, self.opt_g, self.opt_d, self.config,
                            step, self.history.to_dict())
            self.saved = step

    def resume(self) -> int:
        """Restore G, D, the optimisers, the history and torch's random state from the
        checkpoint at ``path`` if there is one; return the number of steps it had done."""
        if self.path is None or not self.path.exists():
            return 0
        checkpoint = load_checkpoint(self.path)
        if checkpoint.step > self.config.steps:
            raise ValueError(f"cannot resume from {self.path}: it has done {checkpoint.step} "
                             f"steps, more than config.steps={self.config.steps}; pass steps >= "
                             f"{checkpoint.step} to continue it, resume=False to start over, or "
                             f"another checkpoint_dir")
        old, new = checkpoint.config.to_dict(), self.config.to_dict()
        differ = [key for key in new if key not in RESUMABLE_CHANGES and old[key] != new[key]]
        if differ:
            raise ValueError(f"cannot resume from {self.path}: it was written with "
                             + ", ".join(f"{key}={old[key]!r}" for key in differ) + " but this "
                             "config has " + ", ".join(f"{key}={new[key]!r}" for key in differ)
                             + "; pass resume=False to start over, or use another "
                             "checkpoint_dir")
        try:
            history = History.from_dict(checkpoint.history)
            _check_history(history, checkpoint.step)
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{self.path} holds an invalid history ({error})") from error
        checkpoint.restore(self.G, self.D, self.opt_g, self.opt_d)
        restore_rng_state(checkpoint.rng_state)
        history.interrupted = False
        self.history, self.saved, self.done = history, checkpoint.step, checkpoint.step
        return self.done

    def interrupted(self) -> None:
        """After Ctrl-C: save the last completed step if the models hold exactly its state."""
        self.read_back()
        if not self.in_step:
            if self.path is not None:
                self.check_weights(self.completed)
            self.save(self.completed)
            where = f"after step {self.completed}"
        else:
            where = f"during step {self.completed + 1} (G and D keep their mid-step weights)"
        self.history.interrupted = True
        saved = ("" if self.path is None else
                 f"; checkpoint: {self.path} at step {self.saved}" if self.saved is not None
                 else "; no checkpoint written yet")
        last = self.history.step[-1] if self.history.step else 0
        warnings.warn(f"training interrupted {where}; the history ends at step {last}{saved}",
                      RuntimeWarning, stacklevel=5)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Run the loop inside: a first Ctrl-C (SIGINT) only sets ``stop_requested``, so
        that the current step finishes and is saved (:meth:`interrupted`); a second Ctrl-C
        raises KeyboardInterrupt at once. Outside the main thread, where Python cannot catch
        signals, Ctrl-C works as usual. The progress bar is closed however the loop ends."""
        def handler(signum: int, frame: object) -> None:
            if self.stop_requested.is_set():
                raise KeyboardInterrupt
            self.stop_requested.set()

        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, handler) if main else None
        try:
            yield
        except KeyboardInterrupt:
            self.interrupted()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous if previous is not None
                              else signal.default_int_handler)
            if self.bar is not None:
                self.bar.close()


def fit(G: nn.Module, D: nn.Module, data: Any, config: TrainConfig = DEFAULT_CONFIG,
        device: torch.device | str | None = None, fixed_z: torch.Tensor | None = None,
        checkpoint_dir: str | Path | None = None, resume: bool = True, progress: bool = True,
        optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer] | None = None,
        ema: AveragedModel | None = None) -> History:
    """Train G and D with :func:`training_loop` (Algorithm 1) and return the :class:`History`.

    Minibatches come from :func:`gan_tutorial.data.minibatches` in an order seeded with
    ``config.seed``: a tensor is held on the training device and sliced there, a ``Dataset`` is
    read by a ``DataLoader``; both give the same minibatches. z is drawn from torch's global
    random state. Models are trained in place. A conditional G and D (``num_classes`` set)
    get each real minibatch's labels, and G makes its fakes for those labels.

    **Readings** (losses, D's outputs) stay on the device and are read back every
    ``config.log_every`` steps, when the progress bar shows them and the history records them.

    **Checkpoints.** With ``checkpoint_dir``, the file ``checkpoint_dir / "checkpoint.pt"`` is
    written atomically every ``config.checkpoint_every`` steps, after the last step and on
    Ctrl-C (see :mod:`gan_tutorial.checkpoint`). If it exists and ``resume`` is True, training
    continues from it up to ``config.steps``: on the CPU, bit-identical to a run never stopped.

    **Ctrl-C** lets the current step finish, saves it, warns and returns the partial history
    with ``history.interrupted = True``. A second Ctrl-C stops at once (G and D keep their
    mid-step weights; the last checkpoint is left as it was).

    **Divergence guard.** A NaN or infinite reading stops training with
    :class:`TrainingDiverged` at the next read-back, naming the first bad step; before every
    snapshot and checkpoint (and after the last step) G's and D's parameters and optimiser
    states are checked too. Nothing is saved after the last good step.

    **One run per folder.** ``checkpoint_dir`` is locked for the whole run
    (:func:`gan_tutorial.checkpoint.folder_lock`, POSIX), and checked to be writable before
    the first step.

    Args:
        G, D: generator (with ``latent_dim``) and discriminator (outputs ``(B,)``).
        data: ``N >= config.batch_size`` finite training samples: images ``(N, C, H, W)
            float32 in [-1, 1]`` or points ``(N, d)``; or a pair ``(images, labels)`` with
            labels ``(N,) int64`` in ``[0, num_classes)``; or a ``torch.utils.data.Dataset``
            of samples or of ``(sample, label)`` pairs (its first minibatch is checked).
            Labels are used only by a conditional G and D.
        config: the settings; see :class:`gan_tutorial.config.TrainConfig`.
        device: where to train; ``None`` means :func:`gan_tutorial.utils.get_device`.
        fixed_z: latents for the snapshots, ``(n, latent_dim)``; default 16 vectors from
            ``fixed_latents(16, latent_dim, seed=config.seed)`` (a conditional G draws them
            for the labels ``fixed_labels(n, num_classes)``: 0, 1, 2, ...).
        checkpoint_dir: folder of the checkpoint file (created if missing); None: no file.
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one; False
            starts over and overwrites it.
        progress: show the progress bar.
        optimizers: ``(opt_g, opt_d)``; default fused Adam with ``config.lr_g``/``lr_d`` and
            betas ``(config.beta1, config.beta2)``. On resume their states are replaced.
        ema: the moving average of G that ``config.ema_decay > 0`` asks for, made by
            ``ema_generator(G, config.ema_decay)``; updated after every step and moved to
            ``device``. Not saved in checkpoints (after a resume it restarts from G).

    Returns:
        The :class:`History` (on resume it includes the steps before the checkpoint).

    Raises:
        ValueError: if ``config`` is not a TrainConfig; if the data are not finite samples of
            the shapes above (images outside [-1, 1] or all in [0, 1], float64 or float16,
            labels out of range or missing for a conditional model, an IterableDataset; a
            Dataset item read later that is not finite or in range); if G and D disagree on
            ``num_classes``; if ``optimizers`` is not ``(opt_g, opt_d)`` for G and D (swapped,
            say); if ``checkpoint_dir`` cannot be created and written (checked before
            training); or if the checkpoint to resume from was written with other settings
            than ``config`` (apart from :data:`RESUMABLE_CHANGES`) or has done more than
            ``config.steps`` steps.
        CheckpointLocked: if another run holds ``checkpoint_dir``
            (:func:`gan_tutorial.checkpoint.folder_lock`).
        CheckpointError: if the checkpoint to resume from is damaged or does not fit G and D.
        TrainingDiverged: if a loss or D output becomes NaN or infinite, or G's or D's weights
            or optimiser states are when checked before a snapshot or checkpoint (then that
            checkpoint is not written).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {describe(config)}; build one with "
                         f"TrainConfig(**settings)")
    num_classes = _num_classes(G, D)
    _check_data(data, config.batch_size, num_classes)
    _check_ema(ema, config)
    if optimizers is not None:
        _check_optimizers(G, D, optimizers)
    if isinstance(data, Dataset) and not isinstance(data, torch.Tensor):
        data = _CheckedItems(data)
    device = get_device() if device is None else torch.device(device)
    if ema is not None:
        ema.to(device)
    path = None if checkpoint_dir is None else Path(checkpoint_dir) / CHECKPOINT_NAME
    # one run per checkpoint folder; taking the lock also checks that the folder can be written
    with folder_lock(path.parent) if path is not None else contextlib.nullcontext():
        G_fast, D_fast = accelerate(G, D, config, device)
        opt_g, opt_d = optimizers if optimizers is not None else _adam(G, D, config, device)
        keeper = RunKeeper(G, D, opt_g, opt_d, config, path, progress)
        done = keeper.resume() if resume else 0
        keeper.history.device = str(device)
        if config.snapshot_every:
            fixed_z = fixed_latents(16, config.latent_dim, seed=config.seed) \
                if fixed_z is None else fixed_z
            keeper.snapshot_input = ((fixed_z.to(device),) if num_classes is None else
                                     (fixed_z.to(device),
                                      fixed_labels(len(fixed_z), num_classes).to(device)))
            if done == 0:
                keeper.snapshot(0)
        batches = _real_batches(data, config, done * config.d_steps, device,
                                num_classes is not None)
        with keeper.running():
            training_loop(G_fast, D_fast, opt_g, opt_d, batches, config, keeper, ema)
    return keeper.history
