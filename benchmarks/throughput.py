"""Training throughput of `fit` for the 28 x 28 DCGAN on MNIST, in images per second.

Usage (from the repository root; on a shared machine hold the lock so runs do not overlap):

    flock /tmp/gan-fullrun.lock env PYTHONPATH=$PWD python benchmarks/throughput.py [--device cpu]

One *image* is one real image seen by D; a step of `fit` (k = 1) sees ``batch_size`` real
images, generates ``2 * batch_size`` fakes and updates D and G once each. A short warm-up run
(allocator, oneDNN kernel selection) is excluded; the timed run is a second call of `fit` that
continues from the warmed-up models, timed by `fit` itself (`History.seconds`).
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import torch

from gan_tutorial.config import TrainConfig
from gan_tutorial.data import mnist
from gan_tutorial.models import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from gan_tutorial.train import fit
from gan_tutorial.utils import get_device, seed_everything


def measure(device: torch.device, steps: int, warmup: int, batch_size: int, width: int) -> float:
    """Images per second of `fit` over ``steps`` steps, after ``warmup`` untimed steps."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the offline MNIST fallback is fine for timing
        x, _ = mnist()
    seed_everything(0)
    G, D = DCGANGenerator(width=width), DCGANDiscriminator(width=width)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    config = TrainConfig(steps=warmup, batch_size=batch_size, snapshot_every=0)
    fit(G, D, x, config, device=device, progress=False)
    history = fit(G, D, x, TrainConfig(steps=steps, batch_size=batch_size, snapshot_every=0),
                  device=device, progress=False)
    return steps * batch_size / history.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: automatic)")
    parser.add_argument("--steps", type=int, default=200, help="timed steps (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps (default 20)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=64, help="DCGAN width (default 64)")
    args = parser.parse_args()
    device = get_device(args.device)
    load_before = os.getloadavg()[0]
    rate = measure(device, args.steps, args.warmup, args.batch_size, args.width)
    print(f"DCGAN 28x28 (width {args.width}), batch {args.batch_size}, {args.steps} steps on "
          f"{device} ({platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}): {rate:,.0f} images/s")
    # other processes on the same cores lower the figure; the load average shows them
    print(f"1-minute load average before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
