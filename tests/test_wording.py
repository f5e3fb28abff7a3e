"""The one place that writes signed numbers for the generated text and labels."""

from __future__ import annotations

from gsfm.analysis.wording import interval, signed


def test_signed_numbers_carry_a_true_minus_and_an_explicit_plus() -> None:
    assert signed(-3.04) == "\N{MINUS SIGN}3.0"
    assert signed(1.25, 2) == "+1.25"
    assert signed(0.0) == "+0.0"
    assert "-" not in signed(-0.5) + interval(-61.5, -0.04)


def test_an_interval_signs_both_ends() -> None:
    assert interval(-61.5, 68.0) == "[\N{MINUS SIGN}61.5, +68.0]"
