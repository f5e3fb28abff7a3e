"""Exercise checkers for the notebooks: ``check(exercise_id, answer)`` says right or wrong and
why, without revealing the reference answer.

A checker is a function registered under an id such as ``"01.2"`` (notebook 01, exercise 2).
It receives the learner's answer and raises :class:`NotYet` with a hint when the answer is
wrong; returning normally means right (a returned string is shown as the confirmation). The
checkers of one notebook live in a module of this package named after it (``nb01`` ...), which
:func:`check` imports on first use, so the registry stays lazy.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["NotYet", "Verdict", "check", "checker", "exercise_ids"]

Checker = Callable[[Any], "str | None"]
_REGISTRY: dict[str, Checker] = {}


class NotYet(AssertionError):
    """Raised by a checker when the learner's answer is not right yet; the message is the hint."""


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` found: ``right`` and the message shown to the learner."""

    exercise: str
    right: bool
    message: str

    def __bool__(self) -> bool:
        return self.right

    def __str__(self) -> str:
        mark = "✓ right" if self.right else "✗ not yet"
        return f"{mark} ({self.exercise}): {self.message}"

    def _repr_markdown_(self) -> str:  # shown by Jupyter when the verdict is a cell's value
        mark = "✅ **right**" if self.right else "❌ **not yet**"
        return f"{mark} ({self.exercise}): {self.message}"


def checker(exercise_id: str) -> Callable[[Checker], Checker]:
    """Register ``fn`` as the checker of ``exercise_id`` (for example ``"03.2"``)."""

    def register(fn: Checker) -> Checker:
        if exercise_id in _REGISTRY and _REGISTRY[exercise_id] is not fn:
            raise ValueError(f"exercise {exercise_id!r} has two checkers")
        _REGISTRY[exercise_id] = fn
        return fn

    return register


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("nb"):
            importlib.import_module(f"{__name__}.{info.name}")


def exercise_ids() -> list[str]:
    """Every registered exercise id, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def check(exercise_id: str, answer: Any) -> Verdict:
    """Check the learner's ``answer`` to ``exercise_id``; print and return the :class:`Verdict`.

    A wrong answer is not an error: the verdict says what is off, so a notebook keeps running.
    ``answer is ...`` (the placeholder the exercise cells start with) asks for an answer first.
    """
    if exercise_id not in _REGISTRY:
        _load_all()
    fn = _REGISTRY.get(exercise_id)
    if fn is None:
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(exercise_ids())}")
    if answer is ...:
        verdict = Verdict(exercise_id, False, "replace `...` with your answer, then run the cell")
    else:
        try:
            message = fn(answer)
        except NotYet as why:
            verdict = Verdict(exercise_id, False, str(why))
        else:
            verdict = Verdict(exercise_id, True, message or "well done")
    print(verdict)
    return verdict
