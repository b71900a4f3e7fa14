"""Atomic save and load of a training run (G, D, their optimisers, the config and the step)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import TrainConfig


def save_checkpoint(path: str | Path, G: nn.Module, D: nn.Module, step: int,
                    config: TrainConfig, opt_g: torch.optim.Optimizer | None = None,
                    opt_d: torch.optim.Optimizer | None = None) -> Path:
    """Write G, D, the optimisers, ``config`` and ``step`` to ``path``, atomically.

    The file is written to a temporary file in the same folder and then renamed over ``path``
    (``os.replace``), so a crash or Ctrl-C while saving leaves the previous checkpoint intact.

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {
        "step": int(step),
        "config": config.to_dict(),
        "G": G.state_dict(),
        "D": D.state_dict(),
        "opt_g": opt_g.state_dict() if opt_g is not None else None,
        "opt_d": opt_d.state_dict() if opt_d is not None else None,
    }
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    try:
        torch.save(state, tmp_name)
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)
    return path


def load_checkpoint(path: str | Path, G: nn.Module, D: nn.Module,
                    opt_g: torch.optim.Optimizer | None = None,
                    opt_d: torch.optim.Optimizer | None = None) -> tuple[int, TrainConfig]:
    """Load a checkpoint written by :func:`save_checkpoint` into G, D (and the optimisers).

    Loaded with ``torch.load(..., weights_only=True)``: a checkpoint holds tensors and plain
    values only, never pickled code. Tensors are mapped to the device of G's parameters.

    Returns:
        ``(step, config)``: the generator step the checkpoint was taken at and its settings.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a checkpoint of this package.
    """
    device = next(G.parameters()).device
    state = torch.load(Path(path), map_location=device, weights_only=True)
    if not isinstance(state, dict) or not {"step", "config", "G", "D"} <= state.keys():
        raise ValueError(f"{path} is not a gan_tutorial checkpoint "
                         "(expected the keys step, config, G, D)")
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    for optimizer, key in ((opt_g, "opt_g"), (opt_d, "opt_d")):
        if optimizer is not None and state.get(key) is not None:
            optimizer.load_state_dict(state[key])
    return state["step"], TrainConfig(**state["config"])
