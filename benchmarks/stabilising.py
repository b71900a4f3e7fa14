"""The stabilisers of the chapter "Stabilising GAN training", compared on the MNIST DCGAN.

    python benchmarks/stabilising.py --device cuda --workers 5 --out-dir book/results --overwrite
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
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from common import (
    append_rows, available_device, existing_file, float_range, int_range, non_negative_int,
    positive_int, process_pool, record_provenance, refuse_replacing,
)

from gan_tutorial import metrics
from gan_tutorial.callbacks import EMA, CallbackList, ImagePool, ema_generator
from gan_tutorial.config import TrainConfig
from gan_tutorial.data import minibatches, mnist, uint8_to_model_range
from gan_tutorial.models import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from gan_tutorial.sampling import sample
from gan_tutorial.runner import make_optimizers
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
    "dcgan-recipe": Method({"r1_gamma": 10.0, "lr_g": 4e-4, "lr_d": 4e-4, "beta1": 0.0},
                           {"batch_norm": False},
                           source="the book's recipe: R1 with the sweep's best Adam settings"),
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

CURVE_COLUMNS = ["method", "seed", "images", "g_step", "fid_mean", "fid_sd", "class_kl",
                 "critic_gap", "d_loss", "g_loss", "train_seconds"]
FINAL_COLUMNS = ["method", "seed", "images", "g_steps", "fid_mean", "fid_sd", "inception_score",
                 "precision", "recall", "class_kl", "train_seconds", "diverged", "device"]
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
    steps = max(1, _WORKER["budget"] // (config.batch_size * config.d_steps))
    return replace(config, steps=steps, **changes)


class _Curve(Callback):
    """Every ``every`` steps: the mean logs since the last evaluation and, in phases 1-2, the
    FID of G; stops the run (``diverged``) when those means are not finite."""

    def __init__(self, job: Job, config: TrainConfig, G_eval: torch.nn.Module) -> None:
        self.job, self.config, self.G_eval = job, config, G_eval
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
        fids, kl = _fids(self.G_eval, _WORKER["draws"])
        self.rows.append({"method": self.job.method, "seed": self.job.seed,
                          "images": step * self.config.batch_size * self.config.d_steps,
                          "g_step": step, "fid_mean": _mean(fids), "fid_sd": _sd(fids),
                          "class_kl": kl, "critic_gap": means[0], "d_loss": means[1],
                          "g_loss": means[2],
                          "train_seconds": began - self.start - self.eval_seconds})
        _sync()
        self.eval_seconds += time.perf_counter() - began


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
    ema = ema_generator(G, config.ema_decay) if config.ema_decay else None
    G_eval = G if ema is None else ema.module
    opt_g, opt_d = make_optimizers(G, D, config, job.spec.optimizer)
    curve = _Curve(job, config, G_eval)
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
    scores = [] if curve.diverged else [
        metrics.evaluate(_draw(G_eval, r), _WORKER["reference"], _WORKER["evaluator"])
        for r in range(_WORKER["draws"] if job.curves else 1)]
    keys = ("fid", "inception_score", "precision", "recall", "class_kl")
    nan = float("nan")
    means = {key: (_mean([s[key] for s in scores]) if scores else nan) for key in keys}
    if job.curves:
        final.update(g_steps=config.steps, fid_mean=means["fid"],
                     fid_sd=_sd([s["fid"] for s in scores]) if scores else nan,
                     train_seconds=train_seconds, device=str(device),
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
    its header."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, columns in (("curves", CURVE_COLUMNS), ("final", FINAL_COLUMNS),
                              ("sweep", SWEEP_COLUMNS)):
            pd.DataFrame(columns=columns).to_csv(self.path(name), index=False)

    def path(self, name: str) -> Path:
        return self.out_dir / f"stabilising_{name}.csv"

    def append(self, name: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
        append_rows(self.path(name), rows, columns)


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
        if job.curves:
            writer.append("curves", CURVE_COLUMNS, result["curves"])
            writer.append("final", FINAL_COLUMNS, [final])
            what = f"FID {final['fid_mean']:.1f} ± {final['fid_sd']:.1f}"
        else:
            writer.append("sweep", SWEEP_COLUMNS, [final])
            what = f"lr x{job.lr_scale:g} beta1 {final['beta1']:g}: FID {final['fid']:.1f}"
        if result["G"] is not None:
            torch.save(result["G"], writer.out_dir / "stabilising_recipe_G.pt")
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


def main() -> None:
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
    parser.add_argument("--seeds", type=positive_int, default=3)
    parser.add_argument("--sweep-seeds", type=non_negative_int, default=2, help="0: no sweep")
    parser.add_argument("--budget", type=positive_int, default=192_000,
                        help="training images per run")
    parser.add_argument("--draws", type=positive_int, default=3, help="sample draws per FID")
    parser.add_argument("--n-eval", type=int_range(2), default=2_500, help="images per draw")
    parser.add_argument("--deadline", type=float_range(0), default=0.0,
                        help="seconds after which no further result is taken (0: none)")
    parser.add_argument("--points", type=positive_int, default=10,
                        help="evaluations over training")
    parser.add_argument("--only", choices=list(METHODS), default=None, metavar="METHOD",
                        help="run only this method for --seeds seeds (no recipe, no sweep); "
                        f"one of {', '.join(METHODS)}")
    parser.add_argument("--tiny", action="store_true", help="a quick check: tiny sizes")
    args = parser.parse_args()
    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        parser.error(f"--out-dir must be a folder, got the file {args.out_dir!r}")
    replaced = [out_dir / f"stabilising_{name}.csv" for name in ("curves", "final", "sweep")]
    replaced += [out_dir / "stabilising_recipe_G.pt"]
    replaced += [] if args.only else [out_dir / "stabilising_recipe.json"]
    refuse_replacing(parser, replaced, args.overwrite)
    if args.tiny:
        args.seeds, args.sweep_seeds, args.budget, args.n_eval = 2, 1, 1_280, 100
    settings = {"budget": args.budget, "draws": args.draws, "n_eval": args.n_eval,
                "points": args.points}
    writer, started, since = Writer(Path(args.out_dir)), time.perf_counter(), time.time()
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
