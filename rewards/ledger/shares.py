"""Splitting an integer amount into integer shares that add up to it exactly.

Both functions use the largest remainder method: each part gets the floor of
its exact share, and the units left over go one each to the parts with the
largest remainders, earlier parts first on ties. So the result never depends
on floating point and always sums to the total.
"""


def split_evenly(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` integers that differ by at most one."""
    if parts < 1:
        raise ValueError(f"cannot split into {parts} parts; give at least one")
    return split_weighted(total, [1] * parts)


def split_weighted(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to non-negative integer ``weights``.

    A part with weight 0 gets 0. Raises ValueError for a negative total or
    weight, or when every weight is 0 while the total is not.
    """
    if not weights:
        raise ValueError("cannot split over no weights; give at least one")
    if total < 0:
        raise ValueError(f"cannot split a negative total {total}")
    if any(weight < 0 for weight in weights):
        raise ValueError(f"weights must not be negative: {weights}")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total == 0:
            return [0] * len(weights)
        raise ValueError("cannot split a total over weights that are all 0")

    shares = []
    remainders = []
    for index, weight in enumerate(weights):
        share, remainder = divmod(total * weight, weight_sum)
        shares.append(share)
        remainders.append((-remainder, index))
    left_over = total - sum(shares)
    for _remainder, index in sorted(remainders)[:left_over]:
        shares[index] += 1
    return shares
