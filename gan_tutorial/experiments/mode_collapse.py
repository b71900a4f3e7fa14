"""The mode-collapse protocol of VEEGAN and PacGAN on 2-D mixtures, many seeds in one model.

One *method* (a loss, a packing degree, a penalty) is trained on the ring and the grid
(:mod:`gan_tutorial.data`) for several seeds, and each trained G is scored on 2,500 samples with
:func:`mode_coverage_2d` (Lin et al. 2018, Section 5). The losses come from the package's one
registry, :data:`gan_tutorial.losses.LOSSES`, and D's loss is assembled by
:func:`gan_tutorial.losses.discriminator_loss`, exactly as :func:`gan_tutorial.runner.fit` does.

All runs of one method train *at once*: the parameters of the ``S`` generators (and of the
``S`` discriminators) are stacked along a new first dimension with
``torch.func.stack_module_state`` and the networks are evaluated with ``torch.func.vmap`` over
``functional_call``. Each run keeps its own initial weights, data and latents; Adam acts element
by element, so one Adam over the stacked tensors is ``S`` independent Adams. On a CPU this is
several times faster than a loop over the runs, because small networks are dominated by
per-operation overhead. The losses are computed on the flattened ``(S * B,)`` logits and
multiplied by ``S``: the sum of the ``S`` per-run mean losses, so each run's gradient is exactly
what it would be alone (tested, penalties included).

:func:`train_stacked_runs` is the package's one GAN loop beside
:func:`gan_tutorial.train.training_loop` (pix2pix apart): its stacked G and D are
``torch.func`` functions of one flat tensor rather than modules. Like ``training_loop``, its G
step reuses the fakes of the last D step (made with autograd on, used detached by D), and each
player's gradient is taken with ``torch.autograd.grad`` for its own parameters only, so the G
step does not compute D's weight gradients. The stored results of the study were made by it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from ..data import gaussian_grid, gaussian_ring, grid_centers, ring_centers
from ..losses import discriminator_loss, get_loss
from ..metrics import kl_to_uniform
from ..models import (
    BatchNormPointGenerator,
    MaxoutPointDiscriminator,
    PointDiscriminator,
    PointGenerator,
)
from ..validation import (
    check_bool,
    check_finite,
    check_int,
    check_ints,
    check_number,
    check_seed,
    describe,
)

#: dataset name -> (sampler ``(n, generator) -> (n, 2)``, mode centres ``(K, 2)``, std).
DATASETS: dict[str, tuple[Callable[..., torch.Tensor], torch.Tensor, float]] = {
    "ring": (gaussian_ring, ring_centers(), 0.01),
    "grid": (gaussian_grid, grid_centers(), 0.05),
}
#: The columns of the table that :func:`summarize` returns.
COLUMNS = ("dataset", "method", "seeds", "modes_mean", "modes_se", "hq_mean", "hq_se",
           "kl_mean", "kl_se")
#: The registry losses (:data:`gan_tutorial.losses.LOSSES`) the 2-D comparison uses.
LOSS_NAMES = ("saturating", "nonsaturating", "wasserstein-gp")


#: The optimisers of a :class:`Method`, Adam (Kingma & Ba 2015) and RMSProp (Tieleman &
#: Hinton 2012).
OPTIMIZERS = ("adam", "rmsprop")
#: The network families of a :class:`Protocol`, ``"relu-mlp"`` (``PointGenerator`` and
#: ``PointDiscriminator`` with ReLU) and ``"pacgan"`` (``BatchNormPointGenerator`` and
#: ``MaxoutPointDiscriminator`` with 5 pieces, Lin et al. 2018, Appendix).
NETWORKS = ("relu-mlp", "pacgan")


@dataclass(frozen=True)
class Method:
    """One training method of the comparison: loss, packing, penalties and optimiser.

    Not a :class:`~gan_tutorial.config.TrainConfig`: it holds what differs between the methods
    of one stacked training (PacGAN's packing, RMSProp), which :func:`train_stacked_runs` reads;
    the sizes shared by all methods are the :class:`Protocol`'s.

    Attributes:
        name: the label in tables and plots.
        loss: a name in :data:`gan_tutorial.losses.LOSSES` among :data:`LOSS_NAMES`:
            ``"saturating"`` (minimax, Goodfellow et al. 2014, Eq. 1), ``"nonsaturating"``
            (ibid., Section 3) or ``"wasserstein-gp"`` (critic scores with the gradient
            penalty, Gulrajani et al. 2017, Eq. 3).
        pack: samples per decision of D (PacGAN's m, Lin et al. 2018), >= 1.
        d_steps: D updates per G update (``k`` of Goodfellow et al. 2014, Algorithm 1; the
            WGAN papers' ``n_critic``), >= 1; the name of ``TrainConfig.d_steps``.
        lambda_gp: weight of the WGAN-GP penalty (Gulrajani et al. 2017 use 10): > 0 with
            ``"wasserstein-gp"`` and 0 with every other loss (which adds no such penalty).
        r1_gamma: weight gamma of the R1 penalty (Mescheder et al. 2018, Eq. 9), >= 0; any loss.
        lr, betas: optimiser settings of both players, lr > 0, betas in [0, 1). For Adam the
            two betas; for RMSProp ``betas[0]`` must be 0 (no momentum) and ``betas[1]`` is the
            decay rate alpha of the squared-gradient average.
        optimizer: one of :data:`OPTIMIZERS`, ``"adam"`` (default) or ``"rmsprop"``.

    Raises:
        ValueError: naming the setting, on an unknown loss or optimiser, a ``pack`` or
            ``d_steps`` that is not an integer >= 1, a negative penalty, ``lambda_gp > 0`` with
            a loss that has no gradient penalty (or ``lambda_gp = 0`` with
            ``"wasserstein-gp"``), a penalty with ``pack > 1``, a non-positive ``lr``, betas
            that are not two numbers in [0, 1), or RMSProp with ``betas[0] != 0``.
    """

    name: str
    loss: str = "nonsaturating"
    pack: int = 1
    d_steps: int = 1
    lambda_gp: float = 0.0
    r1_gamma: float = 0.0
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    optimizer: str = "adam"

    def __post_init__(self) -> None:
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"loss must be one of {LOSS_NAMES}, got {describe(self.loss)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, "
                             f"got {describe(self.optimizer)}")
        check_int("pack", self.pack, minimum=1)
        check_int("d_steps", self.d_steps, minimum=1)
        check_number("lambda_gp", self.lambda_gp, minimum=0)
        check_number("r1_gamma", self.r1_gamma, minimum=0)
        check_number("lr", self.lr, minimum=0, above=True)
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1), got {describe(self.betas)}")
        for beta in self.betas:
            check_number("betas", beta, minimum=0, maximum=1, below=True)
        if self.optimizer == "rmsprop" and self.betas[0] != 0:
            raise ValueError(f"RMSProp has no momentum here: betas[0] must be 0, "
                             f"got {self.betas[0]}")
        if get_loss(self.loss).gradient_penalty != (self.lambda_gp > 0):
            raise ValueError(f"lambda_gp must be > 0 with 'wasserstein-gp' and 0 with any other "
                             f"loss (only WGAN-GP has that penalty), got lambda_gp="
                             f"{self.lambda_gp:g} with loss {self.loss!r}")
        if self.pack > 1 and (self.lambda_gp or self.r1_gamma):
            raise ValueError("the penalties need one score per sample: use them with pack=1")


@dataclass(frozen=True)
class Protocol:
    """Networks and sizes of one run of the protocol (PacGAN's values in brackets).

    The defaults are the small, fast setting of the chapter's first live runs: ReLU MLPs
    without BatchNorm or maxout, 6,000 steps, learning rates decaying linearly to 0.
    :data:`PAPER` holds each method's published setting.

    Attributes:
        steps: G updates per run.
        batch_size: packs per minibatch of D, real and fake each [100].
        latent_dim: size of z ~ N(0, I) [2].
        g_hidden, d_hidden: hidden widths of G and D [4 x 400; 3 x 200].
        networks: one of :data:`NETWORKS` ["pacgan": BatchNorm G, maxout D with 5 pieces].
        init_std: weights drawn from N(0, init_std^2) and biases set to 0 if > 0 [0.02];
            0 keeps PyTorch's default initialisation.
        decay: True or False: learning rates decay linearly to 0 over ``steps`` [False:
            constant].
        n_train: training points drawn once per run [100,000].
        n_eval: generated points scored per run [2,500].
        threshold: HQ radius in standard deviations [3].
        checkpoints: a sequence (possibly empty) of G steps in ``[1, steps)`` after which
            every run is also scored, for learning curves; the final score is always taken.
            Stored as a tuple of ints.
        time_limit: seconds; if set, training stops after the first step that ends past it,
            and each :class:`Run` records the steps it got. None trains all ``steps``.

    Raises:
        ValueError: naming the field, if a size is not a positive integer, a hidden-width tuple
            is empty, ``networks`` is unknown, ``init_std`` is negative, ``threshold`` or
            ``time_limit`` is not a finite number > 0, ``decay`` is not a bool, or
            ``checkpoints`` is not a sequence of integers in ``[1, steps)``.
    """

    steps: int = 6_000
    batch_size: int = 100
    latent_dim: int = 2
    g_hidden: tuple[int, ...] = (64, 64, 64)
    d_hidden: tuple[int, ...] = (64, 64, 64)
    networks: str = "relu-mlp"
    init_std: float = 0.0
    decay: bool = True
    n_train: int = 100_000
    n_eval: int = 2_500
    threshold: float = 3.0
    checkpoints: tuple[int, ...] = ()
    time_limit: float | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "latent_dim", "n_train", "n_eval"):
            check_int(name, getattr(self, name), minimum=1)
        check_ints("g_hidden", self.g_hidden)
        check_ints("d_hidden", self.d_hidden)
        if self.networks not in NETWORKS:
            raise ValueError(f"networks must be one of {NETWORKS}, got {describe(self.networks)}")
        check_number("init_std", self.init_std, minimum=0)
        check_number("threshold", self.threshold, minimum=0, above=True)
        if self.time_limit is not None:
            check_number("time_limit", self.time_limit, minimum=0, above=True)
        check_bool("decay", self.decay)
        object.__setattr__(self, "checkpoints", _check_checkpoints(self.checkpoints, self.steps))

    def describe_networks(self) -> str:
        """A short description of G and D, e.g. ``"G 4x400 ReLU+BN, D 3x200 maxout(5)"``."""
        g, d = self.g_hidden, self.d_hidden
        if self.networks == "pacgan":
            return f"G {len(g)}x{g[0]} ReLU+BN, D {len(d)}x{d[0]} maxout(5)"
        return f"G {len(g)}x{g[0]} ReLU, D {len(d)}x{d[0]} ReLU"


def _check_checkpoints(checkpoints: object, steps: int) -> tuple[int, ...]:
    """``checkpoints`` as a tuple of ints, each in ``[1, steps)``; empty is allowed."""
    if not isinstance(checkpoints, Sequence) or isinstance(checkpoints, str):
        raise ValueError(f"checkpoints must be a sequence of integers in [1, {steps - 1}] "
                         f"(e.g. (1000, 2000) or ()), got {describe(checkpoints)}")
    return tuple(check_int("checkpoints", step, minimum=1, maximum=steps - 1)
                 for step in checkpoints)


#: The methods of the small :class:`Protocol` defaults (the chapter's earlier live runs).
#: Every GAN variant uses Adam(3e-3, beta1 = 0, beta2 = 0.99); WGAN-GP uses n_critic = 5 and
#: Adam(1e-3, (0, 0.9)).
METHODS: tuple[Method, ...] = (
    Method("GAN (saturating)", loss="saturating", lr=3e-3, betas=(0.0, 0.99)),
    Method("GAN (non-saturating)", lr=3e-3, betas=(0.0, 0.99)),
    Method("WGAN-GP", loss="wasserstein-gp", d_steps=5, lambda_gp=10.0, lr=1e-3,
           betas=(0.0, 0.9)),
    Method("PacGAN2", pack=2, lr=3e-3, betas=(0.0, 0.99)),
    Method("PacGAN3", pack=3, lr=3e-3, betas=(0.0, 0.99)),
    Method("PacGAN4", pack=4, lr=3e-3, betas=(0.0, 0.99)),
    Method("GAN + R1", r1_gamma=0.1, lr=3e-3, betas=(0.0, 0.99)),
)

#: PacGAN's 2-D setting (Lin et al. 2018, Appendix, and their released configuration). G
#: 4 x 400 ReLU + BatchNorm, D 3 x 200 maxout with 5 pieces, N(0, 0.02^2) weights, batch 100,
#: 100,000 training points, constant learning rate. PacGAN trained 400 epochs (400,000 steps);
#: the study trains fewer (``steps`` is set by the benchmark and written to the CSV).
PACGAN_PROTOCOL = Protocol(steps=20_000, g_hidden=(400,) * 4, d_hidden=(200,) * 3,
                           networks="pacgan", init_std=0.02, decay=False)
#: Gulrajani et al.'s toy setting (their released ``gan_toy.py``). G and D 3 x 512 ReLU,
#: batch 256, constant learning rate (they trained 100,000 G steps).
WGAN_GP_PROTOCOL = Protocol(steps=10_000, batch_size=256, g_hidden=(512,) * 3,
                            d_hidden=(512,) * 3, decay=False)

#: Protocol 1, each method at its paper's setting, as method name -> (method, protocol).
#: GAN and PacGAN use Adam(1e-4, beta1 = 0.8) (Lin et al. 2018). WGAN-GP uses lambda = 10,
#: n_critic = 5, Adam(1e-4, (0.5, 0.9)) (Gulrajani et al. 2017, Algorithm 1). R1 uses
#: gamma = 10 and RMSProp(1e-4, alpha = 0.99), the defaults of Mescheder et al.'s released
#: code (``configs/default.yaml``), on PacGAN's networks.
PAPER: dict[str, tuple[Method, Protocol]] = {
    "GAN (saturating)": (Method("GAN (saturating)", loss="saturating", lr=1e-4,
                                betas=(0.8, 0.999)), PACGAN_PROTOCOL),
    "GAN": (Method("GAN", lr=1e-4, betas=(0.8, 0.999)), PACGAN_PROTOCOL),
    **{f"PacGAN{m}": (Method(f"PacGAN{m}", pack=m, lr=1e-4, betas=(0.8, 0.999)),
                      PACGAN_PROTOCOL) for m in (2, 3, 4)},
    "WGAN-GP": (Method("WGAN-GP", loss="wasserstein-gp", d_steps=5, lambda_gp=10.0, lr=1e-4,
                       betas=(0.5, 0.9)), WGAN_GP_PROTOCOL),
    "GAN + R1": (Method("GAN + R1", r1_gamma=10.0, lr=1e-4, betas=(0.0, 0.99),
                        optimizer="rmsprop"), PACGAN_PROTOCOL),
}


#: The chapter's study, in which every method trains the same networks for the same number of
#: G steps, with Adam. G and D are 3 x 128 ReLU MLPs (``PointGenerator``, ``PointDiscriminator``,
#: PyTorch's default initialisation), batch 100, z ~ N(0, I_2), 100,000 training points, a
#: constant learning rate, 6,000 G steps, scored every 300 steps (the curves that measure
#: convergence). Sized so that the whole study, search included, trains in about an hour on
#: a 2-core CPU (``benchmarks/mode_collapse_study.py``).
STUDY_PROTOCOL = Protocol(steps=6_000, g_hidden=(128,) * 3, d_hidden=(128,) * 3,
                          networks="relu-mlp", decay=False,
                          checkpoints=tuple(range(300, 6_000, 300)))
#: The study's seven methods, each with its paper's fixed settings; their learning rate and
#: beta1 come from :data:`STUDY_SEARCH`, below; beta2 stays as given here, 0.999 and 0.9 for
#: WGAN-GP (Gulrajani et al. 2017, Algorithm 1). WGAN-GP: lambda = 10, n_critic = 5 (ibid.). R1:
#: gamma = 0.1 (not tuned; Mescheder et al. 2018 use 10 on images).
STUDY_METHODS: tuple[Method, ...] = (
    Method("GAN"),
    Method("GAN (saturating)", loss="saturating"),
    Method("PacGAN2", pack=2),
    Method("PacGAN3", pack=3),
    Method("PacGAN4", pack=4),
    Method("WGAN-GP", loss="wasserstein-gp", d_steps=5, lambda_gp=10.0, betas=(0.5, 0.9)),
    Method("GAN + R1", r1_gamma=0.1),
)
#: PacGAN's Table 1 (Lin et al. 2018, 10 trials, mean and s.e.), keyed by (dataset, method),
#: values (modes, modes s.e., HQ %, HQ s.e., reverse KL, KL s.e.).
PACGAN_TABLE1: dict[tuple[str, str], tuple[float, ...]] = {
    ("ring", "GAN"): (6.3, 0.5, 98.2, 0.2, 0.45, 0.09),
    ("ring", "ALI"): (6.6, 0.3, 97.6, 0.4, 0.36, 0.04),
    ("ring", "PacGAN2"): (7.9, 0.1, 95.6, 2.0, 0.07, 0.03),
    ("ring", "PacGAN3"): (7.8, 0.1, 97.7, 0.3, 0.10, 0.02),
    ("ring", "PacGAN4"): (7.8, 0.1, 95.9, 1.4, 0.07, 0.02),
    ("grid", "GAN"): (17.3, 0.8, 94.8, 0.7, 0.70, 0.07),
    ("grid", "ALI"): (24.1, 0.4, 95.7, 0.6, 0.14, 0.03),
    ("grid", "PacGAN2"): (23.8, 0.7, 91.3, 0.8, 0.13, 0.04),
    ("grid", "PacGAN3"): (24.6, 0.4, 94.2, 0.4, 0.06, 0.02),
    ("grid", "PacGAN4"): (24.8, 0.2, 93.6, 0.6, 0.04, 0.01),
}


def search_space(n: int = 6, seed: int = 0,
                 lr_range: tuple[float, float] = (1e-5, 1e-2)) -> list[tuple[float, float]]:
    """A random search's ``n`` settings (lr, beta1), the same for every method.

    Lucic et al. 2018 ("Are GANs created equal?") compare GANs at an equal search budget. Here
    each setting draws ``lr`` log-uniformly from ``lr_range`` and ``beta1`` uniformly from
    [0, 0.9], from a generator seeded with ``seed``; every method gets these very settings
    (Adam, its own beta2, networks and steps).

    Returns:
        ``n`` pairs ``(lr, beta1)``, rounded to 3 significant digits and 2 decimals.

    Raises:
        ValueError: if ``n`` is not an integer >= 1, ``seed`` not an integer in
            ``[0, 2**63)``, or ``lr_range`` not two numbers ``0 < low <= high``.
    """
    n = check_int("n", n, minimum=1)
    rng = torch.Generator().manual_seed(check_seed("seed", seed))
    if not isinstance(lr_range, (tuple, list)) or len(lr_range) != 2:
        raise ValueError(f"lr_range must be two numbers 0 < low <= high, "
                         f"got {describe(lr_range)}")
    low, high = (math.log10(check_number("lr_range", lr, minimum=0, above=True))
                 for lr in lr_range)
    if low > high:
        raise ValueError(f"lr_range must be two numbers 0 < low <= high, got {lr_range}")
    u = torch.rand(n, 2, generator=rng, dtype=torch.float64)
    return [(float(f"{10 ** (low + (high - low) * a):.3g}"), round(0.9 * b, 2))
            for a, b in u.tolist()]


#: The study's equal search, four (lr, beta1) settings with lr log-uniform in [1e-4, 10^-2.5]
#: and beta1 uniform in [0, 0.9], drawn once (seed 0) and tried by every method on its tuning
#: seeds.
STUDY_SEARCH: list[tuple[float, float]] = search_space(4, seed=0, lr_range=(1e-4, 10 ** -2.5))


def tuned(method: Method, lr: float, beta1: float) -> Method:
    """``method`` with Adam(lr, (beta1, its beta2)): a setting of protocol 2's search."""
    return dataclasses.replace(method, lr=lr, betas=(beta1, method.betas[1]), optimizer="adam")


@dataclass
class Run:
    """One trained run: its identity and setting, its 2,500 samples and their scores.

    ``lr`` and ``betas`` are the optimiser's; ``steps`` the G steps it got; ``seconds`` the
    wall time of the whole stacked training it was part of; ``curve`` holds
    ``(step, modes, hq_fraction, reverse_kl)`` at the protocol's checkpoints.
    """

    dataset: str
    method: str
    seed: int
    samples: torch.Tensor = field(repr=False)
    modes: int
    hq_fraction: float
    reverse_kl: float
    lr: float = 0.0
    betas: tuple[float, float] = (0.0, 0.0)
    steps: int = 0
    seconds: float = 0.0
    curve: list[tuple[int, int, float, float]] = field(default_factory=list, repr=False)


class StackedModels:
    """``S`` copies of one architecture, with stacked parameters and a vmapped forward.

    All parameters live in one leaf tensor ``flat (S, P)``; ``params`` are views of it
    with the shapes of the stacked state ``(S, *shape)``, so one optimiser step updates every
    parameter of every run in a few operations.
    """

    def __init__(self, models: Sequence[nn.Module], device: torch.device | str = "cpu") -> None:
        params, _ = stack_module_state(list(models))
        self.names = list(params)
        self.shapes = [p.shape[1:] for p in params.values()]
        self.flat = torch.cat([p.detach().flatten(1) for p in params.values()], dim=1
                              ).to(device).requires_grad_(True)
        self.base = copy.deepcopy(models[0]).to("meta")
        self.forward = vmap(lambda p, x: functional_call(self.base, p, (x,)))

    def unflatten(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Split a ``(S, P)`` tensor (the parameters or their gradient) by parameter name."""
        sizes = [math.prod(shape) for shape in self.shapes]
        return {name: chunk.view(len(flat), *shape) for name, shape, chunk in
                zip(self.names, self.shapes, flat.split(sizes, dim=1))}

    @property
    def params(self) -> dict[str, torch.Tensor]:
        return self.unflatten(self.flat)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x (S, B, ...)`` -> outputs ``(S, B', ...)``: run s sees ``x[s]``."""
        return self.forward(self.params, x)


class StackedOptimizer:
    """Adam or RMSProp on ``flat (S, P)`` with one learning rate and betas per run.

    Adam is PyTorch's fused kernel (``torch._fused_adam_``: eps 1e-8, bias-corrected moments,
    one pass over the parameters), called once per distinct ``(lr, betas)`` on the rows that
    share them: each row ``flat[s]`` is exactly what ``torch.optim.Adam(fused=True)`` would give
    that run alone (tested against ``torch.optim.Adam``). RMSProp (eps 1e-8, no momentum, not
    centred) is written out. ``scale`` multiplies every learning rate (the linear decay).
    """

    def __init__(self, flat: torch.Tensor, lrs: Sequence[float],
                 betas: Sequence[tuple[float, float]], kind: str) -> None:
        self.flat, self.kind = flat, kind
        self.m = torch.zeros_like(flat)
        self.v = torch.zeros_like(flat)
        self.groups: dict[tuple[float, float, float], list[int]] = {}
        for row, (lr, (beta1, beta2)) in enumerate(zip(lrs, betas, strict=True)):
            self.groups.setdefault((float(lr), float(beta1), float(beta2)), []).append(row)
        self.steps = [torch.zeros((), device=flat.device) for _ in range(len(flat))]
        column = lambda v: torch.tensor(v, dtype=flat.dtype, device=flat.device)[:, None]  # noqa: E731
        self.lr, self.alpha = column(list(lrs)), column([b[1] for b in betas])  # RMSProp's

    @torch.no_grad()
    def step(self, grad: torch.Tensor, scale: float = 1.0) -> None:
        """One update of every row with ``grad (S, P)``, the gradient of the summed losses."""
        if self.kind == "rmsprop":
            self._rmsprop(grad, scale)
            return
        rows = [t.unbind(0) for t in (self.flat, grad, self.m, self.v)]
        for (lr, beta1, beta2), index in self.groups.items():
            steps = [self.steps[i] for i in index]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(*([r[i] for i in index] for r in rows), [], steps,
                               lr=lr * scale, beta1=beta1, beta2=beta2, weight_decay=0.0,
                               eps=1e-8, amsgrad=False, maximize=False)

    def _rmsprop(self, grad: torch.Tensor, scale: float) -> None:
        self.v.lerp_(grad * grad, 1 - self.alpha)
        self.flat.addcdiv_(grad * (self.lr * scale), self.v.sqrt().add_(1e-8), value=-1)


def _init_normal(model: nn.Module, std: float) -> nn.Module:
    """Linear weights ~ N(0, std^2), biases 0 (PacGAN's ``IsotropicGaussian(0.02)``)."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model


def _networks(method: Method, protocol: Protocol) -> tuple[nn.Module, nn.Module]:
    """One G and one D of ``protocol.networks`` (drawing from torch's global generator)."""
    if protocol.networks == "pacgan":
        G: nn.Module = BatchNormPointGenerator(protocol.latent_dim, 2, protocol.g_hidden)
        D: nn.Module = MaxoutPointDiscriminator(2, protocol.d_hidden, method.pack, pieces=5)
    else:
        G = PointGenerator(protocol.latent_dim, 2, protocol.g_hidden, "relu")
        D = PointDiscriminator(2, protocol.d_hidden, method.pack, "relu")
    if protocol.init_std:
        _init_normal(G, protocol.init_std)
        _init_normal(D, protocol.init_std)
    return G, D


def _build(method: Method, protocol: Protocol, seeds: Sequence[int],
           device: torch.device | str = "cpu") -> tuple[StackedModels, StackedModels]:
    """One G and one D per seed, each initialised from ``torch.manual_seed(seed)``."""
    Gs, Ds = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        G, D = _networks(method, protocol)
        Gs.append(G)
        Ds.append(D)
    return StackedModels(Gs, device), StackedModels(Ds, device)


def _d_loss(method: Method, D: StackedModels, x_real: torch.Tensor, x_fake: torch.Tensor,
            rng: torch.Generator) -> torch.Tensor:
    """D's loss of ``method``, summed over the S runs; ``x_* (S, B * pack, 2)``.

    :func:`~gan_tutorial.losses.discriminator_loss` sees one flat D mapping the ``S * B * pack``
    points to ``S * B`` outputs; its batch means are over all runs, hence the factor S. The
    WGAN-GP interpolation draws one ``eps`` per point from ``rng``, ``S * B`` of them at once.
    """
    S = len(x_real)
    flat_D = lambda x: D(x.view(S, -1, 2)).flatten()  # noqa: E731  (S * B, 2) -> (S * B,)
    loss, _, _ = discriminator_loss(get_loss(method.loss), flat_D, x_real.flatten(0, 1),
                                    x_fake.flatten(0, 1), lambda_gp=method.lambda_gp,
                                    r1_gamma=method.r1_gamma, generator=rng)
    return S * loss


def _g_loss(method: Method, d_g_z: torch.Tensor) -> torch.Tensor:
    """G's loss of ``method`` on D's outputs ``(S, B)``, summed over the S runs."""
    return len(d_g_z) * get_loss(method.loss).g_loss(d_g_z.flatten())


def train_stacked_runs(method: Method, protocol: Protocol, data: torch.Tensor,
                       seeds: Sequence[int], settings: Sequence[tuple[float, tuple[float, float]]],
                       rng: torch.Generator, progress: bool,
                       score: Callable[[int, StackedModels], None]
                       ) -> tuple[StackedModels, int]:
    """Alternate ``method.d_steps`` D steps and one G step on all S runs at once.

    ``data (S, n_train, 2) float32`` holds each run's training points; run s trains with
    ``settings[s] = (lr, betas)`` and draws its minibatches and latents from ``rng``.
    ``score(step, G)`` is called at ``protocol.checkpoints``. Returns the stacked G and the
    number of G steps done (fewer than ``protocol.steps`` if ``protocol.time_limit`` ran out).
    """
    G, D = _build(method, protocol, seeds, data.device)
    lrs, betas = [lr for lr, _ in settings], [b for _, b in settings]
    opt_g = StackedOptimizer(G.flat, lrs, betas, method.optimizer)
    opt_d = StackedOptimizer(D.flat, lrs, betas, method.optimizer)
    S, n, device = len(seeds), protocol.batch_size * method.pack, data.device
    rows = torch.arange(S, device=device)[:, None]
    start = time.perf_counter()

    def z() -> torch.Tensor:
        return torch.randn(S, n, protocol.latent_dim, generator=rng, device=device)

    step = 0
    for step in tqdm(range(1, protocol.steps + 1), desc=method.name, disable=not progress,
                     leave=False):
        scale = 1 - (step - 1) / protocol.steps if protocol.decay else 1.0
        for k in range(method.d_steps):
            index = torch.randint(protocol.n_train, (S, n), generator=rng, device=device)
            with torch.set_grad_enabled(k == method.d_steps - 1):  # the G step reuses these
                x_fake = G(z())
            loss_d = _d_loss(method, D, data[rows, index], x_fake.detach(), rng)
            opt_d.step(torch.autograd.grad(loss_d, D.flat)[0], scale)
        loss_g = _g_loss(method, D(x_fake))
        opt_g.step(torch.autograd.grad(loss_g, G.flat)[0], scale)
        if step in protocol.checkpoints:
            score(step, G)
        if protocol.time_limit is not None and time.perf_counter() - start > protocol.time_limit:
            break
    return G, step


def _check_entry(entry: object) -> None:
    """Raise ``ValueError`` unless ``entry`` is ``(dataset name, Method, seed)``."""
    if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 3:
        raise ValueError(f"plan entries must be triples (dataset, Method, seed), "
                         f"got {describe(entry)}")
    name, method, seed = entry
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"datasets must be names in {sorted(DATASETS)}, got {name!r}")
    _check_method(method)
    check_seed("seed", seed)


def _check_method(method: object) -> None:
    """Raise ``ValueError`` unless ``method`` is a :class:`Method`."""
    if not isinstance(method, Method):
        raise ValueError(f"method must be a Method (e.g. METHODS[0] or PAPER[name][0], "
                         f"names {sorted(PAPER)}), got {describe(method)}")


def run_plan(plan: Sequence[tuple[str, Method, int]], protocol: Protocol = Protocol(),
             progress: bool = True, device: torch.device | str = "cpu") -> list[Run]:
    """Train the runs ``(dataset, method, seed)`` of ``plan`` all at once and score each.

    The methods of a plan may differ only in ``name``, ``lr`` and ``betas`` (they share one
    stacked model and optimiser). Run ``(dataset, method, seed)`` draws its ``n_train``
    training points, its initial weights and its 2,500 evaluation latents from ``seed``; the
    minibatches of all runs come from one stream seeded by the first run's seed (on
    ``device``), so the whole call is deterministic on a given machine.

    Returns:
        One :class:`Run` per entry of ``plan``, in its order.

    Raises:
        ValueError: on an empty plan, an entry that is not a triple, an unknown dataset, a
            method that is not a :class:`Method` (a name, say), a seed that is not an integer
            in ``[0, 2**63)``, a ``protocol`` that is not a :class:`Protocol`, or methods that
            differ in more than name, lr and betas.
    """
    if not plan:
        raise ValueError("plan is empty")
    if not isinstance(protocol, Protocol):
        raise ValueError(f"protocol must be a Protocol, got {describe(protocol)}")
    for entry in plan:
        _check_entry(entry)
    first = plan[0][1]
    for _, method, _ in plan:
        same = dataclasses.replace(method, name=first.name, lr=first.lr, betas=first.betas)
        if same != first:
            raise ValueError(f"the methods of one plan may differ only in name, lr and "
                             f"betas, got {first} and {method}")
    data = torch.stack([DATASETS[name][0](protocol.n_train,
                                          generator=torch.Generator().manual_seed(seed))
                        for name, _, seed in plan]).to(device)
    z_eval = torch.stack([torch.randn(protocol.n_eval, protocol.latent_dim,
                                      generator=torch.Generator().manual_seed(10_000 + seed))
                          for _, _, seed in plan]).to(device)
    curves: list[list[tuple[int, int, float, float]]] = [[] for _ in plan]

    def score(step: int, G: StackedModels) -> None:
        with torch.no_grad():
            samples = G(z_eval).cpu()
        for curve, (name, method, seed), x in zip(curves, plan, samples):
            run = _score(name, method.name, seed, x, protocol.threshold)
            curve.append((step, run.modes, run.hq_fraction, run.reverse_kl))

    rng = torch.Generator(device).manual_seed(plan[0][2])
    start = time.perf_counter()
    G, steps = train_stacked_runs(first, protocol, data, [seed for _, _, seed in plan],
                      [(m.lr, m.betas) for _, m, _ in plan], rng, progress, score)
    with torch.no_grad():
        samples = G(z_eval).cpu()
    seconds = time.perf_counter() - start
    runs = []
    for curve, (name, method, seed), x in zip(curves, plan, samples):
        run = _score(name, method.name, seed, x, protocol.threshold)
        run.lr, run.betas, run.steps, run.seconds = method.lr, tuple(method.betas), steps, seconds
        run.curve = curve
        runs.append(run)
    return runs


def run_method(method: Method, datasets: Sequence[str], seeds: Sequence[int],
               protocol: Protocol = Protocol(), progress: bool = True,
               settings: Sequence[tuple[float, float]] | None = None,
               device: torch.device | str = "cpu") -> list[Run]:
    """Train ``method`` on every dataset for every seed (all at once) and score each run.

    Args:
        method: what to train.
        datasets: names in :data:`DATASETS` (``"ring"``, ``"grid"``).
        seeds: integer seeds >= 0 (NumPy integers too), at least one.
        protocol: networks and sizes.
        progress: show a tqdm bar.
        settings: optional ``(lr, beta1)`` pairs (protocol 2's search, :func:`search_space`):
            every pair is trained for every dataset and seed with Adam(lr, (beta1, the
            method's beta2)). None trains the method's own optimiser setting.
        device: where to train.

    Returns:
        One :class:`Run` per ``(dataset, setting, seed)``, in that nesting order (see
        :func:`run_plan` for the seeding).

    Raises:
        ValueError: on a ``method`` that is not a :class:`Method`, an unknown dataset name,
            no dataset, seeds that are not a non-empty sequence of integers in
            ``[0, 2**63)``, or a setting that :class:`Method` refuses.
    """
    _check_method(method)
    if isinstance(datasets, str) or not datasets \
            or any(name not in DATASETS for name in datasets):
        raise ValueError(f"datasets must be a non-empty list of names in {sorted(DATASETS)}, "
                         f"got {describe(datasets)}")
    seeds = tuple(check_seed("seeds", seed) for seed in check_ints("seeds", seeds, minimum=0))
    variants = [method] if settings is None else [tuned(method, lr, b1) for lr, b1 in settings]
    plan = [(name, v, seed) for name in datasets for v in variants for seed in seeds]
    return run_plan(plan, protocol, progress, device)


def _cost(method: Method) -> float:
    """A rough relative cost of one G step of ``method`` (to start the slowest methods first)."""
    return method.d_steps * (2 if method.lambda_gp or method.r1_gamma else 1) + method.pack


def _worker_init(threads: int) -> None:
    torch.set_num_threads(threads)


def run_protocol(methods: Sequence[Method], datasets: Sequence[str], seeds: Sequence[int],
                 protocol: Protocol = Protocol(), workers: int = 1,
                 progress: bool = True) -> list[Run]:
    """:func:`run_method` for every method; with ``workers > 1`` in that many processes.

    Each worker process uses one thread (small networks gain little from more), and the most
    expensive methods start first. The results do not depend on ``workers``: every method's
    runs are seeded the same way wherever they execute.

    Returns:
        The runs of all methods, methods in the order given.

    Raises:
        ValueError: if ``workers`` is not a positive integer, or as :func:`run_method`.
    """
    workers = check_int("workers", workers, minimum=1)
    if workers == 1:
        return [run for m in methods for run in run_method(m, datasets, seeds, protocol, progress)]
    order = sorted(range(len(methods)), key=lambda i: -_cost(methods[i]))
    context = multiprocessing.get_context("spawn")  # fork is unsafe once torch has threads
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                             initargs=(1,)) as pool:
        futures = {i: pool.submit(run_method, methods[i], datasets, seeds, protocol, False)
                   for i in order}
        done = {i: future.result() for i, future in
                tqdm(futures.items(), desc="methods", disable=not progress)}
    return [run for i in range(len(methods)) for run in done[i]]


def _score(dataset: str, method: str, seed: int, samples: torch.Tensor,
           threshold: float) -> Run:
    _, centers, std = DATASETS[dataset]
    scores = mode_coverage_2d(samples, centers, std, threshold)
    return Run(dataset, method, seed, samples.detach().clone(), scores["modes"],
               scores["hq_fraction"], scores["reverse_kl"])


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error ``sd / sqrt(n)`` (sample sd, ddof 1; 0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def summarize(runs: Sequence[Run]) -> list[dict[str, object]]:
    """One row per (dataset, method), in order of first appearance, with :data:`COLUMNS`.

    ``modes_*`` count modes, ``hq_*`` are percentages (0-100), ``kl_*`` nats; ``*_se`` is the
    standard error of the mean over the seeds (PacGAN's Table 1 reports mean ± s.e.).

    Raises:
        ValueError: if ``runs`` is empty.
    """
    if not runs:
        raise ValueError("runs is empty")
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.method), []).append(run)
    rows = []
    for (dataset, method), group in groups.items():
        row: dict[str, object] = {"dataset": dataset, "method": method, "seeds": len(group)}
        for key, values in (("modes", [r.modes for r in group]),
                            ("hq", [100 * r.hq_fraction for r in group]),
                            ("kl", [r.reverse_kl for r in group])):
            row[f"{key}_mean"], row[f"{key}_se"] = _mean_se(values)
        rows.append(row)
    return rows


def last_quarter_change(first: Sequence[float], last: Sequence[float]) -> dict[str, float]:
    """Did a row settle? Its mean change over the last quarter of training against its s.e.

    ``first[s]`` and ``last[s]`` are seed s's score (modes, or HQ in %) at 3/4 of the G steps
    and at the end. The row counts as converged on that score if the mean change over the
    seeds is no larger in size than the standard error of the final mean (the chapter's rule:
    the score moved by less than its own uncertainty over the last quarter).

    Returns:
        ``{"change": mean(last - first), "se": s.e. of mean(last), "converged": 0 or 1}``.

    Raises:
        ValueError: unless ``first`` and ``last`` are equally long, non-empty sequences of
            finite numbers.
    """
    if (isinstance(first, str) or isinstance(last, str) or not isinstance(first, Sequence)
            or not isinstance(last, Sequence) or not first or len(first) != len(last)):
        raise ValueError(f"first and last must be equally long, non-empty sequences of "
                         f"numbers, got {describe(first)} and {describe(last)}")
    for value in (*first, *last):
        check_number("scores", value)
    change, _ = _mean_se([b - a for a, b in zip(first, last)])
    _, se = _mean_se(list(last))
    return {"change": change, "se": se, "converged": int(abs(change) <= se)}


def mode_coverage_2d(samples: torch.Tensor, centers: torch.Tensor, std: float,
                     threshold: float = 3.0) -> dict[str, float]:
    """Modes captured, high-quality fraction and reverse KL of 2-D samples (VEEGAN / PacGAN).

    The protocol of Srivastava et al. 2017 (VEEGAN, Section 5.1) and Lin et al. 2018 (PacGAN,
    Section 5): each sample is assigned to its nearest centre; it is *high quality* (HQ) if it
    lies within ``threshold * std`` of that centre (Euclidean distance); a mode is *captured* if
    at least one HQ sample has it as nearest centre; the reverse KL is
    ``KL(h || uniform) = sum_k h_k log(K h_k)`` of the histogram ``h`` of the HQ samples over the
    ``K`` modes (0 when the HQ samples are spread evenly, ``log K`` when they sit in one mode).

    Args:
        samples: generated points ``(N, d)`` float, N >= 1 (the protocol uses N = 2,500).
        centers: the mixture's means ``(K, d)`` float.
        std: the components' standard deviation, > 0.
        threshold: the HQ radius in units of ``std`` (3 in the papers), > 0.

    Returns:
        A dict with ``"modes"`` (int in [0, K]), ``"hq_fraction"`` (float in [0, 1]) and
        ``"reverse_kl"`` (float in [0, log K], nats); ``reverse_kl`` is NaN if no sample is high
        quality (the histogram is then undefined).

    Raises:
        ValueError: on shapes that do not match, NaN or infinite samples or centres, or a
            ``std`` or ``threshold`` that is not a finite number > 0.
    """
    ok = (isinstance(samples, torch.Tensor) and isinstance(centers, torch.Tensor)
          and samples.dim() == centers.dim() == 2 and samples.shape[1] == centers.shape[1]
          and len(samples) > 0 and len(centers) > 0 and samples.is_floating_point()
          and centers.is_floating_point())
    if not ok:
        raise ValueError(f"samples (N, d) and centers (K, d) must be non-empty float tensors "
                         f"with the same d, got {describe(samples)} and {describe(centers)}")
    check_finite("samples", samples)
    check_finite("centers", centers)
    std = check_number("std", std, minimum=0, above=True)
    threshold = check_number("threshold", threshold, minimum=0, above=True)
    distance, nearest = torch.cdist(samples.double().cpu(), centers.double().cpu()).min(dim=1)
    hq = distance <= threshold * std
    counts = torch.bincount(nearest[hq], minlength=len(centers)).double()
    n_hq = int(hq.sum())
    return {"modes": int((counts > 0).sum()), "hq_fraction": n_hq / len(samples),
            "reverse_kl": kl_to_uniform(counts / n_hq) if n_hq else math.nan}
