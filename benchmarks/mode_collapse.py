"""The mode-collapse protocol of the failure-modes chapter at any size, written to a CSV.

    python benchmarks/mode_collapse.py                          # the chapter's run: 5 seeds
    python benchmarks/mode_collapse.py --seeds 10 --steps 20000 --out /tmp/mode_collapse.csv

Trains every method of ``gan_tutorial.experiments.mode_collapse.METHODS`` on the ring and the
grid for each seed (all seeds of a method in one vmapped model, ``--workers`` methods at a
time), scores 2,500 samples per run and writes one row per (dataset, method) with the columns
of ``book/results/mode_collapse.csv`` (mean and standard error over the seeds). Prints the
table and the wall time.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from gan_tutorial.experiments.mode_collapse import (
    COLUMNS,
    METHODS,
    Protocol,
    run_protocol,
    summarize,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (PacGAN: 10)")
    parser.add_argument("--steps", type=int, default=Protocol.steps, help="G updates per run")
    parser.add_argument("--width", type=int, default=64, help="hidden units per layer")
    parser.add_argument("--workers", type=int, default=2, help="processes (one per core)")
    parser.add_argument("--out", default="mode_collapse.csv", help="where to write the CSV")
    args = parser.parse_args()
    protocol = Protocol(steps=args.steps, g_hidden=(args.width,) * 3,
                        d_hidden=(args.width,) * 3)
    start = time.perf_counter()
    runs = run_protocol(METHODS, ["ring", "grid"], list(range(args.seeds)), protocol,
                        workers=args.workers)
    table = pd.DataFrame(summarize(runs), columns=COLUMNS)
    table.to_csv(args.out, index=False, float_format="%.4f")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{len(runs)} runs, {protocol}, {time.perf_counter() - start:.0f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
