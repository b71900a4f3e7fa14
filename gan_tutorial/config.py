"""Training settings as one frozen, validated dataclass."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

G_LOSSES = ("nonsaturating", "saturating")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting :func:`gan_tutorial.train.fit` reads, with the defaults of the MLP GAN chapter.

    The defaults follow Goodfellow et al. 2014 (Algorithm 1 with ``k = d_steps = 1`` and the
    non-saturating generator loss of Section 3) with the Adam settings of Radford et al. 2015
    (lr 2e-4, beta1 0.5), which most MNIST GANs use.

    Attributes:
        steps: number of generator updates (iterations of Algorithm 1), >= 1.
        batch_size: images per minibatch, for both D and G, >= 1.
        d_steps: ``k`` in Algorithm 1, discriminator updates per generator update, >= 1.
            For a WGAN critic this is ``n_critic`` (Arjovsky et al. 2017; 5 in Gulrajani et
            al. 2017).
        latent_dim: size of the latent vector z ~ N(0, I), >= 1.
        lr_g: Adam learning rate of G, > 0.
        lr_d: Adam learning rate of D, > 0.
        beta1: Adam beta1 of both optimisers, in [0, 1).
        beta2: Adam beta2 of both optimisers, in [0, 1).
        g_loss: ``"nonsaturating"`` (-log D(G(z)), the default) or ``"saturating"``
            (log(1 - D(G(z))), Eq. 1 as written).
        log_every: steps between readings of the losses into the history and progress bar, >= 1.
            Reading a loss waits for the device, so ``fit`` reads them back only this often.
        snapshot_every: steps between snapshots of G(fixed z) for progress figures; 0 disables.
        checkpoint_every: steps between checkpoints when ``fit`` gets a ``checkpoint_dir``,
            >= 1.
        seed: seed of the minibatch shuffling and of the default fixed latents, an integer in
            [0, 2**32 - 1].
        compile: run G and D through ``torch.compile`` (PyTorch 2). The first steps then take
            extra seconds (compilation); on the CPU it needs a C++ compiler.
        bf16: run the forward passes under bfloat16 autocast (for GPUs with bf16, such as
            NVIDIA Ampere or newer; on most CPUs it is slower). Results differ from float32 at
            the level of bf16 rounding.
        channels_last: store 4-D weights and images in the channels-last memory format, which
            convolutions often run faster in (Radford et al.'s DCGAN; no effect on MLPs).
        num_workers: worker processes of the ``DataLoader`` when ``fit`` gets a ``Dataset``
            instead of a tensor, >= 0 (0 loads in the training process).

    Numbers of other types (NumPy integers and floats, say) are stored as Python ``int`` and
    ``float``, so a config always saves to a checkpoint as plain values.

    Raises:
        ValueError: on construction, naming the field and what it must be, if a value has the
            wrong type or is out of range.
    """

    steps: int = 10_000
    batch_size: int = 64
    d_steps: int = 1
    latent_dim: int = 100
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    g_loss: str = "nonsaturating"
    log_every: int = 10
    snapshot_every: int = 1_000
    checkpoint_every: int = 1_000
    seed: int = 0
    compile: bool = False
    bf16: bool = False
    channels_last: bool = False
    num_workers: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "d_steps", "latent_dim", "log_every",
                     "checkpoint_every"):
            self._set_int(name, minimum=1)
        for name in ("snapshot_every", "num_workers"):
            self._set_int(name, minimum=0)
        self._set_int("seed", minimum=0, maximum=2**32 - 1)
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if not _is_real(value) or not value > 0 or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not _is_real(value) or not 0 <= value < 1:
                raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
            object.__setattr__(self, name, float(value))
        if not isinstance(self.g_loss, str) or self.g_loss not in G_LOSSES:
            raise ValueError(f"g_loss must be one of {G_LOSSES}, got {self.g_loss!r}")
        for name in ("compile", "bf16", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def _set_int(self, name: str, minimum: int, maximum: int | None = None) -> None:
        value = getattr(self, name)
        if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum
                or (maximum is not None and value > maximum)):
            bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
        object.__setattr__(self, name, int(value))

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (what checkpoints store)."""
        return asdict(self)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)

