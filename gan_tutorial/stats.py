"""The book's one rule for comparing two settings from their per-seed scores.

A claim that one setting is better, worse or equal rests on at least 3 seeds per arm, is
printed as mean ± s.e. of each arm with a Welch t-test and a bootstrap 95 % interval of the
difference of means beside it, and a difference whose interval includes 0 is written as "no
measurable difference" (here: also when Welch's p is 0.05 or more, see
:attr:`Comparison.measurable`). :func:`compare` computes all of it; ``str()`` of its result is
the line a chapter prints::

    >>> print(compare([228.1, 254.1, 235.8], [227.7, 211.7, 225.9], "baseline", "r1"))
    r1 221.8 ± 5.1 (n=3) vs baseline 239.3 ± 7.7 (n=3): difference -17.6, 95 % bootstrap
    interval [-32.3, -3.6], Welch t = -1.90 (df 3.5), p = 0.14: no measurable difference

(one line when printed; the stabilising chapter's final FIDs of seeds 0-2).

Sources: Welch 1947, "The generalization of 'Student's' problem when several different
population variances are involved", Biometrika 34 (the t statistic and the Welch--Satterthwaite
degrees of freedom); Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, Chapter 13
(the percentile interval) and Section 16.2 (two-sample bootstrap: each arm resampled on its
own).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from .validation import check_int, describe

#: Fewest values per arm :func:`compare` accepts (the book's rule: at least 3 seeds per arm).
MIN_VALUES = 3
#: The level of the interval is 1 - ALPHA (95 %); Welch's p must be below ALPHA too.
ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """Two arms' per-seed scores compared (made by :func:`compare`; read its fields or print it).

    Attributes:
        name_a, name_b: the arms' names, as printed.
        n_a, n_b: values (seeds) per arm, >= 3.
        mean_a, mean_b: each arm's mean, in the scores' unit.
        se_a, se_b: each arm's standard error of the mean, ``std(ddof=1) / sqrt(n)``, >= 0.
        difference: ``mean_b - mean_a``.
        t: Welch's t statistic, ``difference / sqrt(se_a**2 + se_b**2)`` (Welch 1947); NaN when
            both arms have zero variance (t is undefined).
        df: its Welch--Satterthwaite degrees of freedom, in ``[min(n) - 1, n_a + n_b - 2]``;
            NaN where ``t`` is.
        p: the two-sided p value of ``t`` under Student's t with ``df`` degrees of freedom, in
            ``[0, 1]``; NaN where ``t`` is.
        low, high: the percentile bootstrap 95 % interval of ``difference`` (2.5th and 97.5th
            percentiles over the resamples; Efron & Tibshirani 1993, Chapter 13).
        n_boot: bootstrap resamples used; seed: the seed of their ``numpy.random.Generator``.
        digits: decimals ``str(comparison)`` prints the means, errors and the interval with.
    """

    name_a: str
    name_b: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    se_a: float
    se_b: float
    difference: float
    t: float
    df: float
    p: float
    low: float
    high: float
    n_boot: int
    seed: int
    digits: int = 1

    @property
    def measurable(self) -> bool:
        """Whether the difference is measurable, that is the bootstrap interval excludes 0 and
        Welch's test agrees (``p < 0.05``, or ``t`` undefined, where the interval alone decides).

        Both are asked because the percentile interval is too narrow for 3 to 5 seeds: its
        resamples' variance is ``(n - 1) / n`` of the sample's, and its quantiles are close to
        normal ones, not Student's t (the "narrowness bias" of Hesterberg 2015, "What teachers
        should know about the bootstrap", The American Statistician 69). With the stabilising
        chapter's baseline and R1 FIDs of seeds 0-2 it excludes 0 while Welch's p is 0.14.
        """
        excludes_zero = not self.low <= 0.0 <= self.high
        return excludes_zero and (math.isnan(self.p) or self.p < ALPHA)

    @property
    def verdict(self) -> str:
        """``"no measurable difference"`` unless :attr:`measurable`, else ``"<name_b> lower
        than <name_a>"`` or ``"<name_b> higher than <name_a>"``."""
        if not self.measurable:
            return "no measurable difference"
        side = "lower" if self.difference < 0 else "higher"
        return f"{self.name_b} {side} than {self.name_a}"

    def __str__(self) -> str:
        d = self.digits
        arm_b = f"{self.name_b} {self.mean_b:.{d}f} ± {self.se_b:.{d}f} (n={self.n_b})"
        arm_a = f"{self.name_a} {self.mean_a:.{d}f} ± {self.se_a:.{d}f} (n={self.n_a})"
        test = ("Welch t undefined (no variance in either arm)" if math.isnan(self.t) else
                f"Welch t = {self.t:.2f} (df {self.df:.1f}), {_p_text(self.p)}")
        return (f"{arm_b} vs {arm_a}: difference {self.difference:.{d}f}, 95 % bootstrap "
                f"interval [{self.low:.{d}f}, {self.high:.{d}f}], {test}: {self.verdict}")


def _p_text(p: float) -> str:
    """``"p = 0.14"`` (two significant digits), or ``"p < 0.001"``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _scores(name: str, values: object) -> np.ndarray:
    """``values`` as a ``(n,) float64`` array of finite numbers, ``n >= MIN_VALUES``."""
    expected = (f"{name} must be a sequence of at least {MIN_VALUES} finite numbers "
                f"(one score per seed)")
    array_like = isinstance(values, Sequence) or hasattr(values, "__array__")
    if isinstance(values, (str, bytes)) or not array_like or (
            isinstance(values, Sequence) and any(isinstance(v, bool) for v in values)):
        raise ValueError(f"{expected}, got {describe(values)}")
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        raise ValueError(f"{expected}, got {describe(values)}")
    if len(array) < MIN_VALUES:
        raise ValueError(f"{expected}, got {len(array)}: {describe(values)}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{expected}, got {int((~np.isfinite(array)).sum())} NaN or "
                         f"infinite value(s): {describe(values)}")
    return array


def welch_t(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Welch's t of ``mean(b) - mean(a)``, its degrees of freedom and two-sided p value.

    ``t = (mean_b - mean_a) / sqrt(v_a / n_a + v_b / n_b)`` with ``v`` the sample variances
    (ddof 1), and ``df = (v_a/n_a + v_b/n_b)**2 / ((v_a/n_a)**2 / (n_a - 1) + (v_b/n_b)**2 /
    (n_b - 1))`` (Welch 1947; Satterthwaite 1946); ``p = 2 * P(T_df > |t|)``
    (``scipy.stats.t``). Equal to ``scipy.stats.ttest_ind(b, a, equal_var=False)``.

    Args:
        a, b: ``(n,) float64`` arrays, ``n >= 2`` each.

    Returns:
        ``(t, df, p)``; three NaNs when both arms have zero variance (t is undefined).
    """
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0.0:
        return math.nan, math.nan, math.nan
    t = float((b.mean() - a.mean()) / math.sqrt(va + vb))
    df = float((va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)))
    p = float(2.0 * scipy_stats.t.sf(abs(t), df))
    return t, df, p


def bootstrap_interval(a: np.ndarray, b: np.ndarray, n_boot: int = 10_000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """The percentile bootstrap interval of ``mean(b) - mean(a)`` (Efron & Tibshirani 1993,
    Chapter 13 and Section 16.2).

    Each of ``n_boot`` resamples draws ``len(a)`` values of ``a`` and ``len(b)`` of ``b`` with
    replacement (each arm on its own) from ``numpy.random.default_rng(seed)``; the interval is
    the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled differences.
    The same inputs and seed give the same interval.

    Args:
        a, b: ``(n,) float64`` arrays, ``n >= 1`` each.
        n_boot: resamples, >= 1.
        seed: seed of the generator, >= 0.
        level: the interval's coverage, in (0, 1).

    Returns:
        ``(low, high)``, in the scores' unit.
    """
    rng = np.random.default_rng(seed)
    means_a = a[rng.integers(0, len(a), size=(n_boot, len(a)))].mean(axis=1)
    means_b = b[rng.integers(0, len(b), size=(n_boot, len(b)))].mean(axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means_b - means_a, [tail, 100.0 - tail])
    return float(low), float(high)


def compare(a: Sequence[float], b: Sequence[float], name_a: str = "a", name_b: str = "b", *,
            n_boot: int = 10_000, seed: int = 0, digits: int = 1) -> Comparison:
    """Compare arm ``b`` with arm ``a`` from one score per seed: means ± s.e., the difference
    ``mean(b) - mean(a)``, Welch's t-test and a seeded percentile bootstrap 95 % interval.

    The verdict (:attr:`Comparison.verdict`) is "no measurable difference" when the interval
    contains 0 or Welch's p is 0.05 or more (:attr:`Comparison.measurable` says why both are
    asked), else "<name_b> lower than <name_a>" or "... higher than ...". When both arms have
    zero variance Welch's t is undefined (``t``, ``df`` and ``p`` are NaN, and the printed line
    says so); the interval alone decides.

    Args:
        a, b: the arms' scores, sequences (list, tuple, 1-D array, pandas Series) of at least 3
            finite numbers each (e.g. the final FID of each seed); the arms may differ in size.
        name_a, name_b: the arms' names, as printed (e.g. ``"baseline"``, ``"r1"``).
        n_boot: bootstrap resamples, >= 100.
        seed: seed of the bootstrap's ``numpy.random.Generator``, >= 0.
        digits: decimals printed for means, errors, difference and interval, in [0, 10].

    Returns:
        A :class:`Comparison`; ``print`` it for the chapter's line (the module's docstring
        shows one).

    Raises:
        ValueError: if ``a`` or ``b`` is not a sequence of at least 3 finite numbers (fewer
            values, NaN, infinities, strings, booleans or nested sequences), a name is not a
            string, or ``n_boot``, ``seed`` or ``digits`` is out of range.
    """
    x_a, x_b = _scores("a", a), _scores("b", b)
    for label, name in (("name_a", name_a), ("name_b", name_b)):
        if not isinstance(name, str):
            raise ValueError(f"{label} must be a string, got {describe(name)}")
    n_boot = check_int("n_boot", n_boot, minimum=100)
    seed = check_int("seed", seed, minimum=0)
    digits = check_int("digits", digits, minimum=0, maximum=10)
    t, df, p = welch_t(x_a, x_b)
    low, high = bootstrap_interval(x_a, x_b, n_boot, seed)
    return Comparison(name_a=name_a, name_b=name_b, n_a=len(x_a), n_b=len(x_b),
                      mean_a=float(x_a.mean()), mean_b=float(x_b.mean()),
                      se_a=_standard_error(x_a), se_b=_standard_error(x_b),
                      difference=float(x_b.mean() - x_a.mean()), t=t, df=df, p=p, low=low,
                      high=high, n_boot=n_boot, seed=seed, digits=digits)


def _standard_error(x: np.ndarray) -> float:
    """``std(x, ddof=1) / sqrt(len(x))``."""
    return float(x.std(ddof=1) / math.sqrt(len(x)))
