"""The Dirac-GAN of Mescheder et al. 2018 ("Which training methods for GANs do actually converge?").

The smallest GAN that fails to converge. The data are a Dirac at 0; the generator is a Dirac at
``theta`` (one parameter); the discriminator is linear, ``D_psi(x) = psi * x`` (one parameter,
a logit). The GAN objective (Goodfellow et al. 2014, Eq. 1, with ``D = sigmoid(logit)``) is

    V(theta, psi) = f(psi * theta) + f(0),  f(t) = -log(1 + exp(-t)) = log sigmoid(t)

(Mescheder et al. 2018, Section 2.2, Eq. 5 with the data at 0; the sign of the logit is theirs).
D ascends V, G descends it; the unique equilibrium is ``(theta, psi) = (0, 0)``. Near it the
gradient vector field ``(-dV/dtheta, dV/dpsi)`` is a pure rotation: simultaneous gradient steps
spiral *outwards*, alternating steps circle, and the R1 penalty ``gamma / 2 * psi^2``
(``||grad_x D_psi(x)||^2 = psi^2`` at the data; Eq. 9) makes the steps converge (Section 3).

Every gradient here is computed by autograd from ``V``, not written out by hand.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..validation import check_int, check_number, describe

#: The two ways of taking gradient steps in :func:`trajectory`.
MODES = ("simultaneous", "alternating")


def value(theta: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
    """``V(theta, psi) = f(psi theta) + f(0)`` with ``f(t) = -softplus(-t)``, in nats (<= 0)."""
    return -F.softplus(-psi * theta) - F.softplus(torch.zeros_like(theta))


def gradients(theta: torch.Tensor, psi: torch.Tensor,
              gamma: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dV/dtheta, d(V - gamma/2 psi^2)/dpsi)`` at any shape of (broadcastable) points.

    G descends the first, D ascends the second (R1-regularised when ``gamma > 0``). In closed
    form ``dV/dtheta = psi f'(psi theta)`` and ``dV/dpsi = theta f'(psi theta)`` with
    ``f'(t) = sigmoid(-t)``; the tests compare the autograd result with these.

    Args:
        theta, psi: float tensors of the same shape.
        gamma: the R1 weight, >= 0.

    Returns:
        Two tensors of that shape, detached.

    Raises:
        ValueError: if the shapes differ, the dtype is not floating or ``gamma < 0``.
    """
    if not (isinstance(theta, torch.Tensor) and isinstance(psi, torch.Tensor)
            and theta.shape == psi.shape and theta.is_floating_point()
            and psi.is_floating_point()):
        raise ValueError(f"theta and psi must be float tensors of one shape, got "
                         f"{describe(theta)} and {describe(psi)}")
    gamma = check_number("gamma", gamma, minimum=0)
    theta = theta.detach().requires_grad_(True)
    psi = psi.detach().requires_grad_(True)
    d_objective = value(theta, psi) - gamma / 2 * psi**2
    (g_theta,) = torch.autograd.grad(value(theta, psi).sum(), theta)
    (g_psi,) = torch.autograd.grad(d_objective.sum(), psi)
    return g_theta, g_psi


def trajectory(theta0: float, psi0: float, lr: float, steps: int,
               mode: str = "simultaneous", gamma: float = 0.0) -> torch.Tensor:
    """Gradient steps on the Dirac-GAN from ``(theta0, psi0)``.

    ``simultaneous``: both players step from the same point,
    ``theta -= lr dV/dtheta``, ``psi += lr dV/dpsi``. ``alternating``: D steps first, then G
    steps against the *new* D (Mescheder et al. 2018, Section 2.2).

    Args:
        theta0, psi0: the start.
        lr: the step size h, > 0.
        steps: number of steps, >= 0.
        mode: one of :data:`MODES`.
        gamma: the R1 weight, >= 0 (0: unregularised).

    Returns:
        ``(steps + 1, 2) float64``: ``(theta, psi)`` at each step, the start first.

    Raises:
        ValueError: on an unknown mode, a start that is not a finite number, ``lr <= 0``,
            ``steps`` not an integer >= 0, or ``gamma < 0``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {describe(mode)}")
    lr = check_number("lr", lr, minimum=0, above=True)
    steps = check_int("steps", steps, minimum=0)
    check_number("gamma", gamma, minimum=0)
    theta = torch.tensor(check_number("theta0", theta0), dtype=torch.float64)
    psi = torch.tensor(check_number("psi0", psi0), dtype=torch.float64)
    points = [(theta.item(), psi.item())]
    for _ in range(steps):
        g_theta, g_psi = gradients(theta, psi, gamma)
        psi_next = psi + lr * g_psi
        if mode == "alternating":  # G answers the D that has just moved
            g_theta, _ = gradients(theta, psi_next, gamma)
        theta, psi = theta - lr * g_theta, psi_next
        points.append((theta.item(), psi.item()))
    return torch.tensor(points, dtype=torch.float64)


def vector_field(theta: torch.Tensor, psi: torch.Tensor,
                 gamma: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The continuous-time field ``(-dV/dtheta, d(V - gamma/2 psi^2)/dpsi)`` on a grid.

    Args:
        theta, psi: float tensors of one shape (e.g. from ``torch.meshgrid``).
        gamma: the R1 weight, >= 0.

    Returns:
        ``(u, v)``: the velocity of theta and of psi, the shape of the inputs.

    Raises:
        ValueError: as :func:`gradients`.
    """
    g_theta, g_psi = gradients(theta, psi, gamma)
    return -g_theta, g_psi
