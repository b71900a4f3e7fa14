"""The chapter's mode-collapse study: seven methods, equal G steps, ten seeds, resumable.

    python benchmarks/mode_collapse_study.py --workers 2              # the study, ~1 h, 2 cores
    python benchmarks/mode_collapse_study.py --tiny --out-dir /tmp/x  # a seconds-long check

Every method of ``STUDY_METHODS`` trains the networks of ``STUDY_PROTOCOL`` (G and D 3 x 128
ReLU, batch 100, 6,000 G steps, constant learning rate, Adam) on the ring and the grid:

1. **search**: the four settings (lr, beta1) of ``STUDY_SEARCH`` on tuning seeds 100 and 101,
   the same settings for every method (an equal budget, Lucic et al. 2018);
2. **final**: for each dataset the setting with the highest mean of ``modes / K * HQ`` on the
   tuning seeds, retrained on seeds 0..9 (never used for the choice).

One job is one method's search or final plan, trained as one stacked model (all its runs at
once, :func:`gan_tutorial.experiments.mode_collapse.run_plan`); ``--workers`` processes with
one thread each run the jobs, and a free worker takes the costliest job waiting. Files in
``--out-dir`` are appended as each job ends, so that a stopped study resumes where it stopped
(a job whose runs are all in the runs file is skipped; a final job reads its setting from the
search rows in that file):

* ``mode_collapse_study_runs.csv``: one row per run: method, dataset, protocol (search or
  final), seed, steps, networks, optimiser, lr, beta1, beta2, pack, d_steps, lambda_gp,
  r1_gamma, modes, hq (%), reverse_kl (nats), the row's convergence over the last quarter
  (``modes_change``, ``hq_change``, their s.e. and ``converged``; final rows only), wall
  seconds of the job and the job's start time;
* ``mode_collapse_study_curves.csv``: every run's scores every 300 G steps;
* ``mode_collapse_study_samples.pt``: the 2,500 scored samples of every final run (float16).

``--stacked`` runs Stacked MNIST instead (PacGAN Table 2's benchmark, 1,000 modes) in the
collapse-prone setting of Metz et al. 2017 (PacGAN Table 3): D a quarter of G's width
(``d_width`` 16 against G's 64). The DCGAN, PacDCGAN2 and ``--stacked-fix`` train the same
``--stacked-steps`` G steps on seeds 0..4 and are scored on 26,000 samples each; with 26,000
real triples as the evaluator's ceiling. One row per run in ``stacked_mnist_study.csv``,
appended as it ends (runs already there are skipped).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch
from common import append_rows, done_keys, names, positive_int, record_provenance
from mode_collapse import _job_stacked, _real_triples_row, best_settings
from mode_collapse import _row as mode_collapse_row

from gan_tutorial.experiments import mode_collapse as mc
from gan_tutorial.experiments import stacked_mnist as sm

DATASETS = ("ring", "grid")
TUNING_SEEDS = (100, 101)
RUNS, CURVES, SAMPLES = ("mode_collapse_study_runs.csv", "mode_collapse_study_curves.csv",
                         "mode_collapse_study_samples.pt")
METHODS = {method.name: method for method in mc.STUDY_METHODS}
STACKED = "stacked_mnist_study.csv"
#: The fixes Stacked MNIST can take from the 2-D study, as StackedSetting fields.
STACKED_FIXES = {"DCGAN + R1": {"r1_gamma": 10.0}, "PacDCGAN3": {"pack": 3},
                 "PacDCGAN4": {"pack": 4}}
COLUMNS = ("method", "dataset", "protocol", "seed", "steps", "networks", "optimiser", "lr",
           "beta1", "beta2", "batch_size", "pack", "d_steps", "lambda_gp", "r1_gamma", "modes",
           "hq", "reverse_kl", "modes_change", "modes_se", "hq_change", "hq_se", "converged",
           "wall_seconds", "started")


def _setup() -> None:
    torch.set_num_threads(1)


def _train(name: str, phase: str, plan: list, protocol: mc.Protocol) -> tuple:
    """Train one job in a worker process: (name, phase, runs, start time)."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return name, phase, mc.run_plan(plan, protocol, progress=False), started


def _cost(job: tuple) -> float:
    """Relative wall time of a job, measured on the 2-core CPU (GAN = 1 per run)."""
    _, _, plan, _ = job
    method = plan[0][1]
    per_run = (1.0 + 0.3 * (method.pack - 1) + (0.5 if method.r1_gamma else 0)
               + (4.7 if method.lambda_gp else 0))
    return per_run * len(plan)


def search_plan(method: mc.Method, settings: list, seeds: tuple) -> list:
    return [(d, mc.tuned(method, lr, b1), s) for d in DATASETS for lr, b1 in settings
            for s in seeds]


def final_plan(method: mc.Method, runs: pd.DataFrame, seeds: list) -> list | None:
    """The final plan from the search rows in ``runs``, or None if the search is missing."""
    search = runs[(runs.method == method.name) & (runs.protocol == "search")]
    if sorted(search.dataset.unique()) != sorted(DATASETS):
        return None
    best = best_settings(search)
    return [(d, mc.tuned(method, *best[d]), s) for d in DATASETS for s in seeds]


def _row(run: mc.Run, method: mc.Method, protocol: mc.Protocol, phase: str,
         started: str) -> dict:
    """The paper-length benchmark's row of ``run`` (its columns), with the job's start."""
    tuned = mc.tuned(method, run.lr, run.betas[0])
    return {**mode_collapse_row(run, tuned, protocol, phase, "cpu"), "started": started}


def convergence(runs: list[mc.Run], steps: int) -> dict[str, dict]:
    """Per dataset, :func:`~mc.last_quarter_change` of modes and HQ from the runs' curves."""
    out = {}
    quarter = steps - steps // 4
    for dataset in DATASETS:
        group = [r for r in runs if r.dataset == dataset]
        at = [dict((step, (modes, 100 * hq)) for step, modes, hq, _ in r.curve) for r in group]
        first = [a[quarter] for a in at]
        last = [(r.modes, 100 * r.hq_fraction) for r in group]
        modes = mc.last_quarter_change([f[0] for f in first], [x[0] for x in last])
        hq = mc.last_quarter_change([f[1] for f in first], [x[1] for x in last])
        out[dataset] = {"modes_change": modes["change"], "modes_se": modes["se"],
                        "hq_change": hq["change"], "hq_se": hq["se"],
                        "converged": int(modes["converged"] and hq["converged"])}
    return out


def record(out: Path, name: str, phase: str, runs: list[mc.Run], protocol: mc.Protocol,
           started: str) -> None:
    """Append a finished job's runs, curves and (final runs) samples to the files."""
    method = METHODS[name]
    rows = [_row(r, method, protocol, phase, started) for r in runs]
    if phase == "final":
        settled = convergence(runs, protocol.steps)
        rows = [{**row, **settled[row["dataset"]]} for row in rows]
        path = out / SAMPLES
        samples = torch.load(path, weights_only=True) if path.exists() else {}
        samples.update({f"{r.dataset}|{name}|{r.seed}": r.samples.to(torch.float16)
                        for r in runs})
        torch.save(samples, path)
    append_rows(out / CURVES, [
        {"method": name, "dataset": r.dataset, "protocol": phase, "seed": r.seed, "lr": r.lr,
         "beta1": r.betas[0], "step": step, "modes": modes, "hq": round(100 * hq, 2),
         "reverse_kl": kl} for r in runs for step, modes, hq, kl in r.curve])
    append_rows(out / RUNS, rows, COLUMNS)


@functools.cache
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The MNIST digits and labels, loaded once per process (a worker loads its own: handing
    tensors to a worker process shares file descriptors, which runs out over many jobs)."""
    from gan_tutorial.data import mnist

    return mnist()


def _stacked_run(setting: sm.StackedSetting, seed: int, n: int) -> list[dict]:
    return _job_stacked(setting, _digits()[0], seed, n, "cpu")


def _real_triples(n: int) -> list[dict]:
    return _real_triples_row(*_digits(), n, "cpu")


def stacked_main(args: argparse.Namespace) -> None:
    """Stacked MNIST: the DCGAN, PacDCGAN2 and ``args.stacked_fix``, seeds 0..4, resumable."""
    out, start = args.out_dir, time.time()
    out.mkdir(parents=True, exist_ok=True)
    base = dict(steps=args.stacked_steps, d_width=16)
    if args.tiny:
        base.update(steps=3, batch_size=8, n_train=200)
    settings = [sm.StackedSetting("DCGAN", **base), sm.StackedSetting("PacDCGAN2", pack=2, **base),
                sm.StackedSetting(args.stacked_fix, **STACKED_FIXES[args.stacked_fix], **base)]
    n = 200 if args.tiny else 26_000
    done = done_keys(out / STACKED, {"method": str, "seed": int})
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=context, initializer=_setup) as pool:
        futures = [pool.submit(_stacked_run, setting, seed, n)
                   for seed in range(5) for setting in settings
                   if (setting.name, seed) not in done]
        if ("real triples", 0) not in done:
            futures.append(pool.submit(_real_triples, n))
        for future in futures:
            rows = [{**row, "d_width": base["d_width"]} for row in future.result()]
            append_rows(out / STACKED, rows, STACKED_COLUMNS)
            print(f"[{time.time() - start:6.0f} s] {rows[0]['method']} seed {rows[0]['seed']}: "
                  f"{rows[0]['modes']} modes, KL {rows[0]['kl']:.3f}", flush=True)
    record_provenance(out, start, "cpu", note="mode_collapse_study.py --stacked",
                      only=[STACKED])


STACKED_COLUMNS = ("method", "seed", "modes", "kl", "steps", "pack", "r1_gamma", "d_width",
                   "lr", "beta1", "batch_size", "samples", "label_agreement", "wall_seconds",
                   "device")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=positive_int, default=2)
    parser.add_argument("--seeds", type=positive_int, default=10, help="final seeds 0..N-1")
    parser.add_argument("--methods", type=names(METHODS), default=list(METHODS))
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, for a quick check")
    parser.add_argument("--out-dir", type=Path, default=Path("book/results"))
    parser.add_argument("--stacked", action="store_true", help="run Stacked MNIST instead")
    parser.add_argument("--stacked-steps", type=positive_int, default=1_000)
    parser.add_argument("--stacked-fix", choices=sorted(STACKED_FIXES), default="DCGAN + R1",
                        help="the third model: the 2-D study's best fix")
    args = parser.parse_args()
    if args.stacked:
        stacked_main(args)
        return
    protocol, settings, seeds = mc.STUDY_PROTOCOL, mc.STUDY_SEARCH, list(range(args.seeds))
    if args.tiny:
        protocol = dataclasses.replace(protocol, steps=8, g_hidden=(8,) * 3, d_hidden=(8,) * 3,
                                       n_train=500, n_eval=200, checkpoints=(2, 4, 6))
        settings = settings[:2]
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    done = done_keys(out / RUNS, {"method": str, "protocol": str, "dataset": str, "seed": int})

    def missing(name: str, phase: str, plan: list) -> bool:
        return any((name, phase, d, s) not in done for d, _, s in plan)

    def next_final(name: str) -> tuple | None:
        runs = pd.read_csv(out / RUNS) if (out / RUNS).exists() else pd.DataFrame()
        plan = final_plan(METHODS[name], runs, seeds) if len(runs) else None
        if plan is None or not missing(name, "final", plan):
            return None
        return (name, "final", plan, protocol)

    jobs = []
    for name in args.methods:
        plan = search_plan(METHODS[name], settings, TUNING_SEEDS)
        if missing(name, "search", plan):
            jobs.append((name, "search", plan, protocol))
        elif (job := next_final(name)) is not None:
            jobs.append(job)
    print(f"{len(jobs)} jobs to start with: {[(j[0], j[1]) for j in jobs]}", flush=True)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=context, initializer=_setup) as pool:
        running: set = set()
        while jobs or running:
            jobs.sort(key=_cost)  # a free worker takes the costliest job waiting
            while jobs and len(running) < args.workers:
                running.add(pool.submit(_train, *jobs.pop()))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name, phase, runs, started = future.result()
                record(out, name, phase, runs, protocol, started)
                print(f"[{time.time() - start:6.0f} s] {name} {phase}: {len(runs)} runs, "
                      f"{runs[0].seconds:.0f} s", flush=True)
                if phase == "search" and (job := next_final(name)) is not None:
                    jobs.append(job)
    record_provenance(out, start, "cpu", note=f"mode_collapse_study.py {args.methods}",
                      only=[RUNS, CURVES, SAMPLES])
    print(f"done in {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
