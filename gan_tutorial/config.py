"""Training settings as one frozen, validated dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .losses import get_loss
from .validation import check_bool, check_int, check_number


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
            For a WGAN critic the papers call it ``n_critic`` (5 in Gulrajani et al. 2017).
        latent_dim: size of the latent vector z ~ N(0, I), >= 1.
        lr_g: Adam learning rate of G, > 0.
        lr_d: Adam learning rate of D, > 0.
        beta1: Adam beta1 of both optimisers, in [0, 1).
        beta2: Adam beta2 of both optimisers, in [0, 1).
        loss: the GAN objective, a key of :data:`gan_tutorial.losses.LOSSES`:
            ``"nonsaturating"`` (the default: D's loss is -V of Eq. 1, G minimises
            -log D(G(z)), Section 3), ``"saturating"`` (G minimises log(1 - D(G(z))), Eq. 1 as
            written), ``"wasserstein-gp"`` (a critic with gradient penalty, Gulrajani et al.
            2017) or ``"hinge"`` (Miyato et al. 2018, Eq. 16-17).
        lambda_gp: weight of the gradient penalty of ``"wasserstein-gp"`` (10 in Gulrajani et
            al. 2017), >= 0; ignored by the other losses.
        r1_gamma: weight gamma of the R1 penalty on real data (Mescheder et al. 2018, Eq. 9),
            added to D's loss for any ``loss``, >= 0; 0 (the default) adds nothing.
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
    loss: str = "nonsaturating"
    lambda_gp: float = 10.0
    r1_gamma: float = 0.0
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
            self._set(name, check_int(name, getattr(self, name), minimum=1))
        for name in ("snapshot_every", "num_workers"):
            self._set(name, check_int(name, getattr(self, name), minimum=0))
        self._set("seed", check_int("seed", self.seed, minimum=0, maximum=2**32 - 1))
        for name in ("lr_g", "lr_d"):
            self._set(name, check_number(name, getattr(self, name), minimum=0, above=True))
        for name in ("beta1", "beta2"):
            self._set(name, check_number(name, getattr(self, name), 0, 1, below=True))
        for name in ("lambda_gp", "r1_gamma"):
            self._set(name, check_number(name, getattr(self, name), minimum=0))
        get_loss(self.loss)  # a ValueError listing the registry's names
        for name in ("compile", "bf16", "channels_last"):
            check_bool(name, getattr(self, name))

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (what checkpoints store)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> TrainConfig:
        """Rebuild a config from :meth:`to_dict`'s dict, also from checkpoints written before
        ``loss`` replaced ``g_loss`` (their ``g_loss`` names the same objective).

        Raises:
            ValueError: as the constructor; TypeError on unknown fields.
        """
        settings = dict(settings)
        if "g_loss" in settings and "loss" not in settings:
            settings["loss"] = settings.pop("g_loss")
        return cls(**settings)

