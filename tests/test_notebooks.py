"""Every notebook runs headless through papermill with ``profile="smoke"``.

The executed copy of a notebook is kept under ``build/test-notebooks/`` so that, when a cell
fails, its traceback and outputs can be read there.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from gsfm.notebooks import execute_notebook, list_notebooks, notebook_parameters
from gsfm.runtime import project_root

ROOT = project_root(Path(__file__).parent)
NOTEBOOKS = list_notebooks(ROOT / "notebooks")
REQUIRED_PARAMETERS = {"profile", "seed", "device", "figures_dir"}
# Output folders a notebook may declare: in tests they all point into tmp_path.
OUTPUT_DIR_PARAMETERS = (
    "figures_dir", "runs_dir", "data_dir", "cache_dir", "results_dir", "split_results_dir",
)  # fmt: skip
# Notebooks that plot committed results train and score a tiny grid into tmp_path instead
# (1 seed, each study's reference and one other variant), never over the committed rows.
SMOKE_EXTRA: dict[str, dict[str, object]] = {
    # two studies train (σ: two splits; components: the STCN-based rows); the other two show
    # the "no rows yet" path
    "05_ablations": {
        "retrain": True, "seeds": [0], "max_variants": 2, "studies": ["sigma", "components"],
    },
    # and scores the shipped weights on a tiny synth-small-v1 (3 videos at 64x112)
    "06_small_objects_and_spectra": {
        "retrain": True, "seeds": [0], "from_runs": True, "reuse_from": [], "rescore_split": True,
    },
    # an untrained smoke network: one short video for J&F keeps each surgery to seconds
    "07_spectral_surgery": {"n_videos": 1, "n_frames": 3},
}  # fmt: skip


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 2, f"expected the numbered notebooks in {ROOT / 'notebooks'}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_stored_clean(nb_path: Path) -> None:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{nb_path.name}: code cells {dirty} carry outputs or execution counts"
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{nb_path.name}: {len(tagged)} cells tagged 'parameters', need 1"
    assert tagged[0]["cell_type"] == "code"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    # nbformat 4.5 gives every cell an id; a missing one warns now and will be an error
    ids = [c.get("id") for c in nb["cells"]]
    assert None not in ids and len(set(ids)) == len(ids), f"{nb_path.name}: cell ids {ids}"
    # papermill silently skips a parameter line it cannot parse (e.g. a comment holding "="):
    # every name assigned in the cell must be one papermill sees, or it could not be injected.
    assigned = {
        t.id
        for node in ast.parse("".join(tagged[0]["source"])).body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    seen = set(notebook_parameters(nb_path))
    assert assigned == seen, f"{nb_path.name}: papermill does not see {sorted(assigned - seen)}"
    assert nb["cells"][0]["cell_type"] == "markdown", "a notebook opens with what it teaches"


@pytest.mark.notebook
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes_with_smoke_profile(nb_path: Path, tmp_path: Path) -> None:
    declared = notebook_parameters(nb_path)
    missing = REQUIRED_PARAMETERS - set(declared)
    assert not missing, f"{nb_path.name}: parameters cell lacks {sorted(missing)}"

    params: dict[str, object] = {"profile": "smoke", "device": "cpu"}
    for name in OUTPUT_DIR_PARAMETERS:
        if name in declared:
            params[name] = str(tmp_path / name)
    if "interactive" in declared:
        params["interactive"] = False  # a Python bool, not the string "False"
    params.update(SMOKE_EXTRA.get(nb_path.stem, {}))
    assert set(params) <= set(declared)  # the same check execute_notebook makes

    out = ROOT / "build" / "test-notebooks" / nb_path.name
    # a guard against hangs, not a timing test: a loaded 2-core machine needs the headroom
    run = execute_notebook(nb_path, out, params, cwd=ROOT, cell_timeout=1200)

    executed = json.loads(run.output.read_text(encoding="utf-8"))
    injected = [
        c
        for c in executed["cells"]
        if "injected-parameters" in c.get("metadata", {}).get("tags", [])
    ]
    assert len(injected) == 1 and 'profile = "smoke"' in "".join(injected[0]["source"])
    if "interactive" in params:
        assert "interactive = False" in "".join(injected[0]["source"])
    errors = [
        o
        for c in executed["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, f"{nb_path.name}: cells raised {[e['ename'] for e in errors]}"
    written = sorted(p.name for p in (tmp_path / "figures_dir").glob("*"))
    assert written, f"{nb_path.name}: wrote no figure into figures_dir"


def test_unknown_parameter_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not declared"):
        execute_notebook(NOTEBOOKS[0], tmp_path / "x.ipynb", {"no_such_parameter": 1})


# The exercises (a checker per exercise, solutions kept apart) are tested in test_exercises.py.


def test_export_html_embeds_outputs(tmp_path: Path) -> None:
    import nbformat

    from gsfm.notebooks import export_html

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Spectra"), nbformat.v4.new_code_cell("1 + 1")]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)
    ]
    src = tmp_path / "x.ipynb"
    nbformat.write(nb, src)
    page = export_html(src, tmp_path / "html" / "x.html").read_text(encoding="utf-8")
    assert "Spectra" in page and "<pre>2</pre>" in page  # the markdown and the cell's output
    with pytest.raises(FileNotFoundError, match="notebook not found"):
        export_html(tmp_path / "missing.ipynb", tmp_path / "y.html")
