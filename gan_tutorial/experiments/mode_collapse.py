"""The mode-collapse protocol of VEEGAN and PacGAN on 2-D mixtures, many seeds in one model.

One *method* (a loss, a packing degree, a penalty) is trained on the ring and the grid
(:mod:`gan_tutorial.data`) for several seeds, and each trained G is scored on 2,500 samples with
:func:`mode_coverage_2d` (Lin et al. 2018, Section 5). The losses come from the package's one
registry, :data:`gan_tutorial.losses.LOSSES`, and D's loss is assembled by
:func:`gan_tutorial.losses.discriminator_loss`, exactly as :func:`gan_tutorial.train.fit` does.

All runs of one method train *at once*: the parameters of the ``S`` generators (and of the
``S`` discriminators) are stacked along a new first dimension with
``torch.func.stack_module_state`` and the networks are evaluated with ``torch.func.vmap`` over
``functional_call``. Each run keeps its own initial weights, data and latents; Adam acts element
by element, so one Adam over the stacked tensors is ``S`` independent Adams. On a CPU this is
several times faster than a loop over the runs, because small networks are dominated by
per-operation overhead. The losses are computed on the flattened ``(S * B,)`` logits and
multiplied by ``S``: the sum of the ``S`` per-run mean losses, so each run's gradient is exactly
what it would be alone (tested, penalties included).
"""

from __future__ import annotations

import copy
import math
import multiprocessing
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
from ..models import PointDiscriminator, PointGenerator
from ..validation import check_finite, check_int, check_ints, check_number, describe

#: dataset name -> (sampler ``(n, generator) -> (n, 2)``, mode centres ``(K, 2)``, std).
DATASETS: dict[str, tuple[Callable[..., torch.Tensor], torch.Tensor, float]] = {
    "ring": (gaussian_ring, ring_centers(), 0.01),
    "grid": (gaussian_grid, grid_centers(), 0.05),
}
#: The columns of the summary table (and of ``book/results/mode_collapse.csv``).
COLUMNS = ("dataset", "method", "seeds", "modes_mean", "modes_se", "hq_mean", "hq_se",
           "kl_mean", "kl_se")
#: The registry losses (:data:`gan_tutorial.losses.LOSSES`) the 2-D comparison uses.
LOSS_NAMES = ("saturating", "nonsaturating", "wasserstein-gp")


@dataclass(frozen=True)
class Method:
    """One training method of the comparison.

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
        lr, betas: Adam settings of both players, lr > 0, betas in [0, 1).

    Raises:
        ValueError: naming the setting, on an unknown loss, a ``pack`` or ``d_steps`` that is
            not an integer >= 1, a negative penalty, ``lambda_gp > 0`` with a loss that has no
            gradient penalty (or ``lambda_gp = 0`` with ``"wasserstein-gp"``), a penalty with
            ``pack > 1``, a non-positive ``lr``, or betas that are not two numbers in [0, 1).
    """

    name: str
    loss: str = "nonsaturating"
    pack: int = 1
    d_steps: int = 1
    lambda_gp: float = 0.0
    r1_gamma: float = 0.0
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)

    def __post_init__(self) -> None:
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"loss must be one of {LOSS_NAMES}, got {describe(self.loss)}")
        check_int("pack", self.pack, minimum=1)
        check_int("d_steps", self.d_steps, minimum=1)
        check_number("lambda_gp", self.lambda_gp, minimum=0)
        check_number("r1_gamma", self.r1_gamma, minimum=0)
        check_number("lr", self.lr, minimum=0, above=True)
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1), got {describe(self.betas)}")
        for beta in self.betas:
            check_number("betas", beta, minimum=0, maximum=1, below=True)
        if get_loss(self.loss).gradient_penalty != (self.lambda_gp > 0):
            raise ValueError(f"lambda_gp must be > 0 with 'wasserstein-gp' and 0 with any other "
                             f"loss (only WGAN-GP has that penalty), got lambda_gp="
                             f"{self.lambda_gp:g} with loss {self.loss!r}")
        if self.pack > 1 and (self.lambda_gp or self.r1_gamma):
            raise ValueError("the penalties need one score per sample: use them with pack=1")


@dataclass(frozen=True)
class Protocol:
    """Sizes of one run of the protocol (PacGAN's values in brackets).

    Smaller than PacGAN's so that 7 methods x 2 datasets x 5 seeds train in minutes on a
    2-core CPU: ReLU MLPs without BatchNorm or maxout, and far fewer steps. Both players'
    learning rates decay linearly to 0 over ``steps`` (PacGAN used a constant rate).

    Attributes:
        steps: G updates per run.
        batch_size: packs per minibatch of D, real and fake each [100].
        latent_dim: size of z ~ N(0, I) [2].
        g_hidden, d_hidden: hidden widths of G and D [4 x 400 with BatchNorm; 3 x 200 maxout].
        n_train: training points drawn once per run [100,000].
        n_eval: generated points scored per run [2,500].
        threshold: HQ radius in standard deviations [3].

    Raises:
        ValueError: naming the field, if a size is not a positive integer, a hidden-width tuple
            is empty, or ``threshold`` is not a finite number > 0.
    """

    steps: int = 6_000
    batch_size: int = 100
    latent_dim: int = 2
    g_hidden: tuple[int, ...] = (64, 64, 64)
    d_hidden: tuple[int, ...] = (64, 64, 64)
    n_train: int = 100_000
    n_eval: int = 2_500
    threshold: float = 3.0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "latent_dim", "n_train", "n_eval"):
            check_int(name, getattr(self, name), minimum=1)
        check_ints("g_hidden", self.g_hidden)
        check_ints("d_hidden", self.d_hidden)
        check_number("threshold", self.threshold, minimum=0, above=True)


#: The methods of the book's comparison. Every GAN variant uses Adam(3e-3, beta1 = 0,
#: beta2 = 0.99). WGAN-GP uses the paper's betas (0, 0.9) and n_critic = d_steps = 5 with lr
#: 1e-3, ten times the paper's 1e-4, which is too slow for this budget.
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


@dataclass
class Run:
    """One trained run: its identity, its 2,500 samples and their scores."""

    dataset: str
    method: str
    seed: int
    samples: torch.Tensor = field(repr=False)
    modes: int
    hq_fraction: float
    reverse_kl: float


class _Stacked:
    """``S`` copies of one architecture, with stacked parameters and a vmapped forward."""

    def __init__(self, models: Sequence[nn.Module]) -> None:
        params, _ = stack_module_state(list(models))
        self.params = {name: p.detach().requires_grad_(True) for name, p in params.items()}
        self.base = copy.deepcopy(models[0]).to("meta")
        self.forward = vmap(lambda p, x: functional_call(self.base, p, (x,)))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``x (S, B, ...)`` -> outputs ``(S, B', ...)``: run s sees ``x[s]``."""
        return self.forward(self.params, x)


def _build(method: Method, protocol: Protocol, seeds: Sequence[int]) -> tuple[_Stacked, _Stacked]:
    """One G and one D per seed, each initialised from ``torch.manual_seed(seed)``."""
    Gs, Ds = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        Gs.append(PointGenerator(protocol.latent_dim, 2, protocol.g_hidden, "relu"))
        Ds.append(PointDiscriminator(2, protocol.d_hidden, method.pack, "relu"))
    return _Stacked(Gs), _Stacked(Ds)


def _d_loss(method: Method, D: _Stacked, x_real: torch.Tensor, x_fake: torch.Tensor,
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


def _train(method: Method, protocol: Protocol, data: torch.Tensor, seeds: Sequence[int],
           rng: torch.Generator, progress: bool) -> _Stacked:
    """Alternate ``d_steps`` D steps and one G step on all S runs at once; return the G's."""
    G, D = _build(method, protocol, seeds)
    opt_g = torch.optim.Adam(G.params.values(), lr=method.lr, betas=method.betas)
    opt_d = torch.optim.Adam(D.params.values(), lr=method.lr, betas=method.betas)
    decay = [torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - k / protocol.steps)
             for opt in (opt_g, opt_d)]
    S, n = len(seeds), protocol.batch_size * method.pack
    rows = torch.arange(S)[:, None]

    def z() -> torch.Tensor:
        return torch.randn(S, n, protocol.latent_dim, generator=rng)

    for _ in tqdm(range(protocol.steps), desc=method.name, disable=not progress, leave=False):
        for _ in range(method.d_steps):
            x_real = data[rows, torch.randint(protocol.n_train, (S, n), generator=rng)]
            with torch.no_grad():
                x_fake = G(z())
            opt_d.zero_grad(set_to_none=True)
            _d_loss(method, D, x_real, x_fake, rng).backward()
            opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        _g_loss(method, D(G(z()))).backward()
        opt_g.step()
        for schedule in decay:
            schedule.step()
    return G


def run_method(method: Method, datasets: Sequence[str], seeds: Sequence[int],
               protocol: Protocol = Protocol(), progress: bool = True) -> list[Run]:
    """Train ``method`` on every dataset for every seed (all at once) and score each run.

    Run ``(dataset, seed)`` draws its ``n_train`` training points, its initial weights and its
    2,500 evaluation latents from ``seed``; the minibatches of all runs come from one stream
    seeded by ``seeds[0]``, so the whole call is deterministic on a given machine.

    Args:
        method: what to train.
        datasets: names in :data:`DATASETS` (``"ring"``, ``"grid"``).
        seeds: integer seeds >= 0 (NumPy integers too), at least one.
        protocol: the sizes.
        progress: show a tqdm bar.

    Returns:
        One :class:`Run` per ``(dataset, seed)``, datasets in the outer loop.

    Raises:
        ValueError: on an unknown dataset name, no dataset, or seeds that are not a non-empty
            sequence of integers >= 0.
    """
    if isinstance(datasets, str) or not datasets \
            or any(name not in DATASETS for name in datasets):
        raise ValueError(f"datasets must be a non-empty list of names in {sorted(DATASETS)}, "
                         f"got {describe(datasets)}")
    seeds = check_ints("seeds", seeds, minimum=0)
    runs = [(name, seed) for name in datasets for seed in seeds]
    data = torch.stack([DATASETS[name][0](protocol.n_train,
                                          generator=torch.Generator().manual_seed(seed))
                        for name, seed in runs])
    rng = torch.Generator().manual_seed(seeds[0])
    G = _train(method, protocol, data, [seed for _, seed in runs], rng, progress)
    with torch.no_grad():
        z = torch.stack([torch.randn(protocol.n_eval, protocol.latent_dim,
                                     generator=torch.Generator().manual_seed(10_000 + seed))
                         for _, seed in runs])
        samples = G(z)
    return [_score(name, method.name, seed, x, protocol.threshold)
            for (name, seed), x in zip(runs, samples)]


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
        ValueError: on shapes that do not match, NaN or infinite samples, or a ``std`` or
            ``threshold`` that is not a finite number > 0.
    """
    ok = (isinstance(samples, torch.Tensor) and isinstance(centers, torch.Tensor)
          and samples.dim() == centers.dim() == 2 and samples.shape[1] == centers.shape[1]
          and len(samples) > 0 and len(centers) > 0 and samples.is_floating_point()
          and centers.is_floating_point())
    if not ok:
        raise ValueError(f"samples (N, d) and centers (K, d) must be non-empty float tensors "
                         f"with the same d, got {describe(samples)} and {describe(centers)}")
    check_finite("samples", samples)
    std = check_number("std", std, minimum=0, above=True)
    threshold = check_number("threshold", threshold, minimum=0, above=True)
    distance, nearest = torch.cdist(samples.double().cpu(), centers.double().cpu()).min(dim=1)
    hq = distance <= threshold * std
    counts = torch.bincount(nearest[hq], minlength=len(centers)).double()
    n_hq = int(hq.sum())
    return {"modes": int((counts > 0).sum()), "hq_fraction": n_hq / len(samples),
            "reverse_kl": kl_to_uniform(counts / n_hq) if n_hq else math.nan}
