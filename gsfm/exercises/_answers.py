"""Helpers the checkers share: read a learner's answer into numbers, compare it with a value
the library computes, and call a learner's function without letting its error end the check.

Every helper raises :class:`~gsfm.exercises.NotYet` with a hint; none reveals the reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gsfm.exercises import NotYet

__all__ = [
    "as_array",
    "as_number",
    "as_numbers",
    "call",
    "close_to",
    "first_match",
    "is_close",
    "mistake_hint",
]


def as_number(answer: Any, what: str = "your answer") -> float:
    """``answer`` as one finite float, or :class:`NotYet` saying what was expected."""
    try:
        value = float(answer.item() if hasattr(answer, "item") else answer)
    except (TypeError, ValueError) as why:
        raise NotYet(f"{what} should be one number, got {type(answer).__name__}") from why
    if not math.isfinite(value):
        raise NotYet(f"{what} is {value}: give a finite number")
    return value


def as_numbers(answer: Any, n: int, names: Sequence[str]) -> list[float]:
    """``answer`` as ``n`` numbers (a tuple or list), in the order ``names`` gives."""
    if isinstance(answer, str) or not isinstance(answer, Sequence) or len(answer) != n:
        raise NotYet(f"answer with {n} numbers in this order: ({', '.join(names)})")
    return [as_number(a, name) for a, name in zip(answer, names, strict=True)]


def as_array(answer: Any, shape: tuple[int, ...], what: str = "your answer") -> np.ndarray:
    """``answer`` (array, tensor or nested list) as a float64 array of ``shape``."""
    if hasattr(answer, "detach"):
        answer = answer.detach().cpu().numpy()
    try:
        arr = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError) as why:
        raise NotYet(f"{what} should be an array of numbers of shape {shape}") from why
    if arr.shape != shape:
        raise NotYet(f"{what} has shape {arr.shape}; it should have shape {shape}")
    if not np.isfinite(arr).all():
        raise NotYet(f"{what} holds NaN or infinite values")
    return arr


def is_close(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """Whether ``a`` and ``b`` (numbers, arrays or tensors) agree within the tolerances."""

    def arr(x: Any) -> np.ndarray:
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        return np.asarray(x, dtype=np.float64)

    x, y = arr(a), arr(b)
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol))


def close_to(value: float, reference: float, tol: float, what: str, hint: str = "") -> None:
    """:class:`NotYet` unless ``|value - reference| <= tol``; says too high or too low only."""
    if abs(value - reference) <= tol:
        return
    direction = "too high" if value > reference else "too low"
    raise NotYet(f"{what} is {direction}. {hint}".strip())


def call(fn: Any, *args: Any, name: str = "your function") -> Any:
    """Call the learner's ``fn``; turn any error it raises into a :class:`NotYet` naming it."""
    if not callable(fn):
        raise NotYet(f"the answer should be a function (def ...), got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotYet:
        raise
    except Exception as why:  # the learner's code: report it instead of a traceback
        raise NotYet(f"{name} raised {type(why).__name__}: {why}") from why


def first_match(out: Any, variants: dict[str, Callable[[], Any]], **tol: float) -> str | None:
    """The key of the first known mistake whose result ``out`` reproduces, else ``None``."""
    for key, make in variants.items():
        try:
            if is_close(out, make(), **tol):
                return key
        except Exception:  # a variant that cannot be computed for this input is not a match
            continue
    return None


def mistake_hint(
    out: Any, mistakes: dict[str, tuple[Callable[[], Any], str]], fallback: str, **tol: float
) -> str:
    """The hint of the first known mistake that ``out`` reproduces (``{name: (make, hint)}``,
    each ``make`` computing that mistake's result), else ``fallback``."""
    known = first_match(out, {k: make for k, (make, _) in mistakes.items()}, **tol)
    return mistakes[known][1] if known else fallback
