"""Safe checkpoints of a training run: atomic writes, no pickled code, exact resume.

A checkpoint is one file written by ``torch.save`` that holds only tensors and plain Python
values (dicts, lists, tuples, numbers, strings), so :func:`load_checkpoint` can read it with
``torch.load(..., weights_only=True)``: loading a file never runs code from it. It stores

* ``format`` and ``version``: :data:`FORMAT` and :data:`FORMAT_VERSION`;
* ``step``: the number of completed generator steps (iterations of Algorithm 1);
* ``config``: the :class:`~gan_tutorial.config.TrainConfig` as a dict;
* ``G``, ``D``, ``opt_g``, ``opt_d``: the state dicts of both models and both optimisers;
* ``history``: the training history as a dict of lists (``History.to_dict()``);
* ``rng``: torch's random-number states, CPU and CUDA (:func:`capture_rng_state`).

Together with the seeded data order of :func:`gan_tutorial.train.fit`, that is everything a
resumed run needs to continue exactly as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import TrainConfig
from .validation import check_int

#: Marks a file as a checkpoint of this package.
FORMAT = "gan_tutorial.checkpoint"
#: Version of the checkpoint layout; a file of another version is refused.
FORMAT_VERSION = 1
#: The file that ``fit(..., checkpoint_dir=...)`` keeps in its folder.
CHECKPOINT_NAME = "checkpoint.pt"
_STATE_KEYS = ("step", "config", "G", "D", "opt_g", "opt_d", "history", "rng")


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint: truncated, corrupted, foreign, written by another
    format version, carrying pickled objects, or not matching the models it is loaded into.
    The message names the file and what is wrong."""


@dataclass
class Checkpoint:
    """A checkpoint read by :func:`load_checkpoint`.

    Attributes:
        path: the file it was read from.
        step: completed generator steps when it was written.
        config: the run's settings.
        history: the training history as a dict of lists; ``History.from_dict`` rebuilds it.
        rng_state: torch's random states at ``step`` (see :func:`restore_rng_state`).
    """

    path: Path
    step: int
    config: TrainConfig
    history: dict[str, Any]
    rng_state: dict[str, Any]
    states: dict[str, Any] = field(repr=False)

    def restore(self, G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer | None = None,
                opt_d: torch.optim.Optimizer | None = None) -> None:
        """Copy the stored weights into G and D (and the optimiser states, where given).

        All or nothing: G and D are checked against the stored weights before anything is
        copied, and if an optimiser's state does not fit, an optimiser already loaded gets its
        previous state back. So after a ``CheckpointError`` G, D, ``opt_g`` and ``opt_d`` are
        as they were.

        Raises:
            CheckpointError: if the stored weights do not fit G or D (names or shapes differ),
                or a stored optimiser state does not fit the optimiser given.
        """
        for name, module in (("G", G), ("D", D)):
            _check_fits(self.path, name, module, self.states[name])
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
    """
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        for index, device_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(device_state, index)


def save_checkpoint(path: str | Path, G: nn.Module, D: nn.Module,
                    opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                    config: TrainConfig, step: int, history: Mapping[str, Any] | None = None,
                    rng_state: Mapping[str, Any] | None = None) -> Path:
    """Write a training run to ``path``, atomically.

    The file is written to a temporary file in the same folder, flushed and fsync-ed, then
    renamed over ``path`` (``os.replace``): a crash, a full disk or Ctrl-C while saving leaves
    the previous checkpoint intact, and no temporary file behind.

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
        ValueError: if ``step`` is not an integer >= 0.
    """
    state = {
        "format": FORMAT, "version": FORMAT_VERSION, "step": check_int("step", step, minimum=0),
        "config": config.to_dict(), "G": G.state_dict(), "D": D.state_dict(),
        "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
        "history": dict(history or {}),
        "rng": dict(capture_rng_state() if rng_state is None else rng_state),
    }
    path = Path(path)
    _write_atomically(state, path)
    return path


def _write_atomically(state: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_name)
        raise
    if os.name == "posix":  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


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
        G, D: if both are given, their weights are replaced by the stored ones.
        opt_g, opt_d: optimisers whose states are replaced too (only with G and D).

    Returns:
        The :class:`Checkpoint`: step, config, history, RNG state.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: if the file is truncated or corrupted, holds pickled objects, is not a
            gan_tutorial checkpoint, has another format version, or does not fit G, D and the
            optimisers (then nothing has been changed, see :meth:`Checkpoint.restore`).
    """
    path = Path(path)
    state = _read(path)
    _check_format(path, state)
    try:
        config = TrainConfig.from_dict(state["config"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path} holds an invalid config ({error})") from error
    checkpoint = Checkpoint(path, state["step"], config, state["history"], state["rng"],
                            {key: state[key] for key in ("G", "D", "opt_g", "opt_d")})
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
    if state.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {state.get('version')!r}; "
                              f"this gan_tutorial reads version {FORMAT_VERSION}")
    missing = [key for key in _STATE_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path} is incomplete: it lacks {', '.join(missing)}")


def _check_fits(path: Path, name: str, module: nn.Module, stored: Mapping[str, Any]) -> None:
    expected = {key: tuple(value.shape) for key, value in module.state_dict().items()}
    got = {key: tuple(value.shape) for key, value in stored.items()}
    if expected != got:
        wrong = sorted(key for key in expected.keys() | got.keys()
                       if expected.get(key) != got.get(key))[:3]
        details = ", ".join(f"{key}: stored {got.get(key)}, model {expected.get(key)}"
                            for key in wrong)
        raise CheckpointError(f"{path}: the stored {name} does not fit the {name} given "
                              f"({details})")
