"""The stabilisers of the chapter "Stabilising GAN training", compared on the MNIST DCGAN.

    python benchmarks/stabilising.py --device cuda --workers 5 --out-dir book/results --overwrite
    python benchmarks/stabilising.py --controls --device cuda --workers 5 --out-dir book/results
    python benchmarks/stabilising.py --tiny --out-dir /tmp/stab   # a quick check on the CPU

Every method trains the DCGAN of ``book/dcgan.ipynb`` (width 64, batch 128) on the same real
digits for the same budget of **training images** (real images shown to D, 192,000 by default:
1,500 steps of the baseline; a critic with ``d_steps = 5`` gets 300 generator steps). Three
phases, each run in ``--workers`` processes:

1. **Comparison**: every method of :data:`METHODS` x ``--seeds`` seeds. Every tenth of the
   budget: the classifier FID (the Fréchet distance on the features of the book's MNIST
   classifier, ``gan_tutorial.metrics``; *not* the Inception FID of the papers) of 2,500
   samples against the evaluation chapter's 2,500 reference digits, mean and s.d. over
   ``--draws`` sample draws, and the class KL; the critic's gap ``mean D(x) - mean D(G(z))``
   averaged since the last evaluation. At the end every score of ``metrics.evaluate``
   (averaged over the draws) and the training wall time (evaluation excluded).
2. **Recipe**: the single methods that beat the baseline, best first, merged while their
   settings do not conflict (at most three), trained with the same seeds.
3. **Sensitivity**: the baseline and the two best single Adam methods (then the recipe) on a
   3 x 3 grid of learning-rate scale x beta1, ``--sweep-seeds`` seeds per cell, final scores of
   one draw.

Writes, appending one row per finished run (a run cut short leaves the finished ones):
``stabilising_curves.csv``, ``stabilising_final.csv``, ``stabilising_sweep.csv``,
``stabilising_recipe.json`` (the recipe's settings) and ``stabilising_recipe_G.pt`` (the
state_dict of the recipe's G for seed 0, the EMA average where the recipe has one). The CSVs
start afresh: where ``--out-dir`` holds the shipped files (``book/results/``), the run refuses to
start without ``--overwrite``.

``--controls`` runs instead of the three phases: the recipe reported on fresh seeds against its
parts one at a time (issue 27). The recipe was selected on seeds 0-1, so every arm of
:data:`CONTROLS` trains on seeds 10-14 (:data:`CONTROL_SEEDS`), with phase 1's budget and
evaluation (curves and final scores, ``--draws`` draws): ``baseline`` (Adam 2e-4, beta1 0.5),
``baseline@recipe-adam`` (lr 4e-4 for G and D, beta1 0: the recipe's Adam part alone),
``label-smoothing@recipe-adam``, ``r1`` (at the paper's Adam: the recipe's R1 part alone),
``dcgan-recipe`` (``TrainConfig.preset("dcgan-recipe")``, D without BatchNorm), ``ema-weights``
(an EMA of G's weights only, decay 0.995, with G's BatchNorm statistics recomputed from its own
samples before each evaluation: ``callbacks.recompute_batch_norm``) and ``ema`` (BatchNorm
statistics averaged too: the old way). The two WGANs, which get 300 generator steps at equal
training images, run at the baseline's 1,500 generator steps (5x its images) in their own arms
``wgan-gp@equal-g-steps`` and ``wgan-clip@equal-g-steps``, seeds 10-12: 41 runs. Each finished
run appends its rows to ``stabilising_controls_curves.csv`` and
``stabilising_controls_final.csv`` (phase 1's columns plus the optimiser, ``lr_g``, ``lr_d``,
``beta1`` and ``g_steps``); runs already in the final CSV are skipped, so a cut run resumes
where it stopped, and these files are never emptied. The ``dcgan-recipe`` G of seed 10 is saved
as ``stabilising_controls_recipe_G.pt`` (state_dict, CPU tensors), the generator the evaluation
chapter scores; only replacing it needs ``--overwrite``. At the end it prints each arm's mean
FID and the comparisons of ``gan_tutorial.stats.compare``. ``--tiny --controls``: seeds 10-11,
1,280 training images, 100 samples per draw (about 2.5 minutes on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from common import (
    append_rows, available_device, done_keys, existing_file, float_range, int_range,
    non_negative_int, positive_int, process_pool, record_provenance, refuse_replacing,
)

from gan_tutorial import metrics
from gan_tutorial.callbacks import EMA, CallbackList, ImagePool, ema_generator, recompute_batch_norm
from gan_tutorial.config import PRESETS, TrainConfig
from gan_tutorial.data import minibatches, mnist, uint8_to_model_range
from gan_tutorial.models import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from gan_tutorial.runner import make_optimizers
from gan_tutorial.sampling import sample
from gan_tutorial.stats import MIN_VALUES, compare
from gan_tutorial.train import Callback, training_loop
from gan_tutorial.utils import seed_everything

#: The baseline: the DCGAN chapter's run (Radford et al. 2015, Section 4).
BASE = TrainConfig.preset("dcgan", log_every=1_000_000, snapshot_every=0)


@dataclass(frozen=True)
class Method:
    """One stabiliser: changes to the baseline's TrainConfig and D, and its source (not a
    TrainConfig itself, because a method also changes D's layers and the optimizer family)."""

    config: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields
    d: dict[str, Any] = field(default_factory=dict)  # DCGANDiscriminator options
    optimizer: str = "adam"  # or "rmsprop" (Arjovsky et al. 2017)
    source: str = ""
    #: With ema_decay: average BatchNorm's running statistics too (True), or average G's
    #: weights only and recompute the statistics before each evaluation (False).
    ema_buffers: bool = True
    #: Train as many generator steps as the baseline (budget / batch) instead of as many
    #: training images (budget / (batch * d_steps)): a critic with d_steps 5 sees 5x the images.
    equal_g_steps: bool = False


def preset_changes(name: str) -> dict[str, Any]:
    """The TrainConfig fields in which ``TrainConfig.preset(name)`` differs from the baseline
    preset ``"dcgan"`` (so that ``replace(BASE, **changes)`` is that preset)."""
    base, preset = PRESETS["dcgan"].to_dict(), PRESETS[name].to_dict()
    return {key: value for key, value in preset.items() if value != base[key]}


METHODS: dict[str, Method] = {
    "baseline": Method(source="Radford et al. 2015: non-saturating loss, Adam 2e-4, beta1 0.5"),
    "lsgan": Method({"loss": "least-squares"}, source="Mao et al. 2017"),
    "wgan-clip": Method({"loss": "wasserstein-clip", "d_steps": 5, "lr_g": 5e-5, "lr_d": 5e-5},
                        optimizer="rmsprop",
                        source="Arjovsky et al. 2017: c = 0.01, n_critic 5, RMSProp 5e-5"),
    "wgan-gp": Method({"loss": "wasserstein-gp", "d_steps": 5, "lr_g": 1e-4, "lr_d": 1e-4,
                       "beta1": 0.0, "beta2": 0.9}, {"batch_norm": False},
                      source="Gulrajani et al. 2017: lambda 10, n_critic 5, Adam 1e-4 (0, 0.9)"),
    "hinge-sn": Method({"loss": "hinge"}, {"batch_norm": False, "spectral_norm": True},
                       source="Miyato et al. 2018: hinge loss, spectral norm on every D layer"),
    "r1": Method({"r1_gamma": 10.0}, {"batch_norm": False},
                 source="Mescheder et al. 2018: R1, gamma 10"),
    "ttur": Method({"lr_g": 1e-4, "lr_d": 4e-4},
                   source="Heusel et al. 2017: lr_d 4e-4 > lr_g 1e-4 (as in Zhang et al. 2019)"),
    "label-smoothing": Method({"label_smoothing": 0.1},
                              source="Salimans et al. 2016: real target 0.9"),
    "replay": Method({"replay_size": 6_400},
                     source="Shrivastava et al. 2017: half of D's fakes from 6,400 past ones"),
    "ema": Method({"ema_decay": 0.995}, source="Yazici et al. 2019: EMA of G, decay 0.995"),
    "dcgan-recipe": Method(preset_changes("dcgan-recipe"), {"batch_norm": False},
                           source="the book's recipe, TrainConfig.preset('dcgan-recipe'): R1 "
                           "with the sweep's best Adam settings (lr 4e-4, beta1 0)"),
    "hinge-sn+ttur+ema": Method({"loss": "hinge", "lr_g": 1e-4, "lr_d": 4e-4,
                                 "ema_decay": 0.995},
                                {"batch_norm": False, "spectral_norm": True},
                                source="a combination fixed before the runs"),
}
#: Methods run only when named with --only (chosen after the first benchmark run).
EXTRA = ("dcgan-recipe",)
SINGLE = [name for name in METHODS if name != "baseline" and "+" not in name
          and name not in EXTRA]
LR_SCALES = (0.5, 1.0, 2.0)  # x the method's own learning rates: 1e-4, 2e-4, 4e-4 for the baseline
BETA1S = (0.0, 0.5, 0.9)


#: --controls: the recipe's parts one at a time on fresh seeds, kept apart from the seeds 0-1
#: the recipe was selected on. The recipe's Adam settings (lr 4e-4 for G and D, beta1 0):
RECIPE_ADAM = {key: getattr(PRESETS["dcgan-recipe"], key) for key in ("lr_g", "lr_d", "beta1")}
CONTROL_SEEDS = (10, 11, 12, 13, 14)
CONTROLS: dict[str, Method] = {
    "baseline": METHODS["baseline"],
    "baseline@recipe-adam": Method(RECIPE_ADAM, source="the baseline at the recipe's Adam "
                                   "settings: the recipe's Adam part alone"),
    "label-smoothing@recipe-adam": Method({**METHODS["label-smoothing"].config, **RECIPE_ADAM},
                                          source="label smoothing 0.1 at the recipe's Adam "
                                          "settings"),
    "r1": METHODS["r1"],  # at the paper's Adam settings: the recipe's R1 part alone
    "dcgan-recipe": METHODS["dcgan-recipe"],
    "ema-weights": Method({"ema_decay": 0.995}, ema_buffers=False,
                          source="EMA of G's weights only, decay 0.995 (Yazici et al. 2019); "
                          "BatchNorm statistics recomputed for the average before each "
                          "evaluation (standing statistics, Brock et al. 2019)"),
    "ema": METHODS["ema"],  # BatchNorm statistics averaged too: the old way, kept as the lesson
}
#: The two WGANs at the baseline's 1,500 generator steps (5x its training images), own table.
EQUAL_G_STEPS: dict[str, Method] = {
    f"{name}@equal-g-steps": replace(METHODS[name], equal_g_steps=True,
                                     source=METHODS[name].source + "; 1,500 generator steps")
    for name in ("wgan-gp", "wgan-clip")}
EQUAL_G_STEPS_SEEDS = 3  # the first 3 of CONTROL_SEEDS
#: The controls run whose G is saved for the evaluation chapter.
CONTROLS_SAVED = ("dcgan-recipe", CONTROL_SEEDS[0])

CURVE_COLUMNS = ["method", "seed", "images", "g_step", "fid_mean", "fid_sd", "class_kl",
                 "critic_gap", "d_loss", "g_loss", "train_seconds"]
FINAL_COLUMNS = ["method", "seed", "images", "g_steps", "fid_mean", "fid_sd", "inception_score",
                 "precision", "recall", "class_kl", "train_seconds", "diverged", "device"]
CONTROL_CURVE_COLUMNS = CURVE_COLUMNS + ["lr_g", "lr_d", "beta1", "g_steps"]
CONTROL_FINAL_COLUMNS = FINAL_COLUMNS + ["optimizer", "lr_g", "lr_d", "beta1"]
SWEEP_COLUMNS = ["method", "seed", "lr_scale", "lr_g", "lr_d", "beta1", "fid", "inception_score",
                 "precision", "recall", "class_kl", "diverged"]


@dataclass(frozen=True)
class Job:
    """One training run."""

    method: str
    seed: int
    spec: Method
    lr_scale: float = 1.0
    beta1: float | None = None
    curves: bool = True  # evaluate over training (phases 1-2) or only at the end (phase 3)
    save_g: bool = False


# --- one run, in a worker process --------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(data_path: str | None, device: str, threads: int, settings: dict) -> None:
    torch.set_num_threads(threads)
    if data_path:  # {"images": (N, 1, 28, 28) uint8 in [0, 255]}, e.g. for a machine offline
        x_train = uint8_to_model_range(torch.load(data_path, weights_only=True)["images"])
    else:
        x_train = mnist("data", train=True, download=True)[0]
    order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(0))
    _WORKER.update(x_train=x_train.to(device), device=torch.device(device),
                   reference=x_train[order[:settings["n_eval"]]].to(device),
                   evaluator=metrics.mnist_evaluator(device), **settings)


def config_of(job: Job) -> TrainConfig:
    """The job's TrainConfig: the baseline, the method's changes, the sweep cell, the budget."""
    config = replace(BASE, **job.spec.config, seed=job.seed)
    changes: dict[str, Any] = {"lr_g": config.lr_g * job.lr_scale,
                               "lr_d": config.lr_d * job.lr_scale}
    if job.beta1 is not None:
        changes["beta1"] = job.beta1
    images_per_step = config.batch_size * (1 if job.spec.equal_g_steps else config.d_steps)
    steps = max(1, _WORKER["budget"] // images_per_step)
    return replace(config, steps=steps, **changes)


class _Curve(Callback):
    """Every ``every`` steps: the mean logs since the last evaluation and, in phases 1-2, the
    FID of G; stops the run (``diverged``) when those means are not finite. ``prepare(G_eval)``
    runs before each evaluation (e.g. recomputing BatchNorm statistics)."""

    def __init__(self, job: Job, config: TrainConfig, G_eval: torch.nn.Module,
                 prepare: Callable[[torch.nn.Module], Any] | None = None) -> None:
        self.job, self.config, self.G_eval = job, config, G_eval
        self.prepare = prepare or (lambda G: None)
        self.every = max(1, config.steps // _WORKER["points"])
        self.rows: list[dict[str, Any]] = []
        self.sums = torch.zeros(3, device=_WORKER["device"])  # gap, d_loss, g_loss
        self.count, self.diverged = 0, False
        self.eval_seconds, self.start = 0.0, time.perf_counter()

    def on_step_end(self, step: int, logs: dict[str, torch.Tensor]) -> bool:
        self.sums += torch.stack([logs["real_score"] - logs["fake_score"],
                                  logs["d_loss"], logs["g_loss"]]).float()
        self.count += 1
        if step % self.every and step != self.config.steps:
            return False
        means = (self.sums / self.count).tolist()  # one device sync
        self.sums.zero_()
        self.count = 0
        if not all(map(math.isfinite, means)):
            self.diverged = True
        if self.job.curves and not self.diverged:
            self.evaluate_curve(step, means)
        return self.diverged

    def evaluate_curve(self, step: int, means: list[float]) -> None:
        _sync()
        began = time.perf_counter()
        self.prepare(self.G_eval)
        fids, kl = _fids(self.G_eval, _WORKER["draws"])
        self.rows.append({"method": self.job.method, "seed": self.job.seed,
                          "images": step * self.config.batch_size * self.config.d_steps,
                          "g_step": step, "fid_mean": _mean(fids), "fid_sd": _sd(fids),
                          "class_kl": kl, "critic_gap": means[0], "d_loss": means[1],
                          "g_loss": means[2],
                          "train_seconds": began - self.start - self.eval_seconds,
                          **_settings(self.config, self.job.spec.optimizer)})
        _sync()
        self.eval_seconds += time.perf_counter() - began


def _settings(config: TrainConfig, optimizer: str) -> dict[str, Any]:
    """The optimiser settings and generator steps a controls row records (beta1 is NaN for
    RMSProp, which has none)."""
    return {"optimizer": optimizer, "lr_g": config.lr_g, "lr_d": config.lr_d,
            "beta1": config.beta1 if optimizer == "adam" else float("nan"),
            "g_steps": config.steps}


def _standing_statistics(G: torch.nn.Module) -> None:
    """Recompute G's BatchNorm statistics from its own samples (fixed latents, seed 0)."""
    recompute_batch_norm(G, n_batches=_WORKER["bn_batches"],
                         batch_size=_WORKER["bn_batch_size"], seed=0)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _sd(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = _mean(values)
    return (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def _sync() -> None:
    if _WORKER["device"].type == "cuda":
        torch.cuda.synchronize()


def _draw(G: torch.nn.Module, r: int) -> torch.Tensor:
    """Draw r of ``n_eval`` samples, the same latents for every method (seed 1000 + r)."""
    return sample(G, _WORKER["n_eval"], seed=1000 + r)


def _fids(G: torch.nn.Module, draws: int) -> tuple[list[float], float]:
    """The classifier FID of each draw, and the class KL of the first."""
    evaluator, reference = _WORKER["evaluator"], _WORKER["reference"]
    fids, kl = [], float("nan")
    for r in range(draws):
        images = _draw(G, r)
        fids.append(metrics.classifier_fid(images, reference, evaluator))
        if r == 0:
            kl = metrics.kl_to_uniform(metrics.class_histogram(images, evaluator))
    return fids, kl


def run_job(job: Job) -> dict[str, Any]:
    """Train one run and score it; returns its curve rows, its final row and maybe G."""
    config, device = config_of(job), _WORKER["device"]
    seed_everything(job.seed)
    G = DCGANGenerator(config.latent_dim).to(device)
    D = DCGANDiscriminator(**job.spec.d).to(device)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    ema = (ema_generator(G, config.ema_decay, buffers=job.spec.ema_buffers)
           if config.ema_decay else None)
    G_eval = G if ema is None else ema.module
    prepare = _standing_statistics if ema is not None and not job.spec.ema_buffers else None
    opt_g, opt_d = make_optimizers(G, D, config, job.spec.optimizer)
    curve = _Curve(job, config, G_eval, prepare)
    callbacks = [ImagePool(config.replay_size)] if config.replay_size else []
    callbacks += [EMA(ema, G)] if ema is not None else []
    batches = ((x, None) for x in minibatches(_WORKER["x_train"], config.batch_size,
                                               config.seed, 0, device))
    G.train()
    D.train()
    training_loop(G, D, opt_g, opt_d, batches, config, CallbackList([*callbacks, curve]))
    _sync()
    train_seconds = time.perf_counter() - curve.start - curve.eval_seconds
    final = {"method": job.method, "seed": job.seed, "diverged": curve.diverged,
             "images": config.steps * config.batch_size * config.d_steps}
    if not curve.diverged:
        curve.prepare(G_eval)
    scores = [] if curve.diverged else [
        metrics.evaluate(_draw(G_eval, r), _WORKER["reference"], _WORKER["evaluator"])
        for r in range(_WORKER["draws"] if job.curves else 1)]
    keys = ("fid", "inception_score", "precision", "recall", "class_kl")
    nan = float("nan")
    means = {key: (_mean([s[key] for s in scores]) if scores else nan) for key in keys}
    if job.curves:
        final.update(fid_mean=means["fid"],
                     fid_sd=_sd([s["fid"] for s in scores]) if scores else nan,
                     train_seconds=train_seconds, device=str(device),
                     **_settings(config, job.spec.optimizer),
                     **{key: means[key] for key in keys[1:]})
    else:
        final.update(lr_scale=job.lr_scale, lr_g=config.lr_g, lr_d=config.lr_d,
                     beta1=config.beta1, **means)
    state = ({key: value.cpu() for key, value in G_eval.state_dict().items()}
             if job.save_g and not curve.diverged else None)
    return {"job": job, "curves": curve.rows, "final": final, "G": state}


# --- the phases, in the main process -----------------------------------------------------------

class Writer:
    """Appends rows to the CSV files of ``out_dir`` as runs finish; each file starts anew with
    its header. ``g_file``: where a job's saved G goes."""

    prefix = "stabilising"
    columns = {"curves": CURVE_COLUMNS, "final": FINAL_COLUMNS, "sweep": SWEEP_COLUMNS}
    g_file = "stabilising_recipe_G.pt"

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, columns in self.columns.items():
            pd.DataFrame(columns=columns).to_csv(self.path(name), index=False)

    def path(self, name: str) -> Path:
        return self.out_dir / f"{self.prefix}_{name}.csv"

    def append(self, name: str, rows: list[dict[str, Any]]) -> None:
        append_rows(self.path(name), rows, self.columns[name])

    def save_g(self, state: dict[str, torch.Tensor]) -> None:
        """Write G's state_dict to ``g_file`` atomically (a temporary file, then a rename)."""
        path = self.out_dir / self.g_file
        partial = path.with_name(path.name + ".partial")
        torch.save(state, partial)
        os.replace(partial, path)


class ControlsWriter(Writer):
    """The controls' files: ``stabilising_controls_{curves,final}.csv``, appended to and never
    emptied, so that a cut run resumes (:meth:`done`), and ``stabilising_controls_recipe_G.pt``.
    """

    prefix = "stabilising_controls"
    columns = {"curves": CONTROL_CURVE_COLUMNS, "final": CONTROL_FINAL_COLUMNS}
    g_file = "stabilising_controls_recipe_G.pt"

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)

    def check_headers(self) -> None:
        """Raise ``ValueError`` if a CSV exists with other columns than this script writes
        (appending would misalign the rows)."""
        for name, columns in self.columns.items():
            path = self.path(name)
            if path.is_file() and path.stat().st_size:
                header = list(pd.read_csv(path, nrows=0).columns)
                if header != columns:
                    raise ValueError(f"{path} has the columns {header}, but this script writes "
                                     f"{columns}: move the file away or use another --out-dir")

    def done(self) -> set[tuple[str, int]]:
        """The (method, seed) pairs of the final CSV: runs that finished (diverged or not)."""
        return done_keys(self.path("final"), {"method": str, "seed": int})

    def drop_unfinished_curves(self) -> int:
        """Remove the curve rows of runs without a final row (a run cut between its two
        appends), rewriting the file atomically; returns how many rows went."""
        path, done = self.path("curves"), self.done()
        if not path.is_file() or path.stat().st_size == 0:
            return 0
        curves = pd.read_csv(path)
        keep = [(method, int(seed)) in done for method, seed in zip(curves.method, curves.seed)]
        dropped = len(keep) - sum(keep)
        if dropped:
            partial = path.with_name(path.name + ".partial")
            curves[keep].to_csv(partial, index=False, float_format="%.6g")
            os.replace(partial, path)
        return dropped


def run_phase(pool, jobs: list[Job], writer: Writer, started: float,
              deadline: float) -> list[dict[str, Any]]:
    """Run the jobs (in this order) and write each result as it comes; stop taking results
    after ``deadline`` seconds since ``started`` (0: no deadline)."""
    results = []
    pending = pool.imap_unordered(run_job, jobs)
    for _ in jobs:
        left = deadline - (time.perf_counter() - started) if deadline else None
        try:
            result = pending.next(timeout=None if left is None else max(left, 0.001))
        except mp.TimeoutError:
            print(f"deadline of {deadline:.0f} s reached: the remaining runs are skipped",
                  flush=True)
            break
        job, final = result["job"], result["final"]
        if result["G"] is not None:  # first: a run with its final row has its G saved
            writer.save_g(result["G"])
        if job.curves:
            writer.append("curves", result["curves"])
            writer.append("final", [final])  # last: the row that marks the run finished
            what = f"FID {final['fid_mean']:.1f} ± {final['fid_sd']:.1f}"
        else:
            writer.append("sweep", [final])
            what = f"lr x{job.lr_scale:g} beta1 {final['beta1']:g}: FID {final['fid']:.1f}"
        print(f"[{time.perf_counter() - started:6.0f} s] {job.method} seed {job.seed} {what}, "
              f"class KL {final['class_kl']:.3f}, diverged {final['diverged']}", flush=True)
        results.append(result)
    return results


def ranking(results: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """Methods by mean final FID over their seeds (diverged runs count as infinitely bad)."""
    fids: dict[str, list[float]] = {}
    for result in results:
        final = result["final"]
        fid = final["fid_mean"]
        fids.setdefault(final["method"], []).append(
            float("inf") if final["diverged"] or fid != fid else fid)
    return sorted(((name, _mean(values)) for name, values in fids.items()),
                  key=lambda item: item[1])


def merge_recipe(ranked: list[tuple[str, float]], baseline: float, parts: int = 3
                 ) -> tuple[list[str], Method]:
    """The single Adam methods that beat the baseline, best first, merged while their settings
    do not conflict (no field set to two values), up to ``parts`` of them."""
    names: list[str] = []
    config: dict[str, Any] = {}
    d: dict[str, Any] = {}

    def clash(old: dict[str, Any], new: dict[str, Any]) -> bool:
        return any(key in old and old[key] != value for key, value in new.items())

    for name, fid in ranked:
        spec = METHODS.get(name)
        if (name not in SINGLE or spec.optimizer != "adam" or not fid < baseline
                or len(names) == parts or clash(config, spec.config) or clash(d, spec.d)):
            continue
        names.append(name)
        config.update(spec.config)
        d.update(spec.d)
    return names, Method(config, d, source=" + ".join(names))


def control_jobs(seeds: Sequence[int], wgan_seeds: Sequence[int],
                 done: set[tuple[str, int]]) -> list[Job]:
    """The controls' runs not yet in ``done``: every arm of :data:`CONTROLS` for the first
    three ``seeds``, the WGANs of :data:`EQUAL_G_STEPS` for ``wgan_seeds``, then the arms for
    the other seeds (each seed's arms together, so a cut run leaves whole seeds, and the long
    WGAN runs overlap the last seeds). The G of :data:`CONTROLS_SAVED` is saved."""
    def arms(methods: dict[str, Method], chosen: Sequence[int]) -> list[Job]:
        return [Job(name, seed, spec, save_g=(name, seed) == CONTROLS_SAVED)
                for seed in chosen for name, spec in methods.items()]

    jobs = (arms(CONTROLS, seeds[:3]) + arms(EQUAL_G_STEPS, wgan_seeds)
            + arms(CONTROLS, seeds[3:]))
    return [job for job in jobs if (job.method, job.seed) not in done]


#: The comparisons the controls answer, (a, b): b's final FID against a's.
CONTROL_COMPARISONS = (
    ("baseline", "dcgan-recipe"), ("baseline", "r1"), ("baseline", "baseline@recipe-adam"),
    ("baseline@recipe-adam", "dcgan-recipe"), ("baseline@recipe-adam",
                                               "label-smoothing@recipe-adam"),
    ("label-smoothing@recipe-adam", "dcgan-recipe"), ("baseline", "ema-weights"),
    ("ema", "ema-weights"), ("baseline", "ema"),
)


def summarise_controls(path: Path) -> None:
    """Print each arm's final FID (mean ± s.e. over its finished, not diverged seeds) and the
    comparisons of :data:`CONTROL_COMPARISONS` (``gan_tutorial.stats.compare``) where both
    arms have at least 3 seeds."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    final = pd.read_csv(path)
    fids = {name: group.fid_mean[~group.diverged.astype(bool)].dropna().tolist()
            for name, group in final.groupby("method", sort=False)}
    for name, values in fids.items():
        n = len(values)
        spread = f" ± {pd.Series(values).sem():.1f}" if n > 1 else ""
        mean = f"{sum(values) / n:.1f}{spread}" if n else "none finished"
        print(f"  {name}: FID {mean} (n={n} of {int((final.method == name).sum())} runs)")
    for a, b in CONTROL_COMPARISONS:
        if len(fids.get(a, [])) >= MIN_VALUES and len(fids.get(b, [])) >= MIN_VALUES:
            print(f"  FID: {compare(fids[a], fids[b], a, b)}")


def run_controls(args: argparse.Namespace, parser: argparse.ArgumentParser,
                 settings: dict[str, Any]) -> None:
    """The ``--controls`` phase: append the unfinished runs of :func:`control_jobs` to the
    controls' CSVs of ``--out-dir``, then record their provenance."""
    seeds = CONTROL_SEEDS[:2] if args.tiny else CONTROL_SEEDS
    writer, started, since = ControlsWriter(Path(args.out_dir)), time.perf_counter(), time.time()
    try:
        writer.check_headers()
    except ValueError as error:
        parser.error(str(error))
    done = writer.done()
    jobs = control_jobs(seeds, seeds[:EQUAL_G_STEPS_SEEDS], done)
    if any(job.save_g for job in jobs):  # the only file this phase can replace
        refuse_replacing(parser, [writer.out_dir / writer.g_file], args.overwrite)
    writer.out_dir.mkdir(parents=True, exist_ok=True)
    dropped = writer.drop_unfinished_curves()
    print(f"controls: seeds {list(seeds)}, {len(jobs)} runs to do, {len(done)} already in "
          f"{writer.path('final')}" + (f"; dropped {dropped} curve rows of unfinished runs"
                                       if dropped else ""), flush=True)
    if jobs:
        print(f"budget {args.budget:,} training images per run, {args.draws} draws of "
              f"{args.n_eval:,}, device {args.device}, {args.workers} workers", flush=True)
        with process_pool(min(args.workers, len(jobs)), _init_worker,
                          (args.data, args.device, args.threads, settings)) as pool:
            run_phase(pool, jobs, writer, started, args.deadline)
            pool.terminate()
    summarise_controls(writer.path("final"))
    print(f"done in {time.perf_counter() - started:.0f} s; wrote {writer.out_dir}", flush=True)
    record_provenance(writer.out_dir, since, args.device, "--controls",
                      only=[writer.path(name).name for name in writer.columns] + [writer.g_file])


def parse_args() -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    """The command line, checked (argparse's usage line and exit status 2 on a bad value)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", type=available_device,
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=positive_int, default=5)
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="torch threads per worker")
    parser.add_argument("--data", type=existing_file, default=None,
                        help="torch.save'd {'images': (N, 1, 28, 28) uint8}; default: mnist()")
    parser.add_argument("--out-dir", default="book/results")
    parser.add_argument("--overwrite", action="store_true",
                        help="let the run replace the shipped files of --out-dir")
    parser.add_argument("--seeds", type=positive_int, default=None, help="default 3")
    parser.add_argument("--sweep-seeds", type=non_negative_int, default=None,
                        help="0: no sweep; default 2")
    parser.add_argument("--budget", type=positive_int, default=192_000,
                        help="training images per run")
    parser.add_argument("--draws", type=positive_int, default=3, help="sample draws per FID")
    parser.add_argument("--n-eval", type=int_range(2), default=2_500, help="images per draw")
    parser.add_argument("--deadline", type=float_range(0), default=0.0,
                        help="seconds after which no further result is taken (0: none)")
    parser.add_argument("--points", type=positive_int, default=10,
                        help="evaluations over training")
    phase = parser.add_mutually_exclusive_group()
    phase.add_argument("--only", choices=list(METHODS), default=None, metavar="METHOD",
                       help="run only this method for --seeds seeds (no recipe, no sweep); "
                       f"one of {', '.join(METHODS)}")
    phase.add_argument("--controls", action="store_true",
                       help="instead of phases 1-3: the recipe's controls on fresh seeds "
                       f"{CONTROL_SEEDS[0]}-{CONTROL_SEEDS[-1]}, appended to "
                       "stabilising_controls_*.csv (runs already there are skipped)")
    parser.add_argument("--tiny", action="store_true", help="a quick check: tiny sizes")
    args = parser.parse_args()
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        parser.error(f"--out-dir must be a folder, got the file {args.out_dir!r}")
    if args.controls and (args.seeds is not None or args.sweep_seeds is not None):
        parser.error(f"--controls runs its own seeds {list(CONTROL_SEEDS)}: drop --seeds and "
                     f"--sweep-seeds")
    args.seeds = 3 if args.seeds is None else args.seeds
    args.sweep_seeds = 2 if args.sweep_seeds is None else args.sweep_seeds
    if args.tiny:
        args.seeds, args.sweep_seeds, args.budget, args.n_eval = 2, 1, 1_280, 100
    return args, parser


def main() -> None:
    args, parser = parse_args()
    settings = {"budget": args.budget, "draws": args.draws, "n_eval": args.n_eval,
                "points": args.points, "bn_batches": 2 if args.tiny else 16,
                "bn_batch_size": 32 if args.tiny else 128}
    if args.controls:
        run_controls(args, parser, settings)
        return
    out_dir = Path(args.out_dir)
    replaced = [out_dir / f"stabilising_{name}.csv" for name in ("curves", "final", "sweep")]
    replaced += [out_dir / "stabilising_recipe_G.pt"]
    replaced += [] if args.only else [out_dir / "stabilising_recipe.json"]
    refuse_replacing(parser, replaced, args.overwrite)
    writer, started, since = Writer(out_dir), time.perf_counter(), time.time()
    print(f"budget {args.budget:,} training images per run, {args.seeds} seeds, "
          f"{args.draws} draws of {args.n_eval:,}, device {args.device}, "
          f"{args.workers} workers", flush=True)
    with process_pool(args.workers, _init_worker,
                      (args.data, args.device, args.threads, settings)) as pool:
        seeds = range(args.seeds)
        if args.only:  # one method, e.g. the recipe chosen from a first run; its G of seed 0
            run_phase(pool, [Job(args.only, seed, METHODS[args.only], save_g=seed == 0)
                             for seed in seeds], writer, started, args.deadline)
            pool.terminate()
            print(f"done in {time.perf_counter() - started:.0f} s", flush=True)
            record_provenance(writer.out_dir, since, args.device, f"--only {args.only}")
            return
        jobs = [Job(name, seed, METHODS[name]) for seed in seeds for name in METHODS
                if name not in EXTRA]
        results = run_phase(pool, jobs, writer, started, args.deadline)
        ranked = ranking(results)
        baseline = dict(ranked).get("baseline", float("inf"))
        parts, recipe = merge_recipe(ranked, baseline)
        (writer.out_dir / "stabilising_recipe.json").write_text(json.dumps(
            {"parts": parts, "config": recipe.config, "d": recipe.d,
             "optimizer": recipe.optimizer, "ranking": ranked, "budget": args.budget},
            indent=1) + "\n")
        print(f"ranking: {ranked}\nrecipe: {parts} {recipe}", flush=True)
        jobs = [Job("recipe", seed, recipe, save_g=seed == 0) for seed in seeds] if parts \
            else []
        best = [name for name, _ in ranked if name in SINGLE
                and METHODS[name].optimizer == "adam"][:2]
        swept = [("baseline", METHODS["baseline"])] + [(n, METHODS[n]) for n in best]
        if parts:
            swept.append(("recipe", recipe))
        jobs += [Job(name, seed, spec, scale, beta1, curves=False)  # whole cells first
                 for seed in range(args.sweep_seeds) for scale in LR_SCALES
                 for beta1 in BETA1S for name, spec in swept]
        if not args.deadline or time.perf_counter() - started < args.deadline:
            run_phase(pool, jobs, writer, started, args.deadline)
        pool.terminate()
    print(f"done in {time.perf_counter() - started:.0f} s; wrote {writer.out_dir}", flush=True)
    record_provenance(writer.out_dir, since, args.device)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
