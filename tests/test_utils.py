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


def test_get_device() -> None:
    assert get_device("cpu") == torch.device("cpu")
    assert get_device().type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            get_device("cuda")
