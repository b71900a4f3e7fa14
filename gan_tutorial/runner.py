"""``fit``: one call that checks a run's inputs once, then trains G and D with
:func:`gan_tutorial.train.training_loop` and the callbacks of :mod:`gan_tutorial.callbacks`
(progress bar, read-back, divergence guard, snapshots, checkpoints, resume, Ctrl-C).

Nothing here changes what a step computes: that is :mod:`gan_tutorial.train`.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import Dataset, IterableDataset

from .callbacks import (
    EMA,
    CallbackList,
    Checkpoints,
    History,
    ImagePool,
    ProgressBar,
    ReadBack,
    Snapshots,
    StopOnCtrlC,
    resume_run,
)
from .checkpoint import CHECKPOINT_NAME, folder_lock
from .config import TrainConfig
from .data import _example, _label, minibatches
from .models import labels_checked
from .sampling import fixed_labels, fixed_latents
from .train import Callback, training_loop
from .utils import get_device
from .validation import (
    IMAGE_RANGE_TOLERANCE,
    check_finite,
    check_images,
    check_labels,
    describe,
    shape_differences,
)

DEFAULT_CONFIG = TrainConfig()  # frozen, so one shared default is safe
#: The optimizer families :func:`make_optimizers` builds.
OPTIMIZER_KINDS = ("adam", "rmsprop")


def fit(G: nn.Module, D: nn.Module, data: Any, config: TrainConfig = DEFAULT_CONFIG,
        device: torch.device | str | None = None, fixed_z: torch.Tensor | None = None,
        checkpoint_dir: str | Path | None = None, resume: bool = True, progress: bool = True,
        optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer] | None = None,
        ema: AveragedModel | None = None) -> History:
    """Train G and D with :func:`~gan_tutorial.train.training_loop` (Algorithm 1) and return
    the :class:`~gan_tutorial.callbacks.History`.

    Minibatches come from :func:`gan_tutorial.data.minibatches` in an order seeded with
    ``config.seed``: a tensor is held on the training device and sliced there, a ``Dataset`` is
    read by a ``DataLoader``; both give the same minibatches. z is drawn from torch's global
    random state. Models are trained in place. A conditional G and D (``num_classes`` set)
    get each real minibatch's labels, and G makes its fakes for those labels.

    **Logs** (losses, D's outputs) stay on the device and are read back every
    ``config.log_every`` steps, when the progress bar shows them and the history records them.

    **Checkpoints.** With ``checkpoint_dir``, the file ``checkpoint_dir / "checkpoint.pt"`` is
    written atomically every ``config.checkpoint_every`` steps, after the last step and on
    Ctrl-C (see :mod:`gan_tutorial.checkpoint`). If it exists and ``resume`` is True, training
    continues from it up to ``config.steps``: on the CPU, bit-identical to a run never stopped.

    **Ctrl-C** lets the current step finish, saves it, warns and returns the partial history
    with ``history.interrupted = True``. A second Ctrl-C stops at once (G and D keep their
    mid-step weights; the last checkpoint is left as it was).

    **Divergence guard.** A NaN or infinite log stops training with
    :class:`~gan_tutorial.callbacks.TrainingDiverged` at the next read-back, naming the first
    bad step; before every snapshot and checkpoint (and after the last step) G's and D's
    parameters and optimizer states are checked too. Nothing is saved after the last good step.

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
        fixed_z: latents for the snapshots, ``(n, latent_dim) float32``, finite; default 16
            vectors from ``fixed_latents(16, latent_dim, seed=config.seed)`` (a conditional G
            draws them for the labels ``fixed_labels(n, num_classes)``: 0, 1, 2, ...).
        checkpoint_dir: folder of the checkpoint file (created if missing); None: no file.
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one; False
            starts over and overwrites it.
        progress: show the progress bar.
        optimizers: ``(opt_g, opt_d)``; default :func:`make_optimizers` (fused Adam with
            ``config.lr_g``/``lr_d`` and betas ``(config.beta1, config.beta2)``). On resume
            their states are replaced.
        ema: the moving average of G that ``config.ema_decay > 0`` asks for, made by
            ``ema_generator(G, config.ema_decay)`` (G's parameter names and shapes, the
            config's decay); updated after every step and moved to ``device``. Not saved in
            checkpoints (after a resume it restarts from G).

    Returns:
        The History (on resume it includes the steps before the checkpoint).

    Raises:
        ValueError: if ``config`` is not a TrainConfig; if the data are not finite samples of
            the shapes above (images outside [-1, 1] or all in [0, 1], float64 or float16,
            labels out of range or missing for a conditional model, an IterableDataset; a
            Dataset item read later that is not finite or in range); if G and D disagree on
            ``num_classes``; if ``ema`` is missing while ``config.ema_decay > 0``, given while it
            is 0, not an exponential average of a network with G's parameter names and shapes,
            or averages with another decay than ``config.ema_decay``; if ``fixed_z`` is not a
            finite float32 tensor ``(n, latent_dim)``; if ``optimizers`` is not ``(opt_g,
            opt_d)`` for G and D (swapped, say); if ``checkpoint_dir`` cannot be created and
            written (checked before training); or if the checkpoint to resume from was
            written with other settings than ``config`` (apart from ``RESUMABLE_CHANGES``) or
            has done more than ``config.steps`` steps.
        CheckpointLocked: if another run holds ``checkpoint_dir``
            (:func:`gan_tutorial.checkpoint.folder_lock`).
        CheckpointError: if the checkpoint to resume from is damaged or does not fit G and D
            and the optimizers (its optimizer states were written by another optimizer class,
            say); nothing is changed then.
        TrainingDiverged: if a loss or D output becomes NaN or infinite, or G's or D's weights
            or optimizer states are when checked before a snapshot or checkpoint (then that
            checkpoint is not written).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {describe(config)}; build one with "
                         f"TrainConfig(**settings)")
    num_classes = _num_classes(G, D)
    _check_data(data, config.batch_size, num_classes)
    _check_ema(ema, config, G)
    if fixed_z is not None:
        _check_fixed_z(fixed_z, getattr(G, "latent_dim", config.latent_dim))
    if optimizers is not None:
        _check_optimizers(G, D, optimizers)
    if isinstance(data, Dataset) and not isinstance(data, torch.Tensor):
        data = _CheckedItems(data, num_classes)
    device = get_device() if device is None else torch.device(device)
    if ema is not None:
        ema.to(device)
    path = None if checkpoint_dir is None else Path(checkpoint_dir) / CHECKPOINT_NAME
    # one run per checkpoint folder; taking the lock also checks that the folder can be written
    with folder_lock(path.parent) if path is not None else contextlib.nullcontext():
        G_fast, D_fast = prepare_models(G, D, config, device)
        opt_g, opt_d = optimizers if optimizers is not None else make_optimizers(
            G, D, config, fused=device.type in ("cpu", "cuda"))
        history, done = (resume_run(path, G, D, opt_g, opt_d, config)
                         if path is not None and resume else (History(), 0))
        history.device = str(device)
        read_back = ReadBack(G, D, opt_g, opt_d, config, history)
        bar = ProgressBar(history, config.steps, done, disable=not progress)
        callbacks: list[Callback] = [ImagePool(config.replay_size)] if config.replay_size else []
        callbacks += [EMA(ema, G)] if ema is not None else []
        callbacks += [read_back, bar]
        if config.snapshot_every:
            snapshots = Snapshots(G, _snapshot_input(config, fixed_z, num_classes, device),
                                  config.snapshot_every, read_back)
            if done == 0:
                snapshots.take(0)
            callbacks.append(snapshots)
        checkpoints = None if path is None else Checkpoints(
            path, G, D, opt_g, opt_d, config, read_back, saved=done or None)
        callbacks += [checkpoints] if checkpoints is not None else []
        ctrl_c = StopOnCtrlC(CallbackList(callbacks), start=done)
        batches = _real_batches(data, config, done * config.d_steps, device,
                                num_classes is not None)
        try:  # every label was checked above: the models need not read their range again
            with ctrl_c.installed(), labels_checked(G, D):
                try:
                    last = training_loop(G_fast, D_fast, opt_g, opt_d, batches, config, ctrl_c,
                                         start=done)
                except KeyboardInterrupt:  # a second Ctrl-C, or one outside the main thread
                    last = None
                if last is None or last < config.steps:
                    _interrupted(ctrl_c, read_back, checkpoints)
        finally:
            bar.close()
    return history


def _interrupted(ctrl_c: StopOnCtrlC, read_back: ReadBack,
                 checkpoints: Checkpoints | None) -> None:
    """After Ctrl-C: save the last completed step if the models hold exactly its state."""
    read_back.flush()
    if ctrl_c.between_steps:
        if checkpoints is not None:
            checkpoints.save(ctrl_c.completed)
        where = f"after step {ctrl_c.completed}"
    else:
        where = f"during step {ctrl_c.completed + 1} (G and D keep their mid-step weights)"
    history = read_back.history
    history.interrupted = True
    saved = ("" if checkpoints is None else
             f"; checkpoint: {checkpoints.path} at step {checkpoints.saved}"
             if checkpoints.saved is not None else "; no checkpoint written yet")
    last = history.step[-1] if history.step else 0
    warnings.warn(f"training interrupted {where}; the history ends at step {last}{saved}",
                  RuntimeWarning, stacklevel=3)


def make_optimizers(G: nn.Module, D: nn.Module, config: TrainConfig, kind: str = "adam",
                    fused: bool = False) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    """``(opt_g, opt_d)`` for a run: Adam with ``config.lr_g``/``lr_d`` and betas
    ``(config.beta1, config.beta2)`` (Kingma & Ba 2015; Radford et al. 2016 use lr 2e-4 and
    beta1 0.5), or RMSProp with those learning rates and PyTorch's defaults otherwise (Arjovsky
    et al. 2017, Algorithm 1).

    ``fused`` uses PyTorch's one-kernel Adam (CPU and CUDA): on a 2-core CPU it updates the MLP
    GAN's 2 million weights in about 1 ms instead of 7 ms; the rounding differs from the
    loop-based Adam, so a run's numbers depend on it.

    Raises:
        ValueError: if ``kind`` is not in :data:`OPTIMIZER_KINDS`.
    """
    if kind == "rmsprop":
        return (torch.optim.RMSprop(G.parameters(), lr=config.lr_g),
                torch.optim.RMSprop(D.parameters(), lr=config.lr_d))
    if kind != "adam":
        raise ValueError(f"kind must be one of {OPTIMIZER_KINDS}, got {describe(kind)}")
    options: dict[str, Any] = {"betas": (config.beta1, config.beta2)}
    if fused:
        options["fused"] = True
    return (torch.optim.Adam(G.parameters(), lr=config.lr_g, **options),
            torch.optim.Adam(D.parameters(), lr=config.lr_d, **options))


def prepare_models(G: nn.Module, D: nn.Module, config: TrainConfig,
                   device: torch.device) -> tuple[nn.Module, nn.Module]:
    """Move G and D to ``device`` in training mode and apply ``config``'s speed settings.

    ``channels_last`` stores their 4-D weights in that memory format; ``compile`` wraps each in
    ``torch.compile``; ``bf16`` runs their forward passes under bfloat16 autocast (D's outputs
    float32, so the losses are computed in float32). Returns the modules the training loop
    calls; their parameters are G's and D's own, so optimizers and checkpoints see the same
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


def _snapshot_input(config: TrainConfig, fixed_z: torch.Tensor | None, num_classes: int | None,
                    device: torch.device) -> tuple[torch.Tensor, ...]:
    """``(fixed_z,)`` or ``(fixed_z, labels 0, 1, 2, ...)`` on ``device``."""
    if fixed_z is None:
        fixed_z = fixed_latents(16, config.latent_dim, seed=config.seed)
    if num_classes is None:
        return (fixed_z.to(device),)
    return fixed_z.to(device), fixed_labels(len(fixed_z), num_classes).to(device)


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


# --- the checks, once, where the inputs enter ---------------------------------------------------

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
    3 dimensions), in [-1, 1]; for a conditional run, labels in ``[0, num_classes)``. Items
    after the first minibatch are otherwise never seen whole; the check runs on the CPU, in the
    DataLoader's workers, with no device sync."""

    def __init__(self, dataset: Dataset, num_classes: int | None = None) -> None:
        self.dataset, self.num_classes = dataset, num_classes

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
        if self.num_classes is not None and not 0 <= _label(item) < self.num_classes:
            raise ValueError(f"dataset item {index} has the label {_label(item)}, outside "
                             f"[0, {self.num_classes - 1}] (num_classes={self.num_classes})")
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


def _check_ema(ema: object, config: TrainConfig, G: nn.Module) -> None:
    """``ema`` must be an ``AveragedModel`` exactly when ``config.ema_decay > 0``, average a
    network with G's parameter (and buffer) names and shapes, and use ``config.ema_decay``."""
    if config.ema_decay and not isinstance(ema, AveragedModel):
        raise ValueError(f"config.ema_decay={config.ema_decay} asks for a moving average of G: "
                         f"pass ema=ema_generator(G, config.ema_decay) and sample from "
                         f"ema.module; got ema={describe(ema)}")
    if not config.ema_decay and ema is not None:
        raise ValueError("fit got ema= but config.ema_decay is 0: set ema_decay to the decay "
                         "the average was made with")
    if isinstance(ema, AveragedModel):
        _check_ema_shapes(ema, G)
        decay = getattr(ema, "decay", None)  # set by ema_generator
        if decay is None or not math.isclose(decay, config.ema_decay, rel_tol=1e-9):
            got = ("an average of unknown decay" if decay is None
                   else f"an average with decay {decay}")
            raise ValueError(f"ema must average with config.ema_decay={config.ema_decay} (the "
                             f"decay the run records), got {got}; make it with "
                             f"ema_generator(G, config.ema_decay)")


def _check_ema_shapes(ema: AveragedModel, G: nn.Module) -> None:
    """``ema.module`` must have G's parameter and buffer names and shapes."""
    wrong = shape_differences(G.state_dict(), ema.module.state_dict())
    if wrong:
        details = ", ".join(f"{key}: G {want}, ema {have}" for key, want, have in wrong)
        raise ValueError(f"ema must be a moving average of G, with G's parameter names and "
                         f"shapes, got one of another network ({details}); make it with "
                         f"ema_generator(G, config.ema_decay)")


def _check_fixed_z(fixed_z: object, latent_dim: int) -> None:
    """``fixed_z`` must be finite latents ``(n, latent_dim) float32`` with ``n >= 1``."""
    if (not isinstance(fixed_z, torch.Tensor) or fixed_z.dtype != torch.float32
            or fixed_z.dim() != 2 or fixed_z.shape[1] != latent_dim or len(fixed_z) < 1):
        shape, dtype = getattr(fixed_z, "shape", None), getattr(fixed_z, "dtype", None)
        got = (describe(fixed_z) if isinstance(fixed_z, torch.Tensor) or shape is None else
               f"a {type(fixed_z).__name__} of shape {tuple(shape)} and dtype {dtype}; "
               f"convert it with torch.as_tensor(z, dtype=torch.float32)")
        raise ValueError(f"fixed_z must be a float32 tensor of latents of shape (n, "
                         f"{latent_dim}) with n >= 1, got {got}")
    check_finite("fixed_z", fixed_z)
