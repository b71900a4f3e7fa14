"""Safe checkpoints of a training run: atomic writes, no pickled code, exact resume.

A checkpoint is one file written by ``torch.save`` that holds only tensors and plain Python
values (dicts, lists, tuples, numbers, strings), so :func:`load_checkpoint` can read it with
``torch.load(..., weights_only=True)``: loading a file never runs code from it. It stores

* ``format`` and ``version``: :data:`FORMAT` and :data:`FORMAT_VERSION`;
* ``step``: the number of completed generator steps (iterations of Algorithm 1);
* ``config``: the :class:`~gan_tutorial.config.TrainConfig` as a dict;
* ``G``, ``D``, ``opt_g``, ``opt_d``: the state dicts of both models and both optimisers;
* ``optimizer_classes``: the class of each optimiser, ``{"opt_g": "torch.optim.adam.Adam",
  ...}``, so that a state is never loaded into an optimiser of another class (files written
  before it existed are checked by their hyper-parameter names instead);
* ``history``: the training history as a dict of lists (``History.to_dict()``);
* ``rng``: torch's random-number states, CPU and CUDA (:func:`capture_rng_state`);
* ``sha256``: the SHA-256 of all the entries above (:func:`content_digest`), checked on load, so
  a flipped bit or an edited value is refused instead of loaded. Files of format version 1,
  written before the digest existed, are still read, with a ``UserWarning`` that they cannot be
  verified.

Everything is checked before anything is changed: the digest, the step, the history, the random
states, that the weights are finite, and that each optimiser state has the shapes of the
parameters it belongs to. :func:`folder_lock` keeps two runs from sharing one checkpoint folder.

Together with the seeded data order of :func:`gan_tutorial.runner.fit`, that is everything a
resumed run needs to continue exactly as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import math
import numbers
import os
import pickle
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .validation import check_int, describe, make_writable_folder, shape_differences

try:
    import fcntl
except ImportError:  # Windows: no fcntl; folder_lock then locks nothing (see its docstring)
    fcntl = None  # type: ignore[assignment]

#: Marks a file as a checkpoint of this package.
FORMAT = "gan_tutorial.checkpoint"
#: Version of the checkpoint layout written; version 2 added the ``sha256`` digest.
FORMAT_VERSION = 2
#: Versions :func:`load_checkpoint` reads (version 1 without verification, with a warning).
READABLE_VERSIONS = (1, 2)
#: The file that ``fit(..., checkpoint_dir=...)`` keeps in its folder.
CHECKPOINT_NAME = "checkpoint.pt"
_STATE_KEYS = ("step", "config", "G", "D", "opt_g", "opt_d", "history", "rng")
# Per-parameter optimiser states that are scalars (Adam's step, NAdam's mu_product, ASGD's
# eta and mu); every other stored tensor must have its parameter's shape.
_SCALAR_STATES = ("step", "mu_product", "eta", "mu")


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint: truncated, corrupted, foreign, written by another
    format version, carrying pickled objects, or not matching the models it is loaded into.
    The message names the file and what is wrong."""


class CheckpointLocked(RuntimeError):
    """Another training run holds the lock on this checkpoint folder (:func:`folder_lock`)."""


@dataclass
class Checkpoint:
    """A checkpoint read by :func:`load_checkpoint`.

    Attributes:
        path: the file it was read from.
        step: completed generator steps when it was written.
        config: the run's settings.
        history: the training history as a dict of lists; ``History.from_dict`` rebuilds it.
        rng_state: torch's random states at ``step`` (see :func:`restore_rng_state`).
        optimizer_classes: the class of ``opt_g`` and ``opt_d`` as written, e.g.
            ``{"opt_g": "torch.optim.adam.Adam", ...}``; empty for files written before it was
            stored.
    """

    path: Path
    step: int
    config: TrainConfig
    history: dict[str, Any]
    rng_state: dict[str, Any]
    states: dict[str, Any] = field(repr=False)
    optimizer_classes: dict[str, str] = field(default_factory=dict)

    def restore(self, G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer | None = None,
                opt_d: torch.optim.Optimizer | None = None) -> None:
        """Copy the stored weights into G and D (and the optimiser states, where given).

        All or nothing: G and D are checked against the stored weights before anything is
        copied, and if an optimiser's state does not fit, an optimiser already loaded gets its
        previous state back. So after a ``CheckpointError`` G, D, ``opt_g`` and ``opt_d`` are
        as they were.

        Raises:
            CheckpointError: if the stored weights do not fit G or D (names or shapes differ),
                or a stored optimiser state does not fit the optimiser given (written by
                another optimiser class, such as Adam's state given an SGD; other groups,
                a per-parameter tensor such as Adam's ``exp_avg`` of another shape than its
                parameter, non-finite values or hyper-parameters).
        """
        for name, module in (("G", G), ("D", D)):
            _check_fits(self.path, name, module, self.states[name])
        for name, optimizer in (("opt_g", opt_g), ("opt_d", opt_d)):
            if optimizer is not None:
                _check_optimizer_class(self.path, name, optimizer, self.states[name],
                                       self.optimizer_classes.get(name))
                _check_optimizer_fits(self.path, name, optimizer, self.states[name])
        loaded: list[tuple[torch.optim.Optimizer, dict[str, Any]]] = []
        for name, optimizer in (("opt_g", opt_g), ("opt_d", opt_d)):
            if optimizer is None:
                continue
            previous = copy.deepcopy(optimizer.state_dict())
            try:
                optimizer.load_state_dict(self.states[name])
            except (ValueError, KeyError) as error:
                for done, state in loaded:  # undo, so that a failed restore changes nothing
                    done.load_state_dict(state)
                raise CheckpointError(f"{self.path}: the stored {name} does not fit the "
                                      f"optimiser given ({error})") from error
            loaded.append((optimizer, previous))
        G.load_state_dict(self.states["G"])
        D.load_state_dict(self.states["D"])


def capture_rng_state() -> dict[str, Any]:
    """torch's random-number states: ``{"cpu": ByteTensor, "cuda": [ByteTensor per device]}``.

    ``"cuda"`` is present only where CUDA is available. Python's ``random`` and NumPy are not
    included: the training loop draws all its randomness (latents z) from torch.
    """
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Set torch's random-number states to ``state`` from :func:`capture_rng_state`.

    CUDA states are restored for the devices present (a CPU-only machine skips them).

    Raises:
        ValueError: if ``state`` is not such a dict of ``uint8`` state tensors of the sizes
            torch uses (checked before any state is set).
    """
    _check_rng_state(state)
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        for index, device_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(device_state, index)


def save_checkpoint(path: str | Path, G: nn.Module, D: nn.Module,
                    opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                    config: TrainConfig, step: int, history: Mapping[str, Any] | None = None,
                    rng_state: Mapping[str, Any] | None = None) -> Path:
    """Write a training run to ``path``, atomically.

    The state is serialised in memory, then written to a temporary file in the same folder,
    flushed and fsync-ed, and renamed over ``path`` (``os.replace``): a crash, a full disk or
    Ctrl-C while saving leaves the previous checkpoint intact. A failed write removes its
    temporary file; a process killed while writing (SIGKILL) cannot, so each save first removes
    the temporary files of this checkpoint left by processes that no longer run (POSIX).
    NumPy numbers in ``history`` or ``rng_state`` are stored as Python numbers.

    Args:
        path: the file to write; its folder is created if missing.
        G, D, opt_g, opt_d: the models and their optimisers.
        config: the run's settings.
        step: completed generator steps, >= 0.
        history: the history as a dict of lists, tuples, numbers and tensors
            (``History.to_dict()``); default empty.
        rng_state: from :func:`capture_rng_state`; default the current state.

    Returns:
        The path written.

    Raises:
        ValueError: if ``step`` is not an integer >= 0, or ``history`` or ``rng_state`` holds
            something other than tensors and plain values (the message names where).
        OSError: if the file cannot be written (a full disk: ``errno.ENOSPC``); the message
            names the file and says that the previous checkpoint is left as it was.
    """
    rng = capture_rng_state() if rng_state is None else rng_state
    state = {
        "format": FORMAT, "version": FORMAT_VERSION, "step": check_int("step", step, minimum=0),
        "config": config.to_dict(), "G": G.state_dict(), "D": D.state_dict(),
        "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
        "optimizer_classes": {"opt_g": _class_name(opt_g), "opt_d": _class_name(opt_d)},
        "history": _plain("history", dict(history or {})),
        "rng": _plain("rng_state", dict(rng)),
    }
    state["sha256"] = content_digest(state)
    path = Path(path)
    _write_atomically(state, path)
    return path


def _plain(where: str, value: Any) -> Any:
    """``value`` with NumPy numbers and arrays turned into Python numbers and tensors; a
    ``ValueError`` naming ``where`` for anything a weights-only load would refuse."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, Mapping):
        return {key: _plain(f"{where}[{key!r}]", item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_plain(f"{where}[{i}]", item) for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if value is None or isinstance(value, (torch.Tensor, bool, int, float, str)):
        return value
    raise ValueError(f"{where} must hold only tensors, numbers, strings, lists, tuples and dicts "
                     f"(what a checkpoint can store without pickled code), got {describe(value)}")


def content_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a checkpoint's entries other than ``"sha256"``, the value stored there.

    Fed in order: each tensor's dtype, shape and bytes; each number, string and ``None`` with
    its type and exact ``repr``; each list, tuple and dict with its length. Two states have the
    same digest only if every stored value is the same.

    Raises:
        ValueError: on a value that is none of those types.
    """
    digest = hashlib.sha256()
    for key, value in state.items():
        if key != "sha256":
            _feed(digest, key)
            _feed(digest, value)
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"tensor {tensor.dtype} {tuple(value.shape)}:".encode())
        digest.update(tensor.view(torch.uint8).numpy())  # the buffer itself, no copy
    elif isinstance(value, Mapping):
        digest.update(f"dict {len(value)}:".encode())
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__} {len(value)}:".encode())
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, (bool, int, float, str)):
        text = repr(value)
        digest.update(f"{type(value).__name__} {len(text)}:{text}".encode())
    else:
        raise ValueError(f"a checkpoint cannot hold {describe(value)}")


def _write_atomically(state: dict[str, Any], path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)  # in memory first: errors of the disk then come as OSError
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporary_files(path)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.",
                                        suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(buffer.getbuffer())
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_name)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, f"could not write the checkpoint {path} "
                                       f"({error.strerror}); the previous checkpoint, if any, "
                                       f"is left as it was") from error
        raise
    if os.name == "posix":  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _remove_stale_temporary_files(path: Path) -> None:
    """Remove ``.<name>.<pid>.*.tmp`` files of ``path`` whose writing process has ended (a save
    killed by SIGKILL leaves one). POSIX only: elsewhere there is no safe test of a pid."""
    if os.name != "posix":
        return
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


@contextlib.contextmanager
def folder_lock(folder: str | Path) -> Iterator[Path]:
    """Hold an exclusive lock on the checkpoint folder ``folder`` while the block runs.

    The lock is ``fcntl.flock`` on the folder itself (no lock file is created); the operating
    system releases it when the process ends, however it ends, so a killed run leaves no stale
    lock. :func:`gan_tutorial.runner.fit` holds it for the whole run,
    so two runs given the same ``checkpoint_dir`` cannot overwrite each other's checkpoint.
    Where ``fcntl`` does not exist (Windows) nothing is locked: there, do not share a folder.
    The folder is created if missing, which also checks that it can be written.

    Yields:
        The folder, as a ``Path``.

    Raises:
        ValueError: if ``folder`` is not a folder that can be created and written (it is a
            file, or permission is denied).
        CheckpointLocked: if another open lock (another run, in this or another process)
            holds it.
    """
    folder = Path(folder)
    try:
        make_writable_folder(folder)
    except OSError as error:
        raise ValueError(f"checkpoint_dir must be a folder this process can write, got "
                         f"{str(folder)!r}: {type(error).__name__}: "
                         f"{error.strerror or error}") from error
    if fcntl is None:
        yield folder
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CheckpointLocked(f"the checkpoint folder {folder} is in use by another "
                                   f"training run (it holds the folder's lock); wait for it to "
                                   f"end, or give this run another checkpoint_dir") from None
        yield folder
    finally:
        os.close(handle)  # releases the lock


def load_checkpoint(path: str | Path, G: nn.Module | None = None, D: nn.Module | None = None,
                    opt_g: torch.optim.Optimizer | None = None,
                    opt_d: torch.optim.Optimizer | None = None) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`; restore it into G and D if given.

    Read with ``torch.load(..., weights_only=True)`` onto the CPU: a file carrying pickled
    Python objects is refused *before* any of its code could run. ``Checkpoint.restore``
    copies the weights to the device of each model's parameters. Random-number states are
    not touched (see :func:`restore_rng_state`).

    Args:
        path: the checkpoint file.
        G, D: if both are given, their weights are replaced by the stored ones. Give both or
            neither.
        opt_g, opt_d: optimisers whose states are replaced too (only with G and D).

    Returns:
        The :class:`Checkpoint`: step, config, history, RNG state.

    Raises:
        ValueError: if only one of G and D is given, or optimisers without them.
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: if the file is truncated or corrupted (its SHA-256 differs from the
            stored one), holds pickled objects, is not a gan_tutorial checkpoint, has another
            format version, holds an invalid step, history or random state or non-finite
            weights, or does not fit G, D and the optimisers (then nothing has been changed,
            see :meth:`Checkpoint.restore`).
    """
    if (G is None) != (D is None) or (G is None and (opt_g is not None or opt_d is not None)):
        raise ValueError("load_checkpoint restores G and D together: pass both (and optionally "
                         "opt_g and opt_d), or neither to only read the file")
    path = Path(path)
    state = _read(path)
    _check_format(path, state)
    _check_digest(path, state)
    _check_contents(path, state)
    try:
        config = TrainConfig.from_dict(state["config"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path} holds an invalid config ({error})") from error
    checkpoint = Checkpoint(path, state["step"], config, state["history"], state["rng"],
                            {key: state[key] for key in ("G", "D", "opt_g", "opt_d")},
                            dict(state.get("optimizer_classes", {})))
    if G is not None and D is not None:
        checkpoint.restore(G, D, opt_g, opt_d)
    return checkpoint


def _read(path: Path) -> Any:
    """``torch.load(path, weights_only=True)``, with torch's errors turned into one message.

    The weights-only unpickler raises ``pickle.UnpicklingError`` for anything that is not
    tensors and plain values: pickled objects (code) or bytes that are no pickle at all. Its
    text advises loading with ``weights_only=False``, which would run that code, so it is not
    passed on (``from None``). Other errors (a damaged zip archive, a short read) mean a
    truncated or corrupted file; they stay chained for debugging.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise  # the OS's message says it best
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path} was refused: it holds pickled code or is not a checkpoint written by "
            f"gan_tutorial (a gan_tutorial checkpoint holds tensors and plain values only, and "
            f"loading anything else could run code)") from None
    except Exception as error:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path} is truncated or corrupted, or not a checkpoint at all "
                              f"(torch.load raised {type(error).__name__})") from error


def _check_format(path: Path, state: Any) -> None:
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a gan_tutorial checkpoint (no 'format': "
                              f"{FORMAT!r} entry); it may come from another program")
    if state.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(f"{path} has checkpoint format version {state.get('version')!r}; "
                              f"this gan_tutorial reads versions {READABLE_VERSIONS}")
    missing = [key for key in _STATE_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path} is incomplete: it lacks {', '.join(missing)}")


def _check_fits(path: Path, name: str, module: nn.Module, stored: Mapping[str, Any]) -> None:
    wrong = shape_differences(module.state_dict(), stored)
    if wrong:
        details = ", ".join(f"{key}: stored {have}, model {want}" for key, want, have in wrong)
        raise CheckpointError(f"{path}: the stored {name} does not fit the {name} given "
                              f"({details})")


def _check_digest(path: Path, state: dict[str, Any]) -> None:
    """Compare the stored SHA-256 with the content's; version 1 files have none (a warning)."""
    if state["version"] == 1:
        warnings.warn(f"{path} was written by an older gan_tutorial (checkpoint format version "
                      f"1, without a SHA-256 digest), so damage to it cannot be detected; the "
                      f"next save writes version {FORMAT_VERSION}", UserWarning, stacklevel=3)
        return
    try:
        digest = content_digest(state)
    except ValueError as error:
        raise CheckpointError(f"{path} is corrupted: {error}") from None
    if state.get("sha256") != digest:
        raise CheckpointError(f"{path} is corrupted or was edited: the SHA-256 of its contents "
                              f"is {digest}, but the file says {state.get('sha256')!r}")


def _check_contents(path: Path, state: dict[str, Any]) -> None:
    """The step, history, random state and weights of a checkpoint, before anything uses them."""
    step = state["step"]
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{path} holds an invalid step {describe(step)} (expected an "
                              f"integer >= 0)")
    history = state["history"]
    if not isinstance(history, dict) or not all(isinstance(key, str) for key in history):
        raise CheckpointError(f"{path} holds an invalid history {describe(history)} (expected "
                              f"a dict of lists, History.to_dict())")
    try:
        _check_rng_state(state["rng"])
    except ValueError as error:
        raise CheckpointError(f"{path} holds an invalid random state ({error})") from None
    for name in ("G", "D"):
        weights = state[name]
        if not isinstance(weights, Mapping) or not all(
                isinstance(key, str) and isinstance(value, torch.Tensor)
                for key, value in weights.items()):
            raise CheckpointError(f"{path} holds an invalid {name} (expected a state dict of "
                                  f"tensors)")
        bad = [key for key, value in weights.items()
               if value.is_floating_point() and not bool(torch.isfinite(value).all())]
        if bad:
            raise CheckpointError(f"{path} holds non-finite weights in {name} ({', '.join(bad)})")
    for name in ("opt_g", "opt_d"):
        stored = state[name]
        if (not isinstance(stored, Mapping) or not isinstance(stored.get("state"), Mapping)
                or not isinstance(stored.get("param_groups"), list)):
            raise CheckpointError(f"{path} holds an invalid {name} (expected an optimiser "
                                  f"state dict)")
    classes = state.get("optimizer_classes", {})
    if not isinstance(classes, Mapping) or not all(
            key in ("opt_g", "opt_d") and isinstance(value, str)
            for key, value in classes.items()):
        raise CheckpointError(f"{path} holds invalid optimizer_classes {describe(classes)} "
                              f"(expected class names of opt_g and opt_d)")


def _check_rng_state(state: Any) -> None:
    """Raise ``ValueError`` unless ``state`` looks like :func:`capture_rng_state`'s output."""
    size = torch.get_rng_state().numel()
    cpu = state.get("cpu") if isinstance(state, Mapping) else None
    if not (isinstance(cpu, torch.Tensor) and cpu.dtype == torch.uint8
            and cpu.shape == (size,)):
        raise ValueError(f"the CPU random state must be a uint8 tensor of shape ({size},), as "
                         f"torch.get_rng_state() returns, got {describe(cpu)}")
    cuda = state.get("cuda", [])
    if not isinstance(cuda, (list, tuple)) or not all(
            isinstance(t, torch.Tensor) and t.dtype == torch.uint8 and t.dim() == 1
            for t in cuda):
        raise ValueError(f"the CUDA random states must be a list of uint8 tensors, got "
                         f"{describe(cuda)}")
    if cuda and torch.cuda.is_available():
        expected = torch.cuda.get_rng_state().shape
        if any(t.shape != expected for t in cuda):
            raise ValueError(f"each CUDA random state must have shape {tuple(expected)}")


#: Hyper-parameters that learning-rate schedulers add to an optimiser's parameter groups.
_SCHEDULER_KEYS = frozenset({"initial_lr", "base_lr", "max_lr", "min_lr", "base_momentum",
                             "max_momentum"})


def _class_name(optimizer: torch.optim.Optimizer) -> str:
    """The optimiser's class as ``module.QualifiedName``, e.g. ``torch.optim.adam.Adam``."""
    return f"{type(optimizer).__module__}.{type(optimizer).__qualname__}"


def _check_optimizer_class(path: Path, name: str, optimizer: torch.optim.Optimizer,
                           stored: Mapping[str, Any], stored_class: str | None) -> None:
    """The stored state must come from an optimiser of the given one's class: by the stored
    class name, or, in files without one, by the names of its hyper-parameters."""
    given = type(optimizer).__name__
    if stored_class is not None:
        if stored_class != _class_name(optimizer):
            stored_name = stored_class.rsplit(".", 1)[-1]
            raise CheckpointError(
                f"{path}: the stored {name} holds the state of an optimiser of class "
                f"{stored_name} ({stored_class}), but the {name} given is of class {given} "
                f"({_class_name(optimizer)}); pass {name} of class {stored_name} to resume, or "
                f"start over (resume=False or another folder)")
        return
    known = set(optimizer.defaults) | _SCHEDULER_KEYS | {"params"}
    known |= {key for group in optimizer.param_groups for key in group}
    foreign = sorted({str(key) for group in stored["param_groups"] if isinstance(group, Mapping)
                      for key in group} - known)
    if foreign:
        raise CheckpointError(
            f"{path}: the stored {name} was written by another optimiser class than the {given} "
            f"given: its hyper-parameters {', '.join(foreign)} are not {given}'s; pass the "
            f"optimiser class the run used, or start over (resume=False or another folder)")


def _check_optimizer_fits(path: Path, name: str, optimizer: torch.optim.Optimizer,
                          stored: Mapping[str, Any]) -> None:
    """Each stored per-parameter tensor (Adam's ``exp_avg``, ...) must have its parameter's
    shape and be finite, and every hyper-parameter must be a finite number: a wrong shape would
    make a fused optimiser write out of bounds."""
    groups, stored_groups = optimizer.param_groups, stored["param_groups"]
    if len(groups) != len(stored_groups) or any(
            not isinstance(s, Mapping) or len(s.get("params", ())) != len(g["params"])
            for g, s in zip(groups, stored_groups)):
        raise CheckpointError(f"{path}: the stored {name} does not fit the optimiser given "
                              f"(other parameter groups or numbers of parameters)")
    for group, stored_group in zip(groups, stored_groups):
        for key, value in stored_group.items():
            values = value if isinstance(value, (list, tuple)) and key != "params" else [value]
            for number in values:
                if (key != "params" and isinstance(number, numbers.Real)
                        and not isinstance(number, bool) and not math.isfinite(number)):
                    raise CheckpointError(f"{path}: the stored {name} has a non-finite "
                                          f"hyper-parameter {key}={value!r}")
        for param, index in zip(group["params"], stored_group["params"]):
            entries = stored["state"].get(index, {})
            for key, value in entries.items() if isinstance(entries, Mapping) else ():
                if not isinstance(value, torch.Tensor):
                    continue
                if key not in _SCALAR_STATES and value.shape != param.shape:
                    raise CheckpointError(
                        f"{path}: the stored {name} state {key!r} of parameter {index} has "
                        f"shape {tuple(value.shape)}, but the parameter has "
                        f"{tuple(param.shape)}")
                if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                    raise CheckpointError(f"{path}: the stored {name} state {key!r} of "
                                          f"parameter {index} holds non-finite values")
