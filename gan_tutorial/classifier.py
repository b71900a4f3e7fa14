"""Training the evaluator's architecture as an ordinary MNIST classifier.

The pieces :file:`benchmarks/train_evaluator.py` used to make the book's evaluator
(:class:`gan_tutorial.metrics.MNISTEvaluator`), factored out so that the applications chapter can
train the same network on few labelled digits, with and without samples of a conditional GAN
added to every minibatch (the data-augmentation study): a stratified, seeded split
(:func:`stratified_split`), the classic augmentation by random shifts and rotations
(:func:`random_affine`), a training loop with a fixed budget of steps
(:func:`train_classifier`) and the accuracy (:func:`accuracy`). The training loop can add extra
examples (GAN samples) to every minibatch; it gives them the same shifts and rotations and, with
:func:`equal_weight_cross_entropy`, the same weight as the real examples.

Images are ``(N, 1, 28, 28) float32 in [-1, 1]``, labels ``(N,) int64`` in ``[0, 10)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .metrics import NUM_CLASSES, MNISTEvaluator, predict_classes
from .utils import seed_everything
from .validation import (
    check_images,
    check_int,
    check_labels,
    check_number,
    check_seed,
    describe,
)

#: ``extra(n, generator) -> (images, labels)``: n more training examples per minibatch.
ExtraBatches = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def stratified_split(y: torch.Tensor, per_class: int, seed: int,
                     num_classes: int = NUM_CLASSES) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of ``per_class`` examples of each class drawn at random, and of all the others.

    Args:
        y: labels ``(N,) int64`` in ``[0, num_classes)``.
        per_class: examples drawn from each class, >= 0 and at most the smallest class size.
        seed: seed of the draw, in ``[0, 2**63)`` (its own ``torch.Generator``; the global
            state is untouched).
        num_classes: number of classes, >= 1.

    Returns:
        Two ``(M,) int64`` index tensors ``(chosen, rest)`` into ``y``; ``chosen`` lists
        class 0's draws first, then class 1's, ...; ``rest`` is in increasing order.

    Raises:
        ValueError: on bad labels, ``seed`` or ``num_classes``, or a ``per_class`` that is
            not an integer >= 0 or is larger than some class.
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    y = check_labels("y", y, None, num_classes)
    per_class = check_int("per_class", per_class, minimum=0)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    chosen = []
    for c in range(num_classes):
        members = torch.nonzero(y == c).flatten()
        if len(members) < per_class:
            raise ValueError(f"per_class must be at most the size of every class, got "
                             f"{per_class} but class {c} has {len(members)} examples")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    held = torch.cat(chosen)
    mask = torch.ones(len(y), dtype=torch.bool)
    mask[held] = False
    return held, torch.nonzero(mask).flatten()


def random_affine(x: torch.Tensor, generator: torch.Generator, max_degrees: float = 10.0,
                  max_shift: float = 2.0) -> torch.Tensor:
    """Classic augmentation: each image rotated and shifted by its own random amount.

    Rotation angle uniform in ``[-max_degrees, max_degrees]``, shift uniform in
    ``[-max_shift, max_shift]`` pixels along each axis; bilinear resampling, background (-1)
    where the image moves out of the frame. With the defaults it is the augmentation the book's
    evaluator was trained with.

    Args:
        x: images ``(N, 1, 28, 28) float32 in [-1, 1]`` (their values are not read: it is
            called on every batch; their shape and dtype are checked).
        generator: the random stream of the angles and shifts.
        max_degrees: largest rotation in degrees, >= 0.
        max_shift: largest shift in pixels, >= 0.

    Returns:
        ``(N, 1, 28, 28) float32`` in ``[-1, 1]``.

    Raises:
        ValueError: if ``x`` is not a float32 tensor ``(N, C, H, W)``, ``generator`` is not a
            ``torch.Generator``, or ``max_degrees`` or ``max_shift`` is not a finite number
            >= 0.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.dtype != torch.float32:
        raise ValueError(f"x must be a float32 tensor of images (N, C, H, W), got "
                         f"{describe(x)}")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {describe(generator)}")
    max_degrees = check_number("max_degrees", max_degrees, minimum=0)
    max_shift = check_number("max_shift", max_shift, minimum=0)
    n = len(x)
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(max_degrees)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (max_shift / 14)  # [-1, 1] units
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = angle.cos(), -angle.sin()
    theta[:, 1, 0], theta[:, 1, 1] = angle.sin(), angle.cos()
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
             batch_size: int = 1_000) -> float:
    """Share of images whose most likely class (argmax of ``model``'s logits) is the label.

    Runs in eval mode without autograd on ``model``'s device; the model is left in eval mode.

    Args:
        model: maps images ``(B, 1, 28, 28)`` to logits ``(B, K)``.
        x: digits ``(N, 1, 28, 28) float32 in [-1, 1]`` (background at -1).
        y: labels ``(N,) int64`` in ``[0, 10)``.
        batch_size: images per forward pass, >= 1.

    Returns:
        A float in ``[0, 1]``.

    Raises:
        ValueError: on bad images (uint8, [0, 255] or [0, 1] pixels too), labels of another
            length or out of range, or a ``batch_size`` that is not an integer >= 1.
    """
    check_images("x", x, shape=(1, 28, 28), signed=True)
    check_labels("y", y, len(x), NUM_CLASSES)
    model.eval()
    return (predict_classes(model, x, batch_size) == y.cpu()).double().mean().item()


#: Offset between the seed of the real examples' random stream and that of the extra examples'
#: stream in :func:`train_classifier`: ``seed + 2**32`` never equals another run's seed
#: (seeds are below ``2**32``), so the two streams never coincide.
EXTRA_STREAM_OFFSET = 2**32


def equal_weight_cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                               n_real: int) -> torch.Tensor:
    """Cross-entropy summed over every example of the minibatch and divided by ``n_real``.

    Every example, real or extra (e.g. a GAN sample), weighs ``1 / n_real``: the real examples
    weigh exactly what they weigh in a minibatch of real examples alone (where this is the
    ordinary mean), and each extra example weighs as much as a real one. Averaging over all
    ``n_real + k`` examples instead would shrink the real examples' weight by
    ``n_real / (n_real + k)`` (one half with as many extras as reals).

    Args:
        logits: ``(B, K) float32``, unbounded.
        labels: ``(B,) int64`` in ``[0, K)``.
        n_real: the number of real examples in the minibatch, an integer in ``[1, B]``.

    Returns:
        A 0-dim tensor, in nats per real example (>= 0).

    Raises:
        ValueError: if ``logits`` is not a 2-D float tensor, ``labels`` are not ``(B,) int64``
            in ``[0, K)``, or ``n_real`` is not an integer in ``[1, B]``.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 \
            or not logits.is_floating_point():
        raise ValueError(f"logits must be a float tensor of shape (B, K), got "
                         f"{describe(logits)}")
    check_labels("labels", labels, len(logits), logits.shape[1])
    n_real = check_int("n_real", n_real, minimum=1, maximum=len(logits))
    return F.cross_entropy(logits, labels, reduction="sum") / n_real


def _checked_extra(extra: ExtraBatches, n: int, generator: torch.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``extra(n, generator)``, checked (shapes and dtypes only: no device sync)."""
    images, labels = extra(n, generator)
    if not isinstance(images, torch.Tensor) or tuple(images.shape) != (n, 1, 28, 28):
        raise ValueError(f"extra(n, generator) must return images of shape ({n}, 1, 28, 28), "
                         f"got {describe(images)}")
    labels = check_labels("the labels of extra(n, generator)", labels, n, NUM_CLASSES,
                          check_range=False)
    return images, labels


def _check_training_arguments(x: object, y: object, steps: object, seed: object,
                              extra: object, extra_per_batch: object, batch_size: object,
                              lr: object) -> tuple[int, int, int, int, float]:
    """The checks of :func:`train_classifier`; returns ``(steps, seed, extra_per_batch,
    batch_size, lr)``, ``batch_size`` cut to ``len(x)``."""
    check_images("x", x, shape=(1, 28, 28), signed=True)
    check_labels("y", y, len(x), NUM_CLASSES)  # type: ignore[arg-type]
    steps = check_int("steps", steps, minimum=1)
    seed = check_int("seed", seed, minimum=0, maximum=2**32 - 1)
    extra_per_batch = check_int("extra_per_batch", extra_per_batch, minimum=0)
    if extra_per_batch and not callable(extra):
        raise ValueError(f"extra must be a function (n, generator) -> (images, labels) when "
                         f"extra_per_batch > 0, got {describe(extra)}")
    batch_size = min(check_int("batch_size", batch_size, minimum=1), len(x))  # type: ignore
    return steps, seed, extra_per_batch, batch_size, check_number("lr", lr, minimum=0,
                                                                    above=True)


def train_classifier(x: torch.Tensor, y: torch.Tensor, steps: int, seed: int,
                     extra: ExtraBatches | None = None, extra_per_batch: int = 0,
                     batch_size: int = 64, lr: float = 1e-3,
                     device: torch.device | str = "cpu") -> MNISTEvaluator:
    """Train a fresh :class:`~gan_tutorial.metrics.MNISTEvaluator` for a fixed number of steps,
    optionally with ``extra_per_batch`` extra examples (e.g. GAN samples) in every minibatch.

    Each step draws ``batch_size`` real examples (a new random permutation after each pass) and
    applies :func:`random_affine` to them. Adam (lr ``lr``) with a cosine schedule to 0 over
    ``steps``; the number of steps, not of passes over the data, is fixed. With extra examples
    (the protocol of the augmentation study, which measures the extra examples themselves and
    not a dilution of the real ones):

    * **the same real minibatches:** the real examples and their shifts and rotations come
      from a stream seeded with ``seed``, the extra examples from a second stream (seed
      ``seed + EXTRA_STREAM_OFFSET``), so every value of ``extra_per_batch`` sees the same real
      minibatches, in the same order, with the same shifts and rotations;
    * **the same augmentation:** the extra examples get :func:`random_affine` too;
    * **equal weight per example:** the loss is :func:`equal_weight_cross_entropy`, the sum
      of the per-example cross-entropies divided by the number of real examples, so each real
      example weighs what it weighs without extras (where this is the ordinary mean
      cross-entropy) and each extra weighs as much as a real one.

    What still differs between values of ``extra_per_batch``: the dropout masks (global random
    state, drawn for the whole batch).

    Args:
        x: training digits ``(N, 1, 28, 28) float32 in [-1, 1]`` (background at -1), ``N >= 1``.
        y: their labels ``(N,) int64`` in ``[0, 10)``.
        steps: optimizer steps, >= 1.
        seed: seeds the initial weights and both streams; an integer in ``[0, 2**32 - 1]``
            (what :func:`~gan_tutorial.utils.seed_everything` takes).
        extra: a function ``(n, generator) -> (images (n, 1, 28, 28) float32 in [-1, 1],
            labels (n,) int64 in [0, 10))`` on any device (e.g.
            :func:`gan_tutorial.experiments.applications.gan_batches`); needed if
            ``extra_per_batch > 0``.
        extra_per_batch: extra examples per minibatch, an integer >= 0 (0: real ones only).
        batch_size: real examples per step, >= 1 (smaller if ``N`` is smaller).
        lr: Adam's learning rate, > 0.
        device: where to train.

    Returns:
        The trained network, in eval mode, on ``device``.

    Raises:
        ValueError: on bad images (uint8, [0, 255] or [0, 1] pixels too), labels, ``steps``,
            ``seed``, ``batch_size``, ``lr`` or ``extra_per_batch``; if ``extra_per_batch > 0``
            and ``extra`` is not callable; or if ``extra`` returns images or labels of the
            wrong shape or dtype.
    """
    steps, seed, extra_per_batch, batch_size, lr = _check_training_arguments(
        x, y, steps, seed, extra, extra_per_batch, batch_size, lr)
    seed_everything(seed)
    model = MNISTEvaluator().to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    real_stream = torch.Generator().manual_seed(seed)
    extra_stream = torch.Generator().manual_seed(seed + EXTRA_STREAM_OFFSET)
    order = torch.empty(0, dtype=torch.int64)
    for _ in range(steps):
        if len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(x), generator=real_stream)])
        index, order = order[:batch_size], order[batch_size:]
        images = random_affine(x[index], real_stream).to(device)
        labels = y[index].to(device)
        if extra_per_batch:  # e.g. GAN samples, shifted and rotated like the real digits
            more_images, more_labels = _checked_extra(extra, extra_per_batch, extra_stream)
            more_images = random_affine(more_images.to(device), extra_stream)
            images = torch.cat([images, more_images])
            labels = torch.cat([labels, more_labels.to(device)])
        loss = equal_weight_cross_entropy(model(images), labels, n_real=batch_size)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return model.eval()
