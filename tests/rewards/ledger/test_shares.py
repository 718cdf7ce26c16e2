"""Splitting points into shares: integers that always add up to the total."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rewards.ledger.shares import split_evenly, split_weighted

totals = st.integers(min_value=0, max_value=10**12)


@given(total=totals, parts=st.integers(min_value=1, max_value=500))
def test_even_shares_add_up(total, parts):
    shares = split_evenly(total, parts)

    assert sum(shares) == total
    assert len(shares) == parts
    assert max(shares) - min(shares) <= 1
    assert min(shares) >= 0
    assert shares == sorted(shares, reverse=True)


@given(
    total=totals,
    weights=st.lists(
        st.integers(min_value=0, max_value=10**6), min_size=1, max_size=60
    ).filter(lambda weights: sum(weights) > 0),
)
def test_weighted_shares_add_up(total, weights):
    shares = split_weighted(total, weights)
    weight_sum = sum(weights)

    assert sum(shares) == total
    assert len(shares) == len(weights)
    for share, weight in zip(shares, weights, strict=True):
        exact = Fraction(total * weight, weight_sum)
        assert abs(share - exact) < 1
        if weight == 0:
            assert share == 0


def test_even_split_gives_extra_units_first():
    assert split_evenly(10, 3) == [4, 3, 3]


def test_weighted_split_example():
    assert split_weighted(10, [1, 2, 0, 3]) == [2, 3, 0, 5]


def test_zero_total_over_zero_weights():
    assert split_weighted(0, [0, 0]) == [0, 0]


@pytest.mark.parametrize(
    ("total", "weights"),
    [(5, []), (-1, [1]), (5, [1, -1]), (5, [0, 0])],
)
def test_weighted_split_rejects_bad_input(total, weights):
    with pytest.raises(ValueError):
        split_weighted(total, weights)


@pytest.mark.parametrize("parts", [0, -2])
def test_even_split_needs_a_part(parts):
    with pytest.raises(ValueError):
        split_evenly(5, parts)
