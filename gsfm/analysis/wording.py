"""How the generated text and figure labels write numbers.

A difference is written with its sign and a true minus sign (U+2212), as the README and docs
write them: "+1.2", "−0.4". One place, so every sentence and label agrees.
"""

from __future__ import annotations

__all__ = ["interval", "signed"]

MINUS = "\N{MINUS SIGN}"


def signed(value: float, digits: int = 1) -> str:
    """``value`` with an explicit sign, ``digits`` decimals and a typographic minus."""
    return f"{value:+.{digits}f}".replace("-", MINUS)


def interval(low: float, high: float, digits: int = 1) -> str:
    """A confidence interval as ``[low, high]``, both ends signed."""
    return f"[{signed(low, digits)}, {signed(high, digits)}]"
