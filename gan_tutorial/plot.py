"""Matplotlib figures. Each function draws on ``ax`` (a new figure if ``None``) and returns it.

D's outputs have one name each: ``D(x)`` on real data and ``D(G(z))`` on generated data in
labels, ``d_x`` and ``d_g_z`` in code (probabilities in [0, 1]); a critic's raw scores (no
sigmoid, e.g. WGAN-GP) are ``real_score`` and ``fake_score`` and are labelled "critic score".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from torchvision.utils import make_grid

from .utils import to_unit_range
from .validation import check_images, check_number

if TYPE_CHECKING:  # for annotations only: plot does not import callbacks at run time
    from .callbacks import History


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _check_images(images: torch.Tensor) -> None:
    """:func:`~gan_tutorial.validation.check_images`, with 1 (grey) or 3 (RGB) channels."""
    check_images("images", images)
    if images.shape[1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, (N, 1 or 3, H, W), got "
                         f"{tuple(images.shape)}")


def sample_grid(images: torch.Tensor, nrow: int = 8, ax: Axes | None = None,
                title: str | None = None) -> Axes:
    """Show images as one grid (torchvision's ``make_grid``), white padding, no axes.

    Args:
        images: ``(N, C, H, W) float32`` in ``[-1, 1]`` with C = 1 or 3, any device.
        nrow: images per row.
        ax: where to draw; a new figure if ``None``.
        title: the axes title.

    Raises:
        ValueError: if ``images`` is not ``(N, 1 or 3, H, W) float32`` with N >= 1, holds NaN
            or infinite values, or leaves ``[-1, 1]`` (e.g. pixels in ``[0, 255]``).
    """
    _check_images(images)
    grid = make_grid(to_unit_range(images.detach().cpu()), nrow=nrow, padding=2,
                     pad_value=1.0)
    ax = _axes(ax, (6, 6 * grid.shape[1] / grid.shape[2]))
    ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def snapshot_grid(snapshots: Sequence[tuple[int, torch.Tensor]], n: int = 8,
                  ax: Axes | None = None) -> Axes:
    """Fixed latents over training: one row per snapshot, the same ``n`` latents in each column.

    Args:
        snapshots: ``History.snapshots``, ``(step, images (m, C, H, W) in [-1, 1])`` pairs.
        n: how many of each snapshot's images to show (the first ``n``).
        ax: where to draw; a new figure if ``None``.

    Raises:
        ValueError: if ``snapshots`` is empty.
    """
    if not snapshots:
        raise ValueError("snapshots is empty: train with config.snapshot_every > 0")
    steps = [step for step, _ in snapshots]
    rows = torch.cat([images[:n] for _, images in snapshots])
    ax = _axes(ax, (n * 0.8, len(snapshots) * 0.8))
    sample_grid(rows, nrow=n, ax=ax)
    height = rows.shape[2] + 2
    ax.set_yticks([2 + height * (i + 0.5) for i in range(len(steps))],
                  [f"step {s:,}" for s in steps])
    ax.set_axis_on()
    ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax


def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average over ``window`` entries (fewer at the start); same length."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def _series(ax: Axes, history: History, series: Sequence[tuple[str, str, str]],
            smooth: int) -> None:
    """Each ``(History field, label, colour)``: raw values faintly, the moving average on top."""
    for key, label, color in series:
        values = getattr(history, key)
        ax.plot(history.step, values, color=color, alpha=0.25, linewidth=0.8)
        ax.plot(history.step, _smooth(values, smooth), color=color, label=label)


def _finish(ax: Axes, ylabel: str) -> Axes:
    ax.set_xlabel("generator step")
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right", fontsize="small")
    return ax


def _has_probabilities(history: History) -> bool:
    """True if D's outputs were logits of a probability (``history.d_x`` is filled)."""
    return len(history.d_x) > 0


def loss_curves(history: History, ax: Axes | None = None, smooth: int = 50) -> Axes:
    """Discriminator and generator losses against the generator step.

    Raw values are drawn faintly, a moving average over ``smooth`` logged steps on top.
    For a D with a sigmoid (``history.d_x`` filled), the dotted line is ``log 4 = 1.386``
    nats, D's loss at the equilibrium D = 1/2 (Goodfellow et al. 2014, Theorem 1), and
    ``log 2`` is G's non-saturating loss there. A critic's losses (WGAN-GP, hinge) are in the
    critic's units and have no such reference lines.

    Args:
        history: what :func:`gan_tutorial.runner.fit` returned.
        ax: where to draw; a new figure if ``None``.
        smooth: window of the moving average, in logged steps (1 = no smoothing).
    """
    ax = _axes(ax, (7, 3.5))
    _series(ax, history, (("d_loss", "D loss", "C0"), ("g_loss", "G loss", "C1")), smooth)
    if not _has_probabilities(history):
        return _finish(ax, "loss (critic units)")
    ax.axhline(np.log(4), color="C0", linestyle=":", linewidth=1, label="log 4 (D at equilibrium)")
    ax.axhline(np.log(2), color="C1", linestyle=":", linewidth=1, label="log 2 (G at equilibrium)")
    return _finish(ax, "loss (nats)")


def d_output_curves(history: History, ax: Axes | None = None, smooth: int = 50) -> Axes:
    """Mean D(x) on real data and mean D(G(z)) on generated data against the generator step.

    At the equilibrium of the game both are 1/2 (Goodfellow et al. 2014, Proposition 1 with
    p_g = p_data); the dotted line marks it. For a loss whose D has no sigmoid (a critic,
    ``history.d_x`` empty) the mean raw scores ``history.real_score`` and
    ``history.fake_score`` are drawn instead, unbounded, with the y-label "critic score".

    Args:
        history: what :func:`gan_tutorial.runner.fit` returned: ``d_x``, ``d_g_z`` in [0, 1],
            or ``real_score``, ``fake_score`` (unbounded) when ``d_x`` is empty.
        ax: where to draw; a new figure if ``None``.
        smooth: window of the moving average, in logged steps (1 = no smoothing).
    """
    ax = _axes(ax, (7, 3.5))
    if not _has_probabilities(history):
        _series(ax, history, (("real_score", "D(x), real", "C2"),
                              ("fake_score", "D(G(z)), generated", "C3")), smooth)
        return _finish(ax, "mean critic score")
    _series(ax, history, (("d_x", "D(x), real", "C2"), ("d_g_z", "D(G(z)), generated", "C3")),
            smooth)
    ax.axhline(0.5, color="gray", linestyle=":", linewidth=1, label="1/2 (equilibrium)")
    ax.set_ylim(0, 1)
    return _finish(ax, "mean output of D (probability)")


def _jshtml(fig: Figure, draw: Callable[[int], list], frames: int, interval_ms: int) -> str:
    """Animate ``draw(frame)`` over ``frames`` frames as self-contained HTML; closes ``fig``."""
    from matplotlib import animation

    movie = animation.FuncAnimation(fig, draw, frames=frames, interval=interval_ms)
    html = movie.to_jshtml(default_mode="once")
    plt.close(fig)
    return html


def progress_animation(snapshots: Sequence[tuple[int, torch.Tensor]], nrow: int = 8,
                       interval_ms: int = 400, size_inches: float = 4.0) -> str:
    """The fixed-latent grid over training as a self-contained HTML animation.

    Each frame is one snapshot (``History.snapshots``) drawn with :func:`sample_grid`; the
    frames are embedded as PNG images in JavaScript by matplotlib's ``to_jshtml``, so the
    animation plays in the rendered book and in Colab without any extra files.

    Args:
        snapshots: ``(step, images (n, C, H, W) in [-1, 1])`` pairs, at least one.
        nrow: images per row of each frame.
        interval_ms: time between frames, in milliseconds.
        size_inches: width and height of the figure, in inches.

    Returns:
        The HTML of the animation (display it with ``IPython.display.HTML``).

    Raises:
        ValueError: if ``snapshots`` is empty.
    """
    if not snapshots:
        raise ValueError("snapshots is empty: train with config.snapshot_every > 0")
    fig, ax = plt.subplots(figsize=(size_inches, size_inches))

    def draw(index: int) -> list:
        step, images = snapshots[index]
        ax.clear()
        sample_grid(images, nrow=nrow, ax=ax, title=f"G(fixed z) at step {step:,}")
        return ax.get_images()

    return _jshtml(fig, draw, len(snapshots), interval_ms)


def _vector(name: str, values: ArrayLike, length: int | None = None) -> np.ndarray:
    """``values`` (tensor, array or list) as a 1-D float NumPy array; ``(n, 1)`` is flattened."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
    array = np.asarray(values, dtype=float)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or (length is not None and len(array) != length):
        expected = f"({length},), the length of x" if length is not None else "(n,) or (n, 1)"
        raise ValueError(f"{name} must have shape {expected}, got {array.shape}")
    return array


def density_panel(x: ArrayLike, p_data: ArrayLike, x_fake: ArrayLike,
                  d_x: ArrayLike | None = None, ax: Axes | None = None,
                  title: str | None = None, bins: int = 60) -> Axes:
    """One panel of Goodfellow et al. 2014, Fig. 1: p_data, p_g and D(x) on a line.

    Drawn as in the paper: the data density black and dotted, the generator's distribution green
    (here a histogram of its samples, normalised as a density over the range of ``x``), the
    discriminator's output D(x) blue and dashed, with a grey line at 1/2 (D at the equilibrium).

    Args:
        x: grid points ``(m,)``, increasing; the panel spans ``[x[0], x[-1]]``.
        p_data: the data density on the grid, ``(m,)``, >= 0.
        x_fake: samples of G, ``(n,)`` or ``(n, 1)``.
        d_x: D's probability ``D(x) = sigmoid(logit)`` on the grid, ``(m,)`` in ``[0, 1]``;
            ``None`` to leave D out.
        ax: where to draw; a new figure if ``None``.
        title: the axes title.
        bins: number of histogram bins over ``[x[0], x[-1]]``.

    Raises:
        ValueError: if the shapes do not match.
    """
    grid = _vector("x", x)
    density = _vector("p_data", p_data, len(grid))
    ax = _axes(ax, (6, 3.5))
    heights, _, _ = ax.hist(_vector("x_fake", x_fake), bins=bins, range=(grid[0], grid[-1]),
                            density=True, color="C2", alpha=0.45, label="$p_g$ (samples of G)")
    ax.plot(grid, density, "k:", linewidth=2, label=r"$p_\mathrm{data}$")
    if d_x is not None:
        ax.plot(grid, _vector("d_x", d_x, len(grid)), "C0--", linewidth=2, label="$D(x)$")
    ax.axhline(0.5, color="gray", linewidth=0.8, alpha=0.6)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(0, max(1.05, 1.1 * density.max(), 1.05 * heights.max()))
    ax.set_xlabel("$x$")
    if title:
        ax.set_title(title)
    return ax


def density_animation(frames: Sequence[tuple[int, ArrayLike, ArrayLike]], x: ArrayLike,
                      p_data: ArrayLike, interval_ms: int = 300,
                      size_inches: tuple[float, float] = (6.0, 3.5), bins: int = 60) -> str:
    """Goodfellow et al. 2014, Fig. 1 as it evolves: one :func:`density_panel` per frame.

    Embedded as PNG frames in JavaScript (matplotlib's ``to_jshtml``), like
    :func:`progress_animation`, so it plays in the rendered book without extra files.

    Args:
        frames: ``(step, x_fake, d_x)`` triples: the generator step, samples of G ``(n,)`` or
            ``(n, 1)`` and D(x) on the grid ``(m,)`` in ``[0, 1]``; at least one.
        x, p_data: the grid ``(m,)`` and the data density on it, as in :func:`density_panel`.
        interval_ms: time between frames, in milliseconds.
        size_inches: width and height of the figure, in inches.
        bins: number of histogram bins.

    Returns:
        The HTML of the animation (display it with ``IPython.display.HTML``).

    Raises:
        ValueError: if ``frames`` is empty or a shape does not match.
    """
    if not frames:
        raise ValueError("frames is empty: record (step, x_fake, d_x) during training")
    fig, ax = plt.subplots(figsize=size_inches)

    def draw(index: int) -> list:
        step, x_fake, d_x = frames[index]
        ax.clear()
        density_panel(x, p_data, x_fake, d_x, ax=ax, title=f"step {step:,}", bins=bins)
        ax.legend(loc="upper left", fontsize="small")
        return ax.get_lines()

    return _jshtml(fig, draw, len(frames), interval_ms)


def metric_bars(values: Mapping[str, float], ax: Axes | None = None, title: str | None = None,
                ideal: float | None = None, fmt: str = "{:.2f}",
                colors: Sequence[str] | None = None) -> Axes:
    """One score for several models (or classes) as labelled horizontal bars, first on top.

    Args:
        values: ``{label: value}``, e.g. ``{"real": 1.2, "DCGAN": 9.8}``; finite numbers.
        ax: where to draw; a new figure if ``None``.
        title: the axes title (say which way is better, e.g. "FID (lower is better)").
        ideal: draw a dashed line at this value (e.g. 10 for the IS, 1 for precision).
        fmt: format of the number written at the end of each bar.
        colors: one matplotlib colour per bar; default one colour for all.

    Raises:
        ValueError: if ``values`` is empty, holds a non-finite number, or ``colors`` has the
            wrong length.
    """
    if not values:
        raise ValueError("values is empty: pass {label: value}")
    labels = list(values)
    numbers = np.asarray([check_number(f"values[{label!r}]", value)
                          for label, value in values.items()])
    if colors is not None and len(colors) != len(labels):
        raise ValueError(f"colors must have one entry per value ({len(labels)}), "
                         f"got {len(colors)}")
    ax = _axes(ax, (5, 0.4 * len(labels) + 1))
    positions = np.arange(len(labels))
    bars = ax.barh(positions, numbers, color=colors or "C0")
    ax.bar_label(bars, labels=[fmt.format(v) for v in numbers], padding=3, fontsize="small")
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    if ideal is not None:
        ax.axvline(ideal, color="gray", linestyle="--", linewidth=1)
    low, high = min(0.0, numbers.min()), max(numbers.max(), ideal if ideal is not None else 0)
    ax.set_xlim(low, high + 0.2 * (high - low or 1))  # room for the numbers
    if title:
        ax.set_title(title)
    return ax


def _points(name: str, values: ArrayLike) -> np.ndarray:
    """``values`` as an ``(n, 2)`` float NumPy array, or ``ValueError``."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
    array = np.asarray(values, dtype=float)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {array.shape}")
    return array


def scatter_2d(samples: ArrayLike, centers: ArrayLike | None = None, ax: Axes | None = None,
               title: str | None = None, size: float = 2.0) -> Axes:
    """Generated 2-D points over the true mode centres (the figures of VEEGAN and PacGAN).

    Args:
        samples: points ``(n, 2)`` (tensor or array), drawn as small blue dots.
        centers: the mixture's means ``(K, 2)``, drawn as thin red crosses beneath the
            samples; ``None`` to leave out.
        ax: where to draw; a new figure if ``None``.
        title: the axes title.
        size: marker size of the samples, in points^2.

    Raises:
        ValueError: if an input is not ``(n, 2)``.
    """
    points = _points("samples", samples)
    ax = _axes(ax, (4, 4))
    ax.scatter(points[:, 0], points[:, 1], s=size, color="C0", alpha=0.5, linewidths=0,
               zorder=2)
    if centers is not None:  # thin crosses *under* the samples: they must not hide them
        modes = _points("centers", centers)
        ax.scatter(modes[:, 0], modes[:, 1], s=25, color="C3", marker="x", linewidths=0.7,
                   alpha=0.6, label="true modes", zorder=1)
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title, fontsize="small")
    return ax


def gradient_norms(record: dict[str, list[float]], ax: Axes | None = None) -> Axes:
    """G's gradient norm under both losses as D trains (log scale), D(G(z)) on a second axis.

    Args:
        record: what :func:`gan_tutorial.experiments.vanishing.generator_gradient_norms`
            returned (keys ``step``, ``saturating``, ``nonsaturating``, ``d_g_z``).
        ax: where to draw; a new figure if ``None``.

    Raises:
        ValueError: if a key is missing or the lists differ in length.
    """
    keys = ("step", "saturating", "nonsaturating", "d_g_z")
    if any(k not in record for k in keys) or len({len(record[k]) for k in keys}) != 1:
        raise ValueError(f"record must hold lists of one length under {keys}")
    ax = _axes(ax, (7, 3.5))
    ax.semilogy(record["step"], record["nonsaturating"], color="C1",
                label=r"non-saturating $-\log D(G(z))$")
    ax.semilogy(record["step"], record["saturating"], color="C0",
                label=r"saturating $\log(1 - D(G(z)))$")
    ax.set_xlabel("discriminator updates (G frozen)")
    ax.set_ylabel(r"$\|\nabla_{\theta_G} L_G\|_2$")
    right = ax.twinx()
    right.plot(record["step"], record["d_g_z"], color="gray", linestyle=":",
               label="mean $D(G(z))$")
    right.set_ylim(0, 1)
    right.set_ylabel("mean $D(G(z))$")
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="center right", fontsize="small")
    return ax


def vector_field_2d(x: ArrayLike, y: ArrayLike, u: ArrayLike, v: ArrayLike,
                    trajectories: dict[str, ArrayLike] | None = None,
                    ax: Axes | None = None, title: str | None = None) -> Axes:
    """A 2-D vector field as stream lines, with optional trajectories drawn over it.

    Args:
        x, y: the grid, ``(m, n)`` arrays as from ``meshgrid(..., indexing="xy")``.
        u, v: the field's components on the grid, ``(m, n)``.
        trajectories: label -> points ``(k, 2)``; each is drawn as a line from a dot (start).
        ax: where to draw; a new figure if ``None``.
        title: the axes title.

    Raises:
        ValueError: if a trajectory is not ``(k, 2)``.
    """
    ax = _axes(ax, (4.5, 4.5))
    arrays = [np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a, dtype=float)
              for a in (x, y, u, v)]
    ax.streamplot(*arrays, color="0.75", density=0.8, linewidth=0.7)
    for i, (label, points) in enumerate((trajectories or {}).items()):
        path = _points(f"trajectory {label!r}", points)
        ax.plot(path[:, 0], path[:, 1], color=f"C{i}", linewidth=1.2, label=label)
        ax.plot(*path[0], "o", color=f"C{i}", markersize=4)
    ax.set_xlim(arrays[0].min(), arrays[0].max())
    ax.set_ylim(arrays[1].min(), arrays[1].max())
    if trajectories:
        ax.legend(loc="upper right", fontsize="small")
    if title:
        ax.set_title(title, fontsize="small")
    return ax


def curve_with_band(x: ArrayLike, y: ArrayLike, spread: ArrayLike, ax: Axes | None = None,
                    label: str | None = None, color: str | None = None) -> Axes:
    """A curve ``y(x)`` with a shaded band ``y +- spread`` (e.g. a mean and its s.d.).

    Args:
        x, y, spread: 1-D arrays of one length; ``spread >= 0`` (NaN draws no band there).
        ax: where to draw; a new figure if ``None``.
        label: the curve's legend entry.
        color: a matplotlib colour; default the next in the cycle.

    Raises:
        ValueError: if the arrays are not 1-D of one length, or ``spread`` is negative.
    """
    x = _vector("x", x)
    y, spread = _vector("y", y, len(x)), _vector("spread", spread, len(x))
    if (spread < 0).any():
        raise ValueError("spread must be >= 0 (a standard deviation or error)")
    ax = _axes(ax, (7, 4))
    (line,) = ax.plot(x, y, label=label, color=color)
    ax.fill_between(x, y - spread, y + spread, color=line.get_color(), alpha=0.2, linewidth=0)
    return ax


def grid_heatmap(values: ArrayLike, rows: Sequence[str], columns: Sequence[str],
                 ax: Axes | None = None, title: str | None = None, fmt: str = "{:.0f}",
                 vmax: float | None = None) -> Axes:
    """A table of numbers as a coloured grid with each value written in its cell (e.g. FID
    over learning rate x beta1); NaN cells stay blank.

    Args:
        values: ``(len(rows), len(columns))`` numbers; lower is drawn lighter.
        rows, columns: the labels.
        ax: where to draw; a new figure if ``None``.
        title: the axes title.
        fmt: format of the number written in each cell.
        vmax: the value of the darkest colour (default the largest value).

    Raises:
        ValueError: if ``values`` does not have the shape of the labels.
    """
    table = np.asarray(values, dtype=float)
    if table.shape != (len(rows), len(columns)):
        raise ValueError(f"values must have shape ({len(rows)}, {len(columns)}) to match the "
                         f"labels, got {table.shape}")
    ax = _axes(ax, (0.9 * len(columns) + 1.5, 0.6 * len(rows) + 1))
    ax.imshow(table, cmap="Oranges", vmin=0, vmax=vmax, aspect="auto")
    for (i, j), value in np.ndenumerate(table):
        if np.isfinite(value):
            ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize="small")
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(rows)), rows)
    if title:
        ax.set_title(title)
    return ax
