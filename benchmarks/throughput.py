"""Training throughput: the package's `fit` against the naive loop most GAN tutorials teach.

For the MLP GAN and the 28 x 28 DCGAN on MNIST this times, in one process and alternating,
the same models at the same batch size for the same number of steps:

* **naive**: the loop of the source tutorials. A per-example transform ``DataLoader``
  (uint8 image -> PIL -> ``ToTensor`` -> ``Normalize``), ``Sigmoid`` + ``BCELoss``, the fake
  batch *not* detached in the D step (so D's backward pass also runs through G), a second
  forward pass of G for the G step, and ``loss.item()`` every step (a device sync);
* **fit**: :func:`gan_tutorial.runner.fit` (data held on the device and sliced, logits with
  ``BCEWithLogits``, detached fakes reused by the G step, readings synced every
  ``log_every`` = 10 steps), then ``fit`` with each acceleration flag of ``TrainConfig``.

All loops are warmed up, then timed in turn for ``--repeats`` rounds, each round starting with
a 2048 x 2048 fp32 matmul; the table shows medians. It prints images/s (one image = one real
image seen by D), the ratio to the naive loop, and the GFLOP/s each loop achieves against the
matmul's.
The FLOPs are counted, not derived by hand: one step of the naive loop and one step of ``fit``
run once under PyTorch's ``torch.utils.flop_counter.FlopCounterMode``, which counts 2 FLOPs per
multiply-add of every matrix product and convolution, forward and backward, as dispatched; the
total divided by the batch size is the FLOPs per real image. The naive loop does more work per
image (two forward and two backward passes of G, D's backward through G) than ``fit`` (one
forward and one backward pass of G). The rows with acceleration flags are charged ``fit``'s
count: they do the same arithmetic in another precision, layout or compiled form.

Usage, from the repository root (on a shared machine, hold the lock and give the run
real-time priority so that other processes do not distort it):

    flock /tmp/gan-fullrun.lock chrt -f 10 env PYTHONPATH=$PWD \\
        python benchmarks/throughput.py [--device cuda] [--no-compile]

About 4 minutes on a 2-core CPU; ``--no-compile`` skips the ``torch.compile`` rows, and
``--quick`` (3 steps per loop, 1 round) only checks that the script runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from common import available_device, positive_int
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode
from torchvision import transforms

from gan_tutorial.config import TrainConfig
from gan_tutorial.data import mnist
from gan_tutorial.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    init_dcgan_weights,
)
from gan_tutorial.runner import fit
from gan_tutorial.utils import get_device, seed_everything

LATENT_DIM = 100


@dataclasses.dataclass(frozen=True)
class Case:
    """One model pair to time."""

    name: str
    make: Callable[[], tuple[nn.Module, nn.Module]]
    batch_size: int
    steps: int
    flags: tuple[str, ...]  # TrainConfig acceleration flags worth a row for this model


def mlp_models() -> tuple[nn.Module, nn.Module]:
    return MLPGenerator(LATENT_DIM), MLPDiscriminator()


def dcgan_models() -> tuple[nn.Module, nn.Module]:
    G, D = DCGANGenerator(LATENT_DIM), DCGANDiscriminator()
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    return G, D


class TutorialMNIST(Dataset):
    """uint8 digits read one at a time through PIL and a transform, as torchvision's MNIST."""

    def __init__(self, pixels: torch.Tensor) -> None:
        self.pixels = pixels
        self.transform = transforms.Compose([transforms.ToTensor(),
                                             transforms.Normalize((0.5,), (0.5,))])

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = Image.fromarray(self.pixels[index].numpy(), mode="L")
        return self.transform(image), 0


def naive_loop(G: nn.Module, D: nn.Module, pixels: torch.Tensor, batch_size: int, steps: int,
               device: torch.device) -> None:
    """``steps`` iterations of the tutorials' loop (see the module docstring)."""
    loader = DataLoader(TutorialMNIST(pixels), batch_size=batch_size, shuffle=True,
                        drop_last=True)
    D_prob = nn.Sequential(D, nn.Sigmoid())
    bce = nn.BCELoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real_label = torch.ones(batch_size, device=device)
    fake_label = torch.zeros(batch_size, device=device)
    d_losses, g_losses, batches = [], [], iter(loader)
    for _ in range(steps):
        real = next(batches, None)
        if real is None:
            batches = iter(loader)
            real = next(batches)
        real = real[0].to(device)
        fake = G(torch.randn(batch_size, LATENT_DIM, device=device))  # not detached
        d_loss = bce(D_prob(real), real_label) + bce(D_prob(fake), fake_label)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        fake = G(torch.randn(batch_size, LATENT_DIM, device=device))  # a second pass of G
        g_loss = bce(D_prob(fake), real_label)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        d_losses.append(d_loss.item())
        g_losses.append(g_loss.item())


def fit_loop(G: nn.Module, D: nn.Module, x: torch.Tensor, config: TrainConfig,
             device: torch.device, steps: int) -> None:
    fit(G, D, x, dataclasses.replace(config, steps=steps), device=device, progress=False)


def flops_per_image(run: Callable[[int], None], batch_size: int) -> float:
    """FLOPs per real image of one step of ``run`` (forward and backward passes, optimiser
    arithmetic excluded), counted by ``FlopCounterMode`` and divided by ``batch_size``."""
    with FlopCounterMode(display=False) as counter:
        run(1)
    return counter.get_total_flops() / batch_size


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 20) -> float:
    """fp32 GFLOP/s of an ``n x n`` matrix product, the machine's practical peak."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(run: Callable[[int], None], steps: int, batch_size: int,
                      device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    run(steps)
    synchronize(device)
    return steps * batch_size / (time.perf_counter() - start)


def time_case(case: Case, x: torch.Tensor, pixels: torch.Tensor, device: torch.device,
              repeats: int, flags: tuple[str, ...]
              ) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Images/s of the naive loop, of fit and of fit with each flag: every loop is warmed up
    (which includes any compilation), then all are timed in turn, ``repeats`` rounds.

    Returns the rates (with the ``"matmul"`` GFLOP/s of each round) and the FLOPs per image of
    ``"naive"`` and ``"fit"``, counted on one uncompiled step of each before the timing."""
    seed_everything(0)
    G, D = case.make()
    G.to(device)
    D.to(device)
    base = TrainConfig(steps=case.steps, batch_size=case.batch_size, latent_dim=LATENT_DIM,
                       snapshot_every=0, checkpoint_every=10**9)
    loops = {
        "naive": functools.partial(naive_loop, G, D, pixels, case.batch_size, device=device),
        "fit": functools.partial(fit_loop, G, D, x, base, device),
    }
    for flag in flags:
        config = dataclasses.replace(base, **{flag: True})
        loops[f"fit + {flag}"] = functools.partial(fit_loop, G, D, x, config, device)
    flops = {name: flops_per_image(loops[name], case.batch_size) for name in ("naive", "fit")}
    for loop in loops.values():
        loop(5)  # warm-up: allocator, kernel selection, compilation
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(repeats):
        rates["matmul"] = [*rates.get("matmul", []), matmul_gflops(device)]
        for name, loop in loops.items():
            rates[name].append(images_per_second(loop, case.steps, case.batch_size, device))
    return rates, flops


def table(results: dict[str, dict[str, list[float]]], flops: dict[str, dict[str, float]],
          cases: list[Case]) -> str:
    """Medians over the rounds; GFLOP/s against the median matmul of the same rounds. Every
    ``fit`` row is charged ``fit``'s FLOPs per image (``flops[case.name]``)."""
    lines = ["| model | batch | loop | images/s | × naive | GFLOP/s | % of matmul |",
             "|---|---|---|---|---|---|---|"]
    for case in cases:
        medians = {name: statistics.median(rates) for name, rates in results[case.name].items()}
        naive, peak = medians["naive"], medians.pop("matmul")
        for loop, rate in medians.items():
            gflops = rate * flops[case.name]["naive" if loop == "naive" else "fit"] / 1e9
            lines.append(f"| {case.name} | {case.batch_size} | {loop} | {rate:,.0f} | "
                         f"{rate / naive:.2f} | {gflops:.1f} | {100 * gflops / peak:.0f} % |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", type=available_device, default=None,
                        help="cpu, cuda, mps (default: automatic)")
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="rounds of runs, at least 1 (default 3)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    parser.add_argument("--quick", action="store_true",
                        help="3 steps per loop, 1 round: checks the script (numbers mean nothing)")
    args = parser.parse_args()
    device = get_device(args.device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the offline MNIST fallback is fine for timing
        x, _ = mnist()
    pixels = ((x[:, 0] + 1) * 127.5).round().to(torch.uint8)  # the digits as stored on disk
    flags = ("compile", "bf16")
    cases = [Case("MLP GAN", mlp_models, 64, 300, flags),
             Case("DCGAN", dcgan_models, 128, 25, (*flags, "channels_last"))]
    if args.quick:
        cases = [dataclasses.replace(case, steps=3) for case in cases]
        args.repeats = 1
    load_before, start = os.getloadavg()[0], time.perf_counter()
    results, flops = {}, {}
    for case in cases:
        wanted = tuple(f for f in case.flags if not (args.no_compile and f == "compile"))
        results[case.name], flops[case.name] = time_case(case, x, pixels, device, args.repeats,
                                                         wanted)
    peaks = [statistics.median(results[case.name]["matmul"]) for case in cases]
    print(f"{device} ({platform.machine()}, {torch.get_num_threads()} threads, torch "
          f"{torch.__version__}); fp32 matmul 2048x2048, median of each case's rounds: "
          + ", ".join(f"{peak:.0f}" for peak in peaks) + " GFLOP/s\n")
    print(table(results, flops, cases))
    # other processes on the same cores lower the figures; the load average shows them
    print(f"\n1-minute load average before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs; benchmark wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
