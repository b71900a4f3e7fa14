import os
import random

import numpy as np
import pytest
import torch

from gan_tutorial.utils import get_device, seed_everything, to_unit_range


def test_to_unit_range_maps_the_endpoints_and_clamps() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0, -1.5, 2.0])
    assert torch.equal(to_unit_range(x), torch.tensor([0.0, 0.5, 1.0, 0.0, 1.0]))


def test_to_unit_range_rejects_integer_images() -> None:
    with pytest.raises(ValueError, match="floating-point"):
        to_unit_range(torch.zeros(2, dtype=torch.uint8))


def test_seed_everything_makes_all_generators_repeat() -> None:
    draws = []
    for _ in range(2):
        seed_everything(123)
        draws.append((random.random(), np.random.rand(), torch.rand(1).item()))
    assert draws[0] == draws[1]


@pytest.mark.parametrize("seed", [-1, 2**32, 1.0, "1", True])
def test_seed_everything_rejects_bad_seeds(seed: object) -> None:
    with pytest.raises(ValueError, match="seed must be"):
        seed_everything(seed)  # type: ignore[arg-type]


def test_seed_everything_accepts_numpy_integers_and_leaves_pythonhashseed_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    seed_everything(np.int64(7))
    first = torch.rand(1)
    seed_everything(7)
    assert torch.equal(first, torch.rand(1))
    assert "PYTHONHASHSEED" not in os.environ  # it only acts at interpreter start


def test_get_device() -> None:
    assert get_device("cpu") == torch.device("cpu")
    assert get_device().type in {"cpu", "cuda", "mps", "xpu"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"device must be one of the types available here"):
            get_device("cuda")
    with pytest.raises(ValueError, match="prefer must be a device string"):
        get_device("warp-drive")


def test_get_device_asks_torch_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(torch, "accelerator"):
        pytest.skip("this PyTorch has no torch.accelerator")
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: True)
    monkeypatch.setattr(torch.accelerator, "current_accelerator",
                        lambda *args, **kwargs: torch.device("xpu", 0))
    assert get_device() == torch.device("xpu")
    assert get_device("xpu:1") == torch.device("xpu", 1)
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")


def test_get_device_falls_back_to_cuda_and_mps_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(torch, "accelerator", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="available here, \\['cpu'\\]"):
        get_device("mps")
