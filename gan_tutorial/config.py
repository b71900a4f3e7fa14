"""Training settings as one frozen, validated dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .losses import d_loss_bce, get_loss
from .validation import check_bool, check_int, check_number


@dataclass(frozen=True)
class TrainConfig:
    """Every setting :func:`gan_tutorial.runner.fit` reads, with the MLP GAN chapter's defaults.

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
            2017), ``"wasserstein-clip"`` (a critic with weight clipping, Arjovsky et al.
            2017), ``"hinge"`` (Miyato et al. 2018, Eq. 16-17) or ``"least-squares"`` (Mao et
            al. 2017).
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
        label_smoothing: one-sided label smoothing ``s`` in ``[0, 1)``: D's target for real
            images is the fixed value ``1 - s`` (Salimans et al. 2016, Section 3.4, use 0.9,
            i.e. ``s = 0.1``); fakes keep 0. Only for losses whose D loss is the cross-entropy
            (``"nonsaturating"``, ``"saturating"``); 0 (the default) smooths nothing.
        replay_size: experience replay (Shrivastava et al. 2017, Section 2.3): a buffer of this
            many past generated images; once it is full, half of every fake batch D sees is
            drawn from it, and half of the current fakes replace random entries. 0 (the
            default) turns it off. See :class:`gan_tutorial.callbacks.ImagePool`.
        ema_decay: decay ``beta`` in ``[0, 1)`` of an exponential moving average of G's weights
            (Yazici et al. 2019), ``G_ema <- beta G_ema + (1 - beta) G`` after every step, for
            sampling. With ``beta > 0``, ``fit`` needs ``ema=ema_generator(G, beta)``; 0 (the
            default) keeps no average.

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
    label_smoothing: float = 0.0
    replay_size: int = 0
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "d_steps", "latent_dim", "log_every",
                     "checkpoint_every"):
            self._set(name, check_int(name, getattr(self, name), minimum=1))
        for name in ("snapshot_every", "num_workers", "replay_size"):
            self._set(name, check_int(name, getattr(self, name), minimum=0))
        self._set("seed", check_int("seed", self.seed, minimum=0, maximum=2**32 - 1))
        for name in ("lr_g", "lr_d"):
            self._set(name, check_number(name, getattr(self, name), minimum=0, above=True))
        for name in ("beta1", "beta2"):
            self._set(name, check_number(name, getattr(self, name), 0, 1, below=True))
        for name in ("lambda_gp", "r1_gamma"):
            self._set(name, check_number(name, getattr(self, name), minimum=0))
        for name in ("label_smoothing", "ema_decay"):
            self._set(name, check_number(name, getattr(self, name), 0, 1, below=True))
        loss = get_loss(self.loss)  # a ValueError listing the registry's names
        if self.label_smoothing and loss.d_loss is not d_loss_bce:
            raise ValueError(f"label_smoothing={self.label_smoothing} needs a loss whose D loss "
                             f"is the cross-entropy ('nonsaturating' or 'saturating'), got "
                             f"loss={self.loss!r}")
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

    @classmethod
    def preset(cls, name: str, **changes: Any) -> TrainConfig:
        """A named preset of :data:`PRESETS`, with ``changes`` applied to its fields.

        Example: ``TrainConfig.preset("dcgan-recipe", steps=500, seed=1)``.

        Raises:
            ValueError: if ``name`` is not a key of :data:`PRESETS` (the message lists them),
                or as the constructor for a bad value; TypeError on unknown fields.
        """
        if not isinstance(name, str) or name not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
        return cls(**{**PRESETS[name].to_dict(), **changes})


#: Named settings. ``"dcgan"``: the DCGAN chapter's run with the settings of Radford et al.
#: 2015, Section 4 (batch 128, Adam lr 2e-4, beta1 0.5, 1,500 steps = 192,000 training images).
#: ``"dcgan-recipe"``: the book's recommended DCGAN settings, from the chapter "Stabilising GAN
#: training" (``benchmarks/stabilising.py``, same 192,000 training images): the R1 penalty
#: (Mescheder et al. 2018, gamma 10), the best single fix there, with the best Adam settings of
#: its sensitivity sweep, lr 4e-4 for G and D and beta1 0. Use it with
#: ``DCGANDiscriminator(batch_norm=False)`` (R1 assumes D judges each image alone).
PRESETS: dict[str, TrainConfig] = {
    "dcgan": TrainConfig(steps=1_500, batch_size=128, lr_g=2e-4, lr_d=2e-4, beta1=0.5),
    "dcgan-recipe": TrainConfig(steps=1_500, batch_size=128, lr_g=4e-4, lr_d=4e-4, beta1=0.0,
                                r1_gamma=10.0),
}
