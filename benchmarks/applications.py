"""Every seed of the applications chapter: the per-run CSVs in ``book/results/applications_*.csv``.

    python benchmarks/applications.py --out book/results --overwrite  # everything, here
    python benchmarks/applications.py --out /tmp/x --tiny           # a two-minute check
    python benchmarks/applications.py --data digits.pt --workers 5  # on a GPU, 5 processes

Runs the protocols of :mod:`gan_tutorial.experiments.applications` with the chapter's
:class:`~gan_tutorial.experiments.applications.Settings`:

* ``applications_conditional.csv`` -- conditional DCGANs (``Settings.cgan_width``,
  ``cgan_steps`` and ``batch_size``; 3 seeds): the conditional accuracy over 10,000 samples at
  six points of training and the per-class classifier FID at the end; seed 0's G is also saved
  (``applications_cgan_w<width>.pt``, a ``state_dict``) for the chapter.
* ``applications_pix2pix.csv`` -- bicubic, L1 only, L1 + adversarial, 3 seeds.
* ``applications_anomaly.csv`` -- each of the 10 digits held out as the anomaly x 3 seeds.

Three sections for issue 27 ("every claim measured"), each of which skips the runs already in
its CSV, so a cut run resumes where it stopped:

* ``augmentation-shares`` -> ``applications_augmentation_shares.csv`` -- 100, 500 and 1,000 real
  digits x 5 seeds: one conditional DCGAN each, then classifiers with GAN shares 0, 25 % and
  50 % of every minibatch (0, 21 or 64 GAN samples beside the same 64 real digits), the GAN
  samples shifted and rotated like the real ones, every example of equal weight
  (:func:`~gan_tutorial.experiments.applications.augmentation_shares_run`); key
  ``(n_real, seed)``.
* ``label-input`` -> ``applications_label_input.csv`` -- section 1's label-input ablation at the
  full ``cgan_steps``: the one-hot label, a learned N(0, 1) embedding and a learned N(0, 0.1^2)
  embedding x 3 seeds (:func:`~gan_tutorial.experiments.applications.label_input_run`); key
  ``(variant, seed, steps)``.
* ``anomaly-500`` -> ``applications_anomaly_500.csv`` -- the anomaly section with AnoGAN's
  latent search at Schlegl et al.'s (2017) 500 steps instead of 50, 10 held-out digits x 3
  seeds; the columns of ``applications_anomaly.csv`` plus ``anogan_steps``; key
  ``(anomaly_class, seed, anogan_steps)``.

Each finished run is appended to its CSV at once, so an interrupted run keeps what it finished.
Section 1 replaces ``applications_cgan_w<width>.pt``: where that is the shipped file of
``book/results/``, the run refuses to start without ``--overwrite``.
The data: ``--data`` names a file written by ``torch.save((pixels, labels))`` (pixels
``(N, 1, 28, 28) uint8``, labels ``(N,) int64``), for machines without the offline MNIST source;
by default ``gan_tutorial.data.mnist()``. Jobs run in ``--workers`` processes with one CPU
thread each, all on ``--device`` (default: the accelerator if there is one).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch
from common import (
    append_rows, available_device, done_keys, existing_file, names, positive_int, process_pool,
    record_provenance, refuse_replacing,
)

from gan_tutorial.data import mnist, uint8_to_model_range
from gan_tutorial.experiments.applications import (
    ANOGAN_PAPER_STEPS,
    LABEL_INPUTS,
    Settings,
    anomaly_run,
    augmentation_shares_run,
    conditional_accuracy,
    data_split,
    label_input_run,
    per_class_fid,
    pix2pix_run,
    train_dcgan,
)
from gan_tutorial.metrics import mnist_evaluator
from gan_tutorial.utils import describe_device, get_device

SEEDS = (0, 1, 2)
#: The seeds of ``augmentation-shares`` (5: its differences are small).
SHARE_SEEDS = (0, 1, 2, 3, 4)
#: The sections, in the order of the chapter, then issue 27's; ``--only`` picks some of them.
SECTIONS = ("conditional", "pix2pix", "anomaly", "augmentation-shares", "label-input",
            "anomaly-500")
#: The resumable sections: the columns that identify one task in the section's CSV.
TASK_KEYS = {"augmentation-shares": {"n_real": int, "seed": int},
             "label-input": {"variant": str, "seed": int, "steps": int},
             "anomaly-500": {"anomaly_class": int, "seed": int, "anogan_steps": int}}
SIZES = (100, 500, 1_000)
#: How often the conditional DCGANs of section 1 are measured during training.
CONDITIONAL_CHECKS = 6


def load(path: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits: from ``path`` (``torch.save((pixels, labels))``, pixels ``(N, 1, 28, 28)
    uint8``) if given, else :func:`gan_tutorial.data.mnist`."""
    if path:
        pixels, labels = torch.load(path, weights_only=True)
        return uint8_to_model_range(pixels), labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mnist("data")


def conditional_job(pool, settings: Settings, seed: int, device: str, out: Path,
                    evaluator) -> list[dict]:
    """Train one conditional DCGAN (``settings.cgan_width``, ``cgan_steps``), measuring it
    every ``cgan_steps // CONDITIONAL_CHECKS`` steps."""
    width, batch_size, steps = settings.cgan_width, settings.batch_size, settings.cgan_steps
    settings = replace(settings, width=width)
    rows, seconds = [], 0.0
    with tempfile.TemporaryDirectory() as folder:
        for check in range(1, CONDITIONAL_CHECKS + 1):
            start = time.perf_counter()
            G, _, _ = train_dcgan(pool[0], pool[1], settings, seed, device,
                                  steps=steps * check // CONDITIONAL_CHECKS,
                                  checkpoint_dir=folder)  # resumes from the previous check
            seconds += time.perf_counter() - start
            acc, per_class = conditional_accuracy(G, evaluator, settings.n_samples, seed + 100)
            fids = (per_class_fid(G, pool[0], pool[1], evaluator, settings.n_samples // 10,
                                  seed + 200) if check == CONDITIONAL_CHECKS else [None] * 10)
            rows += [{"width": width, "batch_size": batch_size, "seed": seed,
                      "steps": steps * check // CONDITIONAL_CHECKS, "digit": c,
                      "accuracy": per_class[c].item(), "fid": fids[c],
                      "overall_accuracy": acc, "train_seconds": seconds} for c in range(10)]
    if seed == 0:
        torch.save({k: v.cpu() for k, v in G.state_dict().items()},
                   out / f"applications_cgan_w{width}.pt")
    return rows


#: Set once in each worker process by :func:`init_worker`: the data split and the evaluator.
WORKER: dict = {}


def init_worker(data_path: str | None, device: str) -> None:
    """Load the digits, split them and load the evaluator once per worker process."""
    torch.set_num_threads(1)
    WORKER["pool"], WORKER["test"] = data_split(*load(data_path))
    WORKER["evaluator"] = mnist_evaluator(device)


def csv_path(out: Path, kind: str) -> Path:
    """The CSV of section ``kind`` in ``out``: ``applications_<kind with _ for ->.csv``."""
    return out / f"applications_{kind.replace('-', '_')}.csv"


def task_key(kind: str, arg: object, seed: int, settings: Settings) -> tuple:
    """The key of a task of a resumable section, as :func:`done_keys` reads it from a CSV."""
    if kind == "augmentation-shares":
        return (int(arg), seed)
    if kind == "label-input":
        return (str(arg), seed, settings.cgan_steps)
    return (int(arg), seed, settings.anogan_steps)


def job(task: tuple) -> tuple[str, list[dict]]:
    """Run one task in a worker process; return ``(csv name, rows)``."""
    kind, arg, seed, settings, device, out = task
    pool, test, evaluator = WORKER["pool"], WORKER["test"], WORKER["evaluator"]
    if kind == "conditional":
        return kind, conditional_job(pool, settings, seed, device, Path(out), evaluator)
    if kind == "pix2pix":
        return kind, pix2pix_run(pool, test, settings, seed, evaluator, device)
    if kind == "augmentation-shares":
        return kind, augmentation_shares_run(pool, test, arg, settings, seed, evaluator, device)
    if kind == "label-input":
        return kind, [label_input_run(pool, arg, settings, seed, evaluator, device)]
    row = anomaly_run(pool, test, arg, settings, seed, device)
    if kind == "anomaly-500":
        row = {**row, "anogan_steps": settings.anogan_steps}
    return kind, [row]


def new_tasks(settings: Settings, seeds: tuple, sizes: tuple, classes: range, device: str,
              out: Path, tiny: bool) -> tuple[list[tuple], list[tuple]]:
    """The tasks of issue 27's sections: ``(to do, already in their CSVs)``."""
    share_seeds = seeds if tiny else SHARE_SEEDS
    settings_500 = replace(settings, anogan_steps=10 if tiny else ANOGAN_PAPER_STEPS)
    tasks = [("augmentation-shares", n, s, settings) for s in share_seeds for n in sizes]
    tasks += [("label-input", v, s, settings) for s in seeds for v in LABEL_INPUTS]
    tasks += [("anomaly-500", c, s, settings_500) for s in seeds for c in classes]
    done = {kind: done_keys(csv_path(out, kind), columns)
            for kind, columns in TASK_KEYS.items()}
    todo, skipped = [], []
    for kind, arg, seed, task_settings in tasks:
        finished = task_key(kind, arg, seed, task_settings) in done[kind]
        (skipped if finished else todo).append((kind, arg, seed, task_settings, device,
                                                str(out)))
    return todo, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("book/results"))
    parser.add_argument("--data", type=existing_file, default=None,
                        help="torch.save((x, y)) file of the digits")
    parser.add_argument("--device", type=available_device, default=None)
    parser.add_argument("--workers", type=positive_int, default=1)
    parser.add_argument("--tiny", action="store_true", help="2 seeds, a few steps: a check")
    parser.add_argument("--only", type=names(SECTIONS), default=list(SECTIONS),
                        help=f"comma-separated sections to run, of {','.join(SECTIONS)} "
                        "(default: all)")
    parser.add_argument("--overwrite", action="store_true",
                        help="let section 1 replace the shipped applications_cgan_w*.pt")
    args = parser.parse_args()
    device = str(get_device(args.device))
    settings, seeds, sizes, classes = Settings(), SEEDS, SIZES, range(10)
    if args.tiny:
        settings = replace(settings, gan_steps=20, cgan_steps=24, classifier_steps=20,
                           pix2pix_steps=20, anogan_steps=5, n_samples=200)
        seeds, sizes, classes = (0, 1), SIZES[:1], range(2)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out must be a folder, got the file {str(args.out)!r}")
    if "conditional" in args.only:
        refuse_replacing(parser, [args.out / f"applications_cgan_w{settings.cgan_width}.pt"],
                         args.overwrite)
    args.out.mkdir(parents=True, exist_ok=True)
    common = (settings, device, str(args.out))
    tasks = [("conditional", None, s, *common) for s in seeds]
    tasks += [("pix2pix", None, s, *common) for s in seeds]
    tasks += [("anomaly", c, s, *common) for s in seeds for c in classes]
    todo, skipped = new_tasks(settings, seeds, sizes, classes, device, args.out, args.tiny)
    tasks = [task for task in tasks + todo if task[0] in args.only]
    skipped = [task for task in skipped if task[0] in args.only]
    name = describe_device(device)
    extra = {"device": name, "workers": args.workers}
    print(f"{len(tasks)} runs on {name} with {args.workers} workers ({len(skipped)} skipped: "
          f"already in their CSVs); settings {settings.to_dict()}", flush=True)
    if not tasks:
        return
    start, since = time.perf_counter(), time.time()
    with process_pool(args.workers, init_worker, (args.data, device)) as workers:
        for done, (kind, rows) in enumerate(workers.imap_unordered(job, tasks), 1):
            append_rows(csv_path(args.out, kind),
                        [{**row, **extra} for row in rows])
            print(f"[{time.perf_counter() - start:6.0f} s] {done}/{len(tasks)} {kind} "
                  f"{ {k: v for k, v in rows[-1].items() if k != 'seconds'} }", flush=True)
    print(f"all done in {time.perf_counter() - start:.0f} s", flush=True)
    record_provenance(args.out, since, name, f"{len(tasks)} runs, {args.workers} workers")


if __name__ == "__main__":
    sys.exit(main())
