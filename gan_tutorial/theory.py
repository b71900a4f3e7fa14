"""The closed forms of Goodfellow et al. 2014, computed exactly on grids.

* :func:`value_function` -- V(D, G) of Eq. 1, and C(G) = max_D V(D, G) when ``D`` is omitted;
* :func:`optimal_discriminator` -- D*_G = p_data / (p_data + p_g), Proposition 1;
* :func:`jsd` and :func:`kl` -- the divergences of Theorem 1, C(G) = -log 4 + 2 JSD(p_data || p_g);
* :func:`uniform_grid`, :func:`gaussian_density`, :func:`histogram_density` -- densities on a grid.

**One representation for distributions.** A distribution is a non-negative float tensor ``p``
(any shape; both arguments of a function have the same shape) together with a cell size
``dx > 0``, and every integral is the Riemann sum ``sum(f * p) * dx``:

* a *discrete* distribution (probabilities of outcomes) is ``dx = 1``, the default: ``sum(p) = 1``;
* a *density* sampled at the centres of a uniform grid of spacing ``dx`` (in d dimensions:
  ``dx`` is the volume of one cell) integrates to 1: ``sum(p) * dx = 1``.

Inputs may be tensors, NumPy arrays or nested lists; they are converted to ``float64``. Each
distribution must be finite, non-negative and normalised within ``NORMALISATION_TOL = 1e-6``
(``|sum(p) * dx - 1| <= 1e-6``); otherwise a ``ValueError`` says which argument failed and how.
The functions never renormalise silently: :func:`gaussian_density` on a grid wide enough for its
tails, or :func:`histogram_density`, give properly normalised inputs.

Logarithms are natural, so values are in **nats**. The convention ``0 log 0 = 0`` is used
throughout (``torch.xlogy``): a cell where a distribution is 0 contributes nothing to that
distribution's expectations, so disjoint supports are handled exactly (JSD = log 2).
"""

from __future__ import annotations

import math

import torch
from numpy.typing import ArrayLike

from .validation import check_finite, check_int, check_number

NORMALISATION_TOL = 1e-6


def _check_dx(dx: float) -> float:
    return check_number("dx", dx, minimum=0, above=True)


def _distribution(name: str, p: ArrayLike, dx: float) -> torch.Tensor:
    """``p`` as a float64 tensor, checked to be a finite, non-negative, normalised distribution."""
    p = torch.as_tensor(p, dtype=torch.float64)
    if p.numel() == 0:
        raise ValueError(f"{name} is empty: a distribution needs at least one cell")
    check_finite(name, p)
    if (p < 0).any():
        raise ValueError(f"{name} must be non-negative, got a minimum of {p.min().item():.3g}")
    mass = p.sum().item() * dx
    if abs(mass - 1) > NORMALISATION_TOL:
        raise ValueError(f"{name} is not normalised: sum({name}) * dx = {mass:.9g}, expected 1 "
                         f"within {NORMALISATION_TOL:g} (dx = {dx:g}; discrete distributions "
                         f"use dx = 1)")
    return p


def _pair(p_data: ArrayLike, p_g: ArrayLike, dx: float,
          names: tuple[str, str] = ("p_data", "p_g")) -> tuple[torch.Tensor, torch.Tensor, float]:
    dx = _check_dx(dx)
    p, q = _distribution(names[0], p_data, dx), _distribution(names[1], p_g, dx)
    if p.shape != q.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape (the same grid), "
                         f"got {tuple(p.shape)} and {tuple(q.shape)}")
    return p, q, dx


def uniform_grid(low: float, high: float, n: int) -> tuple[torch.Tensor, float]:
    """The centres of ``n`` equal cells covering ``[low, high]``, and the cell width.

    Cell ``i`` is ``[low + i dx, low + (i + 1) dx)`` with ``dx = (high - low) / n``; its centre
    is ``low + (i + 1/2) dx``. Sums over these centres times ``dx`` are midpoint-rule integrals,
    and :func:`histogram_density` with the same ``(low, high, n)`` uses the same cells.

    Returns:
        ``(x, dx)``: centres ``(n,) float64`` and the width ``dx > 0``.

    Raises:
        ValueError: if ``low`` or ``high`` is not a finite number, ``low >= high``, or ``n`` is
            not an integer >= 1 (NumPy integers are accepted).
    """
    n = check_int("n (the number of cells)", n, minimum=1)
    low, high = check_number("low", low), check_number("high", high)
    if not low < high:
        raise ValueError(f"low must be below high, got low={low:g}, high={high:g}")
    dx = (high - low) / n
    return low + dx * (torch.arange(n, dtype=torch.float64) + 0.5), dx


def gaussian_density(x: ArrayLike, mean: float, std: float) -> torch.Tensor:
    """The density of N(mean, std^2) at the points ``x``.

    Args:
        x: points, any shape, converted to float64.
        mean: the mean.
        std: the standard deviation, > 0.

    Returns:
        ``exp(-(x - mean)^2 / (2 std^2)) / (std sqrt(2 pi))``, same shape as ``x``, float64.

    Raises:
        ValueError: if ``std`` is not a finite number > 0 or ``mean`` is not finite.
    """
    std = check_number("std", std, minimum=0, above=True)
    mean = check_number("mean", mean)
    x = torch.as_tensor(x, dtype=torch.float64)
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def histogram_density(samples: ArrayLike, low: float, high: float, n: int) -> torch.Tensor:
    """A histogram of 1-D samples as a density on the cells of ``uniform_grid(low, high, n)``.

    Samples outside ``[low, high]`` are counted in the first or last cell, so the result always
    integrates to 1 (``sum * dx = 1``) and can be passed to :func:`jsd` and friends; choose the
    range wide enough for that to be rare.

    Args:
        samples: ``(N,)`` or ``(N, 1)`` real numbers, N >= 1.
        low, high, n: the grid, as in :func:`uniform_grid`.

    Returns:
        ``(n,) float64``, non-negative, ``sum * dx = 1``.

    Raises:
        ValueError: if ``samples`` is empty, not 1-D (or ``(N, 1)``), or not finite; or on a bad
            grid.
    """
    _, dx = uniform_grid(low, high, n)
    s = torch.as_tensor(samples, dtype=torch.float64).detach().cpu()
    if s.dim() == 2 and s.shape[1] == 1:
        s = s.squeeze(1)
    if s.dim() != 1 or s.numel() == 0:
        raise ValueError(f"samples must be 1-D points (N,) or (N, 1) with N >= 1, "
                         f"got shape {tuple(s.shape)}")
    check_finite("samples", s)
    cells = ((s - low) / dx).floor().clamp(0, n - 1).long()
    return torch.bincount(cells, minlength=n).to(torch.float64) / (len(s) * dx)


def optimal_discriminator(p_data: ArrayLike, p_g: ArrayLike, dx: float = 1.0) -> torch.Tensor:
    """The best discriminator against a fixed G: ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``.

    Goodfellow et al. 2014, Proposition 1: for fixed G, ``V(D, G)`` is maximised pointwise by
    ``D*``, because ``a log y + b log(1 - y)`` peaks at ``y = a / (a + b)``. Where
    ``p_g = p_data``, ``D* = 1/2``; where only ``p_data`` is positive, 1; where only ``p_g``, 0.
    Where **both** are 0 the ratio is undefined (and every value of D is optimal, since such
    cells do not enter V): the result is NaN there, so plots leave a gap.

    Args:
        p_data, p_g: distributions of the same shape on the same cells (see the module
            docstring: discrete with ``dx = 1``, or densities on a grid of spacing ``dx``).
        dx: the cell size, > 0.

    Returns:
        ``D*`` with the shape of the inputs, float64, in ``[0, 1]`` (NaN where both are 0).

    Raises:
        ValueError: on negative, non-finite or non-normalised inputs, different shapes, or
            ``dx <= 0``.
    """
    p, q, _ = _pair(p_data, p_g, dx)
    return p / (p + q)  # 0 / 0 = NaN exactly where both densities are 0


def value_function(p_data: ArrayLike, p_g: ArrayLike, D: ArrayLike | None = None,
                   dx: float = 1.0) -> float:
    """``V(D, G) = E_{x~p_data}[log D(x)] + E_{x~p_g}[log(1 - D(x))]``, in nats.

    Goodfellow et al. 2014, Eq. 1, with the second expectation written over ``x = G(z)``, whose
    distribution is ``p_g``. With ``D=None`` the optimal discriminator of Proposition 1 is used
    and the result is the *virtual training criterion* ``C(G) = max_D V(D, G)`` of Theorem 1:
    ``C(G) = -log 4 + 2 JSD(p_data || p_g)`` >= -log 4, with equality iff ``p_g = p_data``.

    ``0 log 0 = 0``: cells where ``p_data = 0`` (or ``p_g = 0``) add nothing to the first (or
    second) expectation, whatever D is there. If ``D = 0`` where ``p_data > 0`` (or ``D = 1``
    where ``p_g > 0``), V is ``-inf``. With ``D=None``, ``1 - D*`` is computed as
    ``p_g / (p_data + p_g)``, so C(G) stays finite where ``p_g`` is tiny but positive (in
    float64, ``D*`` itself would round to 1 there).

    Args:
        p_data, p_g: distributions of the same shape on the same cells (see the module
            docstring).
        D: the discriminator's probabilities ``D(x)`` on those cells, same shape, in ``[0, 1]``;
            ``None`` for ``D*``.
        dx: the cell size, > 0.

    Returns:
        V in nats, a float <= 0 (``-inf`` possible for a bad D).

    Raises:
        ValueError: on bad distributions (as in :func:`optimal_discriminator`), or if ``D`` has
            another shape or values outside ``[0, 1]``.
    """
    p, q, dx = _pair(p_data, p_g, dx)
    if D is None:  # D* = p / (p + q) and 1 - D* = q / (p + q), without rounding 1 - D* to 0
        total = (p + q).clamp_min(torch.finfo(torch.float64).tiny)  # p = q = 0: terms are 0
        d, one_minus_d = p / total, q / total
    else:
        d = torch.as_tensor(D, dtype=torch.float64)
        if d.shape != p.shape:
            raise ValueError(f"D must have the shape of p_data, {tuple(p.shape)}, "
                             f"got {tuple(d.shape)}")
        if not ((d >= 0) & (d <= 1)).all():
            raise ValueError("D must hold probabilities in [0, 1] (apply sigmoid to logits)")
        one_minus_d = 1 - d
    return ((torch.xlogy(p, d) + torch.xlogy(q, one_minus_d)).sum() * dx).item()


def kl(p: ArrayLike, q: ArrayLike, dx: float = 1.0) -> float:
    """Kullback-Leibler divergence ``KL(p || q) = E_{x~p}[log p(x) / q(x)]``, in nats.

    ``>= 0``, zero iff ``p = q``, not symmetric. Cells with ``p = 0`` contribute 0 (``0 log 0``);
    if ``q = 0`` on a cell where ``p > 0`` the result is ``+inf``.

    Args:
        p, q: distributions of the same shape on the same cells (see the module docstring).
        dx: the cell size, > 0.

    Returns:
        KL in nats, a float in ``[0, inf]``.

    Raises:
        ValueError: on negative, non-finite or non-normalised inputs, different shapes, or
            ``dx <= 0``.
    """
    p, q, dx = _pair(p, q, dx, names=("p", "q"))
    return ((torch.xlogy(p, p) - torch.xlogy(p, q)).sum() * dx).clamp_min(0).item()


def jsd(p: ArrayLike, q: ArrayLike, dx: float = 1.0) -> float:
    """Jensen-Shannon divergence ``JSD(p || q) = KL(p || m) / 2 + KL(q || m) / 2``, in nats.

    ``m = (p + q) / 2``. Symmetric, in ``[0, log 2]``: 0 iff ``p = q``, ``log 2`` iff the
    supports are disjoint. Theorem 1 of Goodfellow et al. 2014:
    ``C(G) = -log 4 + 2 JSD(p_data || p_g)`` (see :func:`value_function`).

    Args:
        p, q: distributions of the same shape on the same cells (see the module docstring).
        dx: the cell size, > 0.

    Returns:
        JSD in nats, a float in ``[0, log 2]``.

    Raises:
        ValueError: on negative, non-finite or non-normalised inputs, different shapes, or
            ``dx <= 0``.
    """
    p, q, dx = _pair(p, q, dx, names=("p", "q"))
    # KL(p || m) = sum p log p - p log(p + q) + p log 2, written with log(p + q) rather than
    # log m: in float64, m = (p + q) / 2 can underflow to 0 where p is tiny but positive.
    total = p + q
    kl_sum = (torch.xlogy(p, p) - torch.xlogy(p, total) + torch.xlogy(q, q)
              - torch.xlogy(q, total)).sum() + math.log(2) * total.sum()
    return (0.5 * kl_sum * dx).clamp(0, math.log(2)).item()
