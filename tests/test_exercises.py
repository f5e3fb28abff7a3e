"""The notebooks' exercises check the learner: every exercise has a checker that accepts the
reference solution (kept apart, in ``notebooks/solutions/``) and rejects a wrong answer with
a hint, and the notebooks hold only the learner's ``answer = ...`` cells, no solutions."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gsfm.exercises import NotYet, check, exercise_ids
from gsfm.notebooks import list_notebooks
from gsfm.runtime import project_root

ROOT = project_root(Path(__file__).parent)
NOTEBOOKS = [
    p for p in list_notebooks(ROOT / "notebooks") if p.name[:2] in {f"{i:02d}" for i in range(1, 8)}
]
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_solutions.ipynb"))
KINDS = ("predict", "modify", "read", "implement")
CHECK_CELL = re.compile(r'^check\("(\d\d\.\d)", answer\);?\s*$')
EXERCISE_MARK = re.compile(r"^\*\*Exercise (\d) \((\w+), (★{1,3})\)\.\*\*")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _src(cell: dict) -> str:
    return "".join(cell["source"])


def _solution_cells() -> dict[str, tuple[str, str]]:
    """Exercise id → (the solutions notebook's set-up cell, the solution cell)."""
    out = {}
    for path in SOLUTIONS:
        code = [c for c in _cells(path) if c["cell_type"] == "code"]
        for cell in code[1:]:
            out[cell["metadata"]["exercise"]] = (_src(code[0]), _src(cell))
    return out


SOLVED = _solution_cells()


def _notebook_exercises(path: Path) -> list[tuple[str, str, str]]:
    """(exercise id, kind, stars) of each exercise of a learner notebook, checking the layout:
    the exercise's markdown, then a cell holding only ``answer = ...``, then its check cell."""
    cells, found = _cells(path), []
    for i, cell in enumerate(cells):
        mark = EXERCISE_MARK.match(_src(cell).lstrip()) if cell["cell_type"] == "markdown" else None
        if mark is None:
            continue
        number, kind, stars = mark.groups()
        answer, checking = cells[i + 1], cells[i + 2]
        assert answer["cell_type"] == "code" and _src(answer).strip().startswith("answer = ..."), (
            f"{path.name}, exercise {number}: the next cell starts with `answer = ...`"
        )
        ex = CHECK_CELL.match(_src(checking).strip())
        assert checking["cell_type"] == "code" and ex, (
            f"{path.name}, exercise {number}: no check cell"
        )
        assert ex.group(1) == f"{path.name[:2]}.{number}", (
            f"{path.name}: exercise {number} checks {ex.group(1)}"
        )
        found.append((ex.group(1), kind, stars))
    return found


# One plausible wrong answer per exercise (a known mistake where there is one).
def _hfm_filter(h: int, w: int, sigma: float) -> np.ndarray:
    d2 = (np.arange(h)[:, None] - h // 2) ** 2 + (np.arange(w)[None, :] - w // 2) ** 2
    return np.exp(-d2 / (2 * sigma**2))


def _z_only(x: torch.Tensor, module: Any) -> torch.Tensor:
    return module(x) - x


def _dot_topk(mk: torch.Tensor, qk: torch.Tensor, k: int) -> torch.Tensor:
    s = mk.transpose(1, 2) @ qk / mk.shape[1] ** 0.5
    v, i = torch.topk(s, k, dim=1)
    return torch.zeros_like(s).scatter(1, i, torch.softmax(v, dim=1))


def _paper_dice(p: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return 1 - 2 * (p * t).sum() / ((p * p).sum() + (t * t).sum() + 1e-6)


def _f1_overlap(pred: np.ndarray, gt: np.ndarray) -> float:
    total = pred.sum() + gt.sum()
    return 1.0 if total == 0 else 2 * np.logical_and(pred, gt).sum() / total


def _normal_interval(values: list[float]) -> tuple[float, float]:
    x = np.asarray(values)
    return x.mean(), 1.96 * x.std(ddof=1) / len(x) ** 0.5


def _radial_keeping_mean(x: torch.Tensor) -> np.ndarray:
    from gsfm.exercises.nb06 import _radial

    return _radial(x)


def _keep_band_shifted(x: torch.Tensor, lo: int, hi: int, bins: int) -> torch.Tensor:
    from gsfm.analysis.feature_spectra import radial_bin_index

    index = torch.fft.fftshift(radial_bin_index(*x.shape[-2:], bins))
    return torch.fft.ifft2(torch.fft.fft2(x) * ((index >= lo) & (index < hi))).real


WRONG: dict[str, Any] = {
    "01.1": (0.368, 0.07),  # HFM's g(DC), not LFM's 1 − g(DC)
    "01.2": 0.37,  # the 24×24 share
    "01.3": _hfm_filter,  # g instead of 1 − g
    "01.4": (True, True, False, False),  # credits the filter, not the ReLU
    "02.1": {(4, 5)},  # forgets the mirror pixel
    "02.2": (0.37, 0.131),  # the 24×24 share for bins, and the two swapped
    "02.3": _z_only,  # no residual
    "02.4": ("boundary_1", 8_392_704 + 525_312),  # LFM + HFM only
    "03.1": [0.232, 0.086, 0.031, 0.012, 0.636],  # the full softmax
    "03.2": _dot_topk,  # STM's dot product
    "03.3": _paper_dice,  # Eq. 3 instead of the authors' form
    "03.4": 0.02,  # "a perfect shape has Dice ≈ 0"
    "03.5": (1.0, 0.5, 0.15),  # not linear between the warm-up's ends
    "04.1": (100.0, 50.0),
    "04.2": {3: [0, 3, 6, 9], 5: [0, 5]},  # memorises the last frame
    "04.3": _f1_overlap,  # Dice / F1, not IoU
    "04.4": "down",
    "04.5": 4e-5,  # the base rate
    "05.1": (1.96 * 4 / 3**0.5, 1.96 * 4 / 10**0.5),  # the normal quantile
    "05.2": _normal_interval,
    "05.3": (False, True),
    "05.4": (0.37, 0.66),  # the 24×24 share for 7 bins
    "05.5": 5,
    "06.1": (2050.0, 230.0),  # pixels, not cells
    "06.2": (0, 1.0),  # "a checkerboard is low frequency"
    "06.3": [1, 1, 2],  # disjoint buckets
    "06.4": _radial_keeping_mean,  # keeps the channel means
    "07.1": 1.0,  # the weight of all k positions together
    "07.2": (True, True),  # thinks the HFM changes what the read compares
    "07.3": _keep_band_shifted,  # the fftshift-ed radius on the unshifted spectrum
}


def test_every_exercise_has_a_checker_a_solution_and_a_wrong_answer() -> None:
    in_notebooks = sorted(ex for p in NOTEBOOKS for ex, _, _ in _notebook_exercises(p))
    ours = [ex for ex in exercise_ids() if ex[:2] in {p.name[:2] for p in NOTEBOOKS}]
    assert in_notebooks == ours, "every exercise of notebooks 01-07 has exactly one checker"
    assert sorted(SOLVED) == ours, "every exercise has a reference solution in notebooks/solutions/"
    assert sorted(WRONG) == ours, "every exercise has a wrong answer in this test"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_exercises_are_graded_and_hold_no_solution(nb_path: Path) -> None:
    exercises = _notebook_exercises(nb_path)
    assert 3 <= len(exercises) <= 5, f"{nb_path.name}: {len(exercises)} exercises, want 3 to 5"
    kinds = {kind for _, kind, _ in exercises}
    assert kinds <= set(KINDS), f"{nb_path.name}: unknown kind in {kinds}"
    assert "implement" in kinds and len(kinds) >= 2, f"{nb_path.name}: kinds {sorted(kinds)}"
    cells = _cells(nb_path)
    assert not [c for c in cells if "solution" in c.get("metadata", {}).get("tags", [])], (
        f"{nb_path.name}: solutions live in notebooks/solutions/, not in the notebook"
    )
    numbers = [int(ex.split(".")[1]) for ex, _, _ in exercises]
    assert numbers == list(range(1, len(numbers) + 1)), (
        f"{nb_path.name}: exercises numbered {numbers}"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_notebook_is_stored_clean(path: Path) -> None:
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert not [c for c in code if c.get("outputs") or c.get("execution_count")]
    assert all("exercise" in c["metadata"] for c in code[1:]), (
        "each solution cell names its exercise"
    )


@pytest.mark.parametrize("exercise", sorted(WRONG))
def test_reference_solution_is_accepted(exercise: str) -> None:
    setup, cell = SOLVED[exercise]
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(setup + "\n" + cell, f"<solution {exercise}>", "exec"), namespace)
        verdict = check(exercise, namespace["answer"])
    assert verdict.right, verdict.message
    assert "✓ right" in printed.getvalue()  # the solution's own check cell said so too


@pytest.mark.parametrize("exercise", sorted(WRONG))
def test_wrong_answer_is_rejected_with_a_hint(exercise: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        verdict = check(exercise, WRONG[exercise])
    assert not verdict.right, f"{exercise}: a wrong answer was accepted"
    assert len(verdict.message) > 20 and "✗ not yet" in printed.getvalue()


@pytest.mark.parametrize("exercise", sorted(WRONG))
def test_placeholder_answer_says_not_yet(exercise: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        verdict = check(exercise, ...)
    assert not verdict.right and "replace `...`" in verdict.message


def test_a_learner_function_that_raises_is_a_hint_not_a_traceback() -> None:
    def broken(*_: Any) -> None:
        raise IndexError("index 24 is out of bounds")

    with contextlib.redirect_stdout(io.StringIO()):
        verdict = check("03.2", broken)
    assert not verdict.right and "IndexError" in verdict.message


def test_a_checker_signals_not_yet_by_raising() -> None:
    from gsfm.exercises import nb03

    with pytest.raises(NotYet):
        nb03.top2_weights([0.2] * 5)


def test_course_map_and_readme_list_every_notebook() -> None:
    course = (ROOT / "docs" / "course.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for nb in list_notebooks(ROOT / "notebooks"):
        assert f"notebooks/{nb.name}" in course, f"docs/course.md does not list {nb.name}"
        assert f"`{nb.stem}`" in readme, f"README's notebook table does not list {nb.stem}"
