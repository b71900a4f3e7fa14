"""Speed of the stacked 2-D trainer (``run_plan``) in seed-steps per second, and the matmul peak.

    python benchmarks/stacked_speed.py                                   # this checkout
    git worktree add /tmp/before <commit>                                # an older trainer ...
    python benchmarks/stacked_speed.py --package /tmp/before --label before   # ... timed alike

A *seed-step* is one G step (with its D steps) of one run; ``S`` runs trained at once for
``T`` steps make ``S * T`` seed-steps. For each setting (GAN and PacGAN2 on PacGAN's networks,
WGAN-GP on Gulrajani et al.'s toy networks, the GAN and WGAN-GP on the study's) this times
:func:`gan_tutorial.experiments.mode_collapse.run_plan` (``--seeds`` runs on the ring, after a
warm-up, less the time of setting up and scoring a plan) in two layouts of the CPU's cores:

* ``1x<cores>``: one process using every core's thread;
* ``<cores>x1``: one process per core, one thread each, started together; their seed-steps are
  summed over the wall time of the slowest.

Each measurement is repeated ``--repeats`` times, alternating with the fp32 matmul peak (a
2048 x 2048 product on the same threads), and the median is kept. The FLOPs of one seed-step
are counted with ``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add of every
matrix product, forward and backward), so the table also gives the GFLOP/s the trainer achieves
against the peak. Rows are appended to ``--out`` (default ``book/results/stacked_speed.csv``)
with the revision of the package timed.

``--package DIR`` imports ``gan_tutorial`` from ``DIR`` instead (a worktree of an older
commit): ``run_plan``, ``Protocol``, ``Method`` and ``PACGAN_PROTOCOL`` are all it needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import append_rows, positive_int, record_provenance

ROOT = Path(__file__).resolve().parents[1]


def _import(package: str | None):  # noqa: ANN202  (the module of whichever checkout is timed)
    sys.path.insert(0, str(package or ROOT))
    from gan_tutorial.experiments import mode_collapse as mc

    return mc


def settings(mc) -> dict[str, tuple[object, object]]:  # noqa: ANN001
    """label -> (method, protocol): GAN and PacGAN2 on PacGAN's networks, WGAN-GP on
    Gulrajani et al.'s toy networks, and the GAN and WGAN-GP on the study's networks."""
    pacgan, toy = mc.PACGAN_PROTOCOL, mc.WGAN_GP_PROTOCOL
    study = mc.Protocol(g_hidden=(128,) * 3, d_hidden=(128,) * 3, decay=False)
    wgan = mc.Method("WGAN-GP", loss="wasserstein-gp", d_steps=5, lambda_gp=10.0, lr=1e-4,
                     betas=(0.5, 0.9))
    return {
        "pacgan GAN": (mc.Method("GAN", lr=1e-4, betas=(0.8, 0.999)), pacgan),
        "pacgan PacGAN2": (mc.Method("PacGAN2", pack=2, lr=1e-4, betas=(0.8, 0.999)), pacgan),
        "toy WGAN-GP": (wgan, toy),
        "study GAN": (mc.Method("GAN", lr=1e-3), study),
        "study WGAN-GP": (wgan, study),
    }


def _time_plan(package: str | None, label: str, seeds: int, steps: int, threads: int,
               barrier=None) -> tuple[float, float]:  # noqa: ANN001
    """(seconds, seed-steps) of ``steps`` G steps of one stacked plan, in this process.

    Setting up a plan (networks, 100,000 points per run) and scoring it cost the same for any
    number of steps, so the time of a 5-step call is subtracted from that of a
    ``5 + steps``-step call (after a warm-up call).
    """
    import torch

    torch.set_num_threads(threads)
    mc = _import(package)
    method, protocol = settings(mc)[label]
    plan = [("ring", method, seed) for seed in range(seeds)]

    def seconds(n: int) -> float:
        start = time.perf_counter()
        mc.run_plan(plan, dataclasses.replace(protocol, steps=n), progress=False)
        return time.perf_counter() - start

    seconds(5)
    if barrier is not None:
        barrier.wait()
    base = seconds(5)
    return seconds(5 + steps) - base, seeds * steps


def _worker(args: tuple) -> tuple[float, float]:
    *rest, barrier = args
    return _time_plan(*rest, barrier=barrier)


def seed_steps_per_second(package: str | None, label: str, seeds: int, steps: int,
                          processes: int, threads: int) -> float:
    """Seed-steps per second of ``processes`` processes with ``threads`` threads each."""
    if processes == 1:
        seconds, done = _time_plan(package, label, seeds, steps, threads)
        return done / seconds
    context = mp.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(processes)
        with context.Pool(processes) as pool:
            results = pool.map(_worker, [(package, label, seeds, steps, threads, barrier)] *
                               processes)
    return sum(done for _, done in results) / max(seconds for seconds, _ in results)


def matmul_peak(threads: int, n: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of an ``n x n`` fp32 matmul on ``threads`` threads (median of ``repeats``)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def flops_per_seed_step(package: str | None, label: str) -> float:
    """FLOPs of one seed-step, counted over the difference of a 3-step and a 1-step run."""
    from torch.utils.flop_counter import FlopCounterMode

    mc = _import(package)
    method, protocol = settings(mc)[label]
    plan = [("ring", method, 0), ("ring", method, 1)]
    counts = []
    for steps in (1, 3):
        counter = FlopCounterMode(display=False)
        with counter:
            mc.run_plan(plan, dataclasses.replace(protocol, steps=steps), progress=False)
        counts.append(counter.get_total_flops())
    return (counts[1] - counts[0]) / (2 * len(plan))


def revision(package: str | None) -> str:
    """The commit of the checkout timed, with ``-dirty`` if it has uncommitted changes."""
    command = ["git", "-C", str(package or ROOT), "describe", "--always", "--dirty"]
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default=None, help="a checkout whose gan_tutorial to time")
    parser.add_argument("--label", default="this checkout", help="the rows' 'trainer' column")
    parser.add_argument("--seeds", type=positive_int, default=10, help="runs per stacked plan")
    parser.add_argument("--steps", type=positive_int, default=60, help="G steps timed")
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--only", nargs="+", default=None, help="setting labels to time")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "book" / "results" / "stacked_speed.csv")
    args = parser.parse_args()
    if args.package and not (Path(args.package) / "gan_tutorial").is_dir():
        parser.error(f"--package {args.package} holds no gan_tutorial folder")
    cores, start = os.cpu_count() or 1, time.time()
    labels = args.only or list(settings(_import(args.package)))
    rows = []
    for label in labels:
        flops = flops_per_seed_step(args.package, label)
        for processes, threads in ((1, cores), (cores, 1)):
            speeds, peaks = [], []
            for _ in range(args.repeats):
                peaks.append(matmul_peak(cores))
                speeds.append(seed_steps_per_second(args.package, label, args.seeds,
                                                    args.steps, processes, threads))
            speed, peak = statistics.median(speeds), statistics.median(peaks)
            row = {"trainer": args.label, "revision": revision(args.package), "setting": label,
                   "layout": f"{processes}x{threads}", "seeds": args.seeds, "steps": args.steps,
                   "seed_steps_per_s": round(speed, 1), "gflop_per_seed_step": flops / 1e9,
                   "gflop_per_s": round(speed * flops / 1e9, 1), "matmul_peak_gflop_per_s":
                   round(peak, 1), "cores": cores, "repeats": args.repeats}
            print(row, flush=True)
            rows.append(row)
    append_rows(args.out, rows)
    record_provenance(args.out.parent, start, "cpu", note=f"trainer {args.label!r}",
                      only=[args.out.name])


if __name__ == "__main__":
    main()
