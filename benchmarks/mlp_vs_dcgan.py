"""The MLP GAN against the DCGAN at equal training images, over seeds: one table of scores.

    python benchmarks/mlp_vs_dcgan.py --device cuda --workers 6 --out book/results
    python benchmarks/mlp_vs_dcgan.py --tiny --device cpu --out /tmp/mvd   # a check in a minute

Both GANs train on the same real digits with their chapters' settings (``book/mlp_gan.ipynb``:
MLP G and D, batch 64, Adam 2e-4, beta1 0.5; ``book/dcgan.ipynb``: width 64, batch 128, the same
Adam, DCGAN initialisation), for the same number of **training images** (real images shown to
D): 192,000 (the DCGAN chapter's run: 1,500 DCGAN steps, 3,000 MLP steps) and 1,920,000 (the
MLP chapter's run: 30,000 MLP steps, 15,000 DCGAN steps), seeds 0-2. Each trained G is scored
as the evaluation chapter scores generators: :func:`gan_tutorial.metrics.evaluate_draws` of 3
draws of 2,500 samples against the chapter's 2,500 reference digits (the classifier FID, IS,
precision, recall and class KL, mean and s.d. over the draws).

Appends one row per finished run to ``mlp_vs_dcgan.csv`` in ``--out`` and skips the runs already
there, so a cut run resumes; records its provenance (``provenance.json``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from common import (
    append_rows, available_device, done_keys, existing_file, positive_int, process_pool,
    record_provenance,
)

from gan_tutorial import metrics
from gan_tutorial.config import TrainConfig
from gan_tutorial.data import mnist, uint8_to_model_range
from gan_tutorial.models import (DCGANDiscriminator, DCGANGenerator, MLPDiscriminator,
                                 MLPGenerator, init_dcgan_weights)
from gan_tutorial.runner import fit
from gan_tutorial.sampling import sample
from gan_tutorial.utils import describe_device, get_device, seed_everything

CSV = "mlp_vs_dcgan.csv"
#: Training images of the two chapters' runs: the DCGAN chapter's, then the MLP chapter's.
BUDGETS = (192_000, 1_920_000)
SEEDS = (0, 1, 2)
BATCH = {"MLP GAN": 64, "DCGAN": 128}
LATENT_DIM, WIDTH, N_EVAL, DRAWS = 100, 64, 2_500, 3
KEYS = ("fid", "inception_score", "precision", "recall", "class_kl")

_WORKER: dict[str, Any] = {}


def _init_worker(data_path: str | None, device: str, n_eval: int) -> None:
    torch.set_num_threads(1)
    if data_path:  # torch.save((pixels uint8 (N, 1, 28, 28), labels)), e.g. for a machine offline
        x_train = uint8_to_model_range(torch.load(data_path, weights_only=True)[0])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x_train = mnist("data", train=True, download=True)[0]
    order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(0))
    _WORKER.update(x_train=x_train, reference=x_train[order[:n_eval]].to(device),
                   evaluator=metrics.mnist_evaluator(device), device=device, n_eval=n_eval)


def models(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """G and D of the chapter ``name`` ("MLP GAN" or "DCGAN"), freshly initialised."""
    if name == "MLP GAN":
        return MLPGenerator(LATENT_DIM), MLPDiscriminator()
    G, D = DCGANGenerator(LATENT_DIM, width=WIDTH), DCGANDiscriminator(width=WIDTH)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    return G, D


def run(task: tuple[str, int, int]) -> dict[str, Any]:
    """Train one GAN for ``images`` training images with ``seed`` and score it."""
    name, images, seed = task
    config = TrainConfig(steps=images // BATCH[name], batch_size=BATCH[name],
                         latent_dim=LATENT_DIM, lr_g=2e-4, lr_d=2e-4, beta1=0.5,
                         snapshot_every=0, seed=seed)
    seed_everything(seed)
    G, D = models(name)
    history = fit(G, D, _WORKER["x_train"], config, device=_WORKER["device"], progress=False)
    draws = [sample(G, _WORKER["n_eval"], seed=seed + 10 + r) for r in range(DRAWS)]
    scores = metrics.evaluate_draws(draws, _WORKER["reference"], _WORKER["evaluator"])
    row = {"model": name, "images": images, "seed": seed, "steps": config.steps,
           "batch_size": config.batch_size, "train_seconds": round(history.seconds, 1),
           "device": describe_device(_WORKER["device"])}
    for key in KEYS:
        row[f"{key}_mean"], row[f"{key}_sd"] = scores[key]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("book/results"))
    parser.add_argument("--device", type=available_device, default=None)
    parser.add_argument("--workers", type=positive_int, default=1)
    parser.add_argument("--data", type=existing_file, default=None,
                        help="torch.save((pixels, labels)) file of the digits (uint8 pixels)")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny budgets, 2 seeds, 200 samples: a check of the pipeline")
    args = parser.parse_args()
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out must be a folder, got the file {str(args.out)!r}")
    device = str(get_device(args.device))
    budgets, seeds, n_eval = ((3_840, 7_680), (0, 1), 200) if args.tiny else (BUDGETS, SEEDS,
                                                                                N_EVAL)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / CSV
    done = done_keys(path, {"model": str, "images": int, "seed": int})
    tasks = [(name, images, seed) for images in sorted(budgets, reverse=True)
             for seed in seeds for name in BATCH if (name, images, seed) not in done]
    print(f"{len(tasks)} runs to do ({len(done)} already in {path}) on "
          f"{describe_device(device)} with {args.workers} workers", flush=True)
    if not tasks:
        return 0
    start, since = time.perf_counter(), time.time()
    with process_pool(args.workers, _init_worker, (args.data, device, n_eval)) as workers:
        for count, row in enumerate(workers.imap_unordered(run, tasks), 1):
            append_rows(path, [row])
            print(f"[{time.perf_counter() - start:6.0f} s] {count}/{len(tasks)} {row['model']} "
                  f"{row['images']:,} images seed {row['seed']}: FID {row['fid_mean']:.1f} "
                  f"± {row['fid_sd']:.1f}, recall {row['recall_mean']:.2f}", flush=True)
    print(f"all done in {time.perf_counter() - start:.0f} s", flush=True)
    record_provenance(args.out, since, describe_device(device),
                      f"{len(tasks)} runs, {args.workers} workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
