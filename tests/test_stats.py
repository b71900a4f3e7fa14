"""gan_tutorial.stats: the book's rule for comparing per-seed scores (Welch's t-test and a
percentile bootstrap interval of the difference of means)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from gan_tutorial.stats import Comparison, bootstrap_interval, compare, welch_t


def test_welch_t_and_df_match_the_closed_form() -> None:
    # a: mean 2, variance 1; b: mean 6, variance 4; n = 3 each.
    # t = 4 / sqrt(1/3 + 4/3) = 4 sqrt(3/5); df = (5/3)^2 / ((1/3)^2 / 2 + (4/3)^2 / 2) = 50/17
    c = compare([1.0, 2.0, 3.0], [4.0, 6.0, 8.0])
    assert (c.n_a, c.n_b, c.mean_a, c.mean_b) == (3, 3, 2.0, 6.0)
    assert c.se_a == pytest.approx(math.sqrt(1 / 3))
    assert c.se_b == pytest.approx(math.sqrt(4 / 3))
    assert c.difference == 4.0
    assert c.t == pytest.approx(4 * math.sqrt(3 / 5), rel=1e-12)
    assert c.df == pytest.approx(50 / 17, rel=1e-12)


def test_unequal_sizes_closed_form() -> None:
    # a = [0, 0, 3] (mean 1, var 3), b = [1, 1, 1, 5] (mean 2, var 4): se^2 = 1 and 1
    t, df, _ = welch_t(np.array([0.0, 0.0, 3.0]), np.array([1.0, 1.0, 1.0, 5.0]))
    assert t == pytest.approx(1 / math.sqrt(2), rel=1e-12)
    assert df == pytest.approx(4 / (1 / 2 + 1 / 3), rel=1e-12)


@pytest.mark.parametrize("a, b", [
    ([1.0, 2.0, 3.0], [4.0, 6.0, 8.0]),
    ([228.1, 254.1, 235.8], [227.7, 211.7, 225.9]),
    ([0.1, 0.4, 0.2, 0.9, 0.3], [0.5, 0.45, 0.7]),
])
def test_t_df_and_p_agree_with_scipy(a: list[float], b: list[float]) -> None:
    c = compare(a, b)
    reference = scipy_stats.ttest_ind(b, a, equal_var=False)
    assert c.t == pytest.approx(reference.statistic, rel=1e-10)
    assert c.p == pytest.approx(reference.pvalue, rel=1e-8)
    assert c.df == pytest.approx(reference.df, rel=1e-10)
    assert 0.0 <= c.p <= 1.0


def test_bootstrap_is_deterministic_for_a_seed_and_contains_the_difference() -> None:
    a, b = [228.1, 254.1, 235.8, 240.0, 231.2], [227.7, 211.7, 225.9, 219.0, 230.4]
    first, again = compare(a, b, seed=3), compare(a, b, seed=3)
    assert (first.low, first.high) == (again.low, again.high)
    other = compare(a, b, seed=4)
    assert (other.low, other.high) != (first.low, first.high)
    assert first.low < first.difference < first.high
    low, high = bootstrap_interval(np.array(a), np.array(b), n_boot=10_000, seed=3)
    assert (low, high) == (first.low, first.high)
    # Far fewer resamples still bracket the observed difference.
    small = compare(a, b, n_boot=200, seed=0)
    assert small.low <= small.difference <= small.high


def test_bootstrap_interval_of_constant_arms_is_the_difference() -> None:
    assert bootstrap_interval(np.full(3, 2.0), np.full(4, 5.5)) == (3.5, 3.5)


def test_verdict_both_ways_and_none() -> None:
    higher = compare([1.0, 2.0, 3.0], [10.0, 11.0, 12.5], "baseline", "r1")
    assert higher.measurable and higher.verdict == "r1 higher than baseline"
    lower = compare([10.0, 11.0, 12.5], [1.0, 2.0, 3.0], "baseline", "r1")
    assert lower.verdict == "r1 lower than baseline"
    same = compare([1.0, 2.0, 3.0], [1.5, 2.5, 2.0])
    assert same.low <= 0 <= same.high and same.verdict == "no measurable difference"


def test_the_interval_alone_is_not_enough_at_three_seeds() -> None:
    # The stabilising chapter's baseline and R1 FIDs (seeds 0-2): the percentile interval
    # excludes 0, Welch's p is 0.14, so no difference is claimed.
    c = compare([228.1, 254.1, 235.8], [227.7, 211.7, 225.9], "baseline", "r1")
    assert c.high < 0 and c.p == pytest.approx(0.14, abs=0.005)
    assert not c.measurable and c.verdict == "no measurable difference"


def test_printed_line() -> None:
    c = compare([228.1, 254.1, 235.8], [227.7, 211.7, 225.9], "baseline", "r1")
    assert str(c) == (
        "r1 221.8 ± 5.1 (n=3) vs baseline 239.3 ± 7.7 (n=3): difference -17.6, 95 % "
        f"bootstrap interval [{c.low:.1f}, {c.high:.1f}], Welch t = -1.90 (df 3.5), "
        "p = 0.14: no measurable difference")
    strong = compare([1.0, 2.0, 3.0], [10.0, 11.0, 12.5], digits=2)
    assert "b 11.17 ± 0.73 (n=3) vs a 2.00 ± 0.58 (n=3)" in str(strong)
    assert "p < 0.001: b higher than a" in str(strong)


def test_zero_variance_in_both_arms() -> None:
    c = compare([1.0, 1.0, 1.0], [2.0, 2.0, 2.0])
    assert math.isnan(c.t) and math.isnan(c.df) and math.isnan(c.p)
    assert (c.low, c.high) == (1.0, 1.0) and c.verdict == "b higher than a"
    assert "Welch t undefined (no variance in either arm)" in str(c)
    equal = compare([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert equal.verdict == "no measurable difference"
    one_side = compare([1.0, 1.0, 1.0], [2.0, 3.0, 4.0])  # defined: df = n_b - 1
    assert one_side.df == pytest.approx(2.0)


def test_accepts_arrays_series_and_integers() -> None:
    c = compare(np.array([1, 2, 3]), pd.Series([4.0, 6.0, 8.0]), "x", "y")
    assert isinstance(c, Comparison) and c.difference == 4.0
    with pytest.raises(AttributeError):
        c.t = 0.0  # frozen


@pytest.mark.parametrize("bad, match", [
    ([1.0, 2.0], "at least 3 finite numbers .* got 2"),
    ([1.0, float("nan"), 2.0], "1 NaN or infinite"),
    ([1.0, float("inf"), 2.0], "1 NaN or infinite"),
    (["1", "2", "3"], "at least 3 finite numbers"),
    ([1.0, None, 2.0], "at least 3 finite numbers"),
    ([True, False, True], "at least 3 finite numbers"),
    ([1.0, True, 2.0], "at least 3 finite numbers"),
    ([[1.0, 2.0, 3.0]], "at least 3 finite numbers"),
    ("123", "at least 3 finite numbers"),
    (5.0, "at least 3 finite numbers"),
])
def test_refuses_bad_scores(bad: object, match: str) -> None:
    with pytest.raises(ValueError, match=match) as error:
        compare(bad, [1.0, 2.0, 3.0])
    assert str(error.value).startswith("a must be a sequence of at least 3 finite numbers "
                                       "(one score per seed), got")
    with pytest.raises(ValueError, match="b must be a sequence"):
        compare([1.0, 2.0, 3.0], bad)


def test_refuses_bad_options() -> None:
    a, b = [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="n_boot must be an integer >= 100"):
        compare(a, b, n_boot=10)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        compare(a, b, seed=-1)
    with pytest.raises(ValueError, match="digits must be an integer"):
        compare(a, b, digits=1.5)
    with pytest.raises(ValueError, match="name_b must be a string"):
        compare(a, b, "a", 3)
