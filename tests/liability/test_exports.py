import pytest

from liability.exports import neutralise_cell


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+31 6 1234", "'+31 6 1234"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tindent", "'\tindent"),
        ("\rline", "'\rline"),
        ("Jan de Vries", "Jan de Vries"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected
