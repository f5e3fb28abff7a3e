"""Execute the project's notebooks with papermill (``make figures``, the notebook tests).

Every notebook has one cell tagged ``parameters``; :func:`execute_notebook` checks the
parameters it injects against :func:`papermill.inspect_notebook`, so a renamed parameter is
an error rather than a silently ignored value. Notebooks run with the project root as their
working directory, so relative paths in parameters mean the same thing everywhere.

:func:`execute_all` writes the executed copies only into a new or empty folder, or one that
holds nothing but earlier executed copies (notebooks with papermill's metadata) and Jupyter's
``.ipynb_checkpoints``; never into the notebooks' own folder (:func:`check_output_folder`).
With ``html_dir`` it also writes each executed copy as a static HTML page (:func:`export_html`),
so that the notebooks can be read with their outputs without running anything.

The committed figures under ``figures/`` come from the :data:`COMMITTED_PROFILE`. Run under
another profile, :func:`execute_all` sends a notebook's figures to ``figures/<profile>/``
(:func:`profile_figures_dir`; ``figures/smoke/`` is git-ignored) unless the caller names a
``figures_dir``, so a smoke run never overwrites, or mixes into, the committed figures. A
notebook that fails raises :class:`NotebookFailed`: one line naming the cell, the error and
the executed copy that holds the traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
import papermill.exceptions
from nbconvert import HTMLExporter

from gsfm.files import atomic_write_text
from gsfm.runtime import project_root

__all__ = [
    "COMMITTED_PROFILE",
    "NotebookFailed",
    "NotebookRun",
    "check_output_folder",
    "execute_notebook",
    "export_html",
    "list_notebooks",
    "notebook_parameters",
    "profile_figures_dir",
]

#: the profile whose figures are committed under figures/
COMMITTED_PROFILE = "cpu"


class NotebookFailed(RuntimeError):
    """A notebook's cell raised; the message is one line naming the executed copy."""


def profile_figures_dir(profile: str, base: str = "figures") -> str:
    """Where a notebook run under ``profile`` writes its figures by default: ``base`` for the
    :data:`COMMITTED_PROFILE`, ``base/<profile>`` for any other (as ``figures/gpu``)."""
    return base if profile == COMMITTED_PROFILE else f"{base}/{profile}"


@dataclass(frozen=True)
class NotebookRun:
    """What one execution produced."""

    source: Path
    output: Path
    parameters: dict[str, Any]
    seconds: float


def list_notebooks(folder: str | Path | None = None) -> list[Path]:
    """The numbered notebooks in ``folder`` (default: ``<project>/notebooks``), in order."""
    folder = Path(folder) if folder is not None else project_root() / "notebooks"
    if not folder.is_dir():
        raise FileNotFoundError(f"notebook folder not found: {folder}")
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def notebook_parameters(path: str | Path) -> dict[str, Any]:
    """The parameters declared in the notebook's ``parameters`` cell, with their defaults."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook not found: {path}")
    info = papermill.inspect_notebook(str(path))
    return {name: spec.get("default") for name, spec in info.items()}


def execute_notebook(
    path: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    cwd: str | Path | None = None,
    kernel_name: str | None = None,
    cell_timeout: int | None = 600,
    progress: bool = False,
) -> NotebookRun:
    """Run one notebook with papermill and write the executed copy to ``output``.

    Raises ``ValueError`` naming the notebook if a parameter is not declared in its
    ``parameters`` cell. papermill writes the output notebook also when a cell fails, so the
    failing cell's traceback can be read there: :class:`NotebookFailed` names that copy.
    ``progress``: papermill's bar, one step per cell.
    """
    path = Path(path)
    params = dict(parameters or {})
    declared = notebook_parameters(path)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ValueError(
            f"{path}: parameter(s) {unknown} are not declared in its 'parameters' cell "
            f"(declared: {sorted(declared)})"
        )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path),
            str(output),
            parameters=params,
            cwd=str(cwd or project_root(path.parent)),
            kernel_name=kernel_name,
            execution_timeout=cell_timeout,
            progress_bar=progress,
            log_output=False,
        )
    except papermill.exceptions.PapermillExecutionError as err:
        evalue = (str(err.evalue).strip().splitlines() or [""])[0][:200]
        raise NotebookFailed(
            f"{path.name} failed in cell [{err.exec_count}] ({err.ename}: {evalue}); the "
            f"executed copy with the traceback: {output}"
        ) from None
    return NotebookRun(path, output, params, time.perf_counter() - start)


def export_html(notebook: str | Path, html: str | Path) -> Path:
    """Write an executed notebook as one self-contained HTML page (figures embedded)."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"notebook not found: {notebook}")
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    return atomic_write_text(html, body)


def _is_executed_copy(path: Path) -> bool:
    """Whether ``path`` is a notebook that papermill executed (its metadata has "papermill")."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(nb, dict) and "papermill" in (nb.get("metadata") or {})


def check_output_folder(out: str | Path, source: str | Path | None = None) -> None:
    """Raise one ``ValueError`` unless executed copies may be written into ``out``.

    ``out`` may be missing, empty, or hold only earlier executed copies and
    ``.ipynb_checkpoints``; it may not be the notebooks' own folder ``source`` (default
    ``<project>/notebooks``), whose notebooks the copies would overwrite.
    """
    out = Path(out)
    source = Path(source) if source is not None else project_root() / "notebooks"
    if out.exists() and not out.is_dir():
        raise ValueError(f"notebook output folder {out} exists and is not a folder")
    if source.exists() and out.resolve() == source.resolve():
        raise ValueError(
            f"notebook output folder {out} is the notebooks' own folder: the executed copies "
            "would overwrite the notebooks; choose another --out"
        )
    if not out.is_dir():
        return
    foreign = sorted(
        c.name + ("/" if c.is_dir() else "")
        for c in out.iterdir()
        if c.name != ".ipynb_checkpoints"
        and not (c.is_file() and c.suffix == ".ipynb" and _is_executed_copy(c))
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ValueError(
            f"notebook output folder {out} holds {len(foreign)} entr"
            f"{'y' if len(foreign) == 1 else 'ies'} that {'is' if len(foreign) == 1 else 'are'} "
            f"not executed notebooks ({shown}); executed copies go into a new or empty folder, "
            "or one holding only earlier executed copies"
        )


# what every executed notebook gets unless the caller says otherwise: nobody is watching
BATCH_PARAMETERS: dict[str, Any] = {"interactive": False}


def execute_all(
    out_dir: str | Path = "build/notebooks",
    names: Iterable[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    cell_timeout: int | None = None,
    html_dir: str | Path | None = None,
    progress: bool = True,
) -> list[NotebookRun]:
    """Execute every notebook (or those whose file name starts with one of ``names``).

    Notebooks that declare them get :data:`BATCH_PARAMETERS` (``interactive=False``: static
    figures instead of widgets). The copies go to ``out_dir`` (relative to the project root), which
    :func:`check_output_folder` must accept; an earlier copy of the same notebook is replaced.
    A ``profile`` other than :data:`COMMITTED_PROFILE` without a ``figures_dir`` writes the
    figures to :func:`profile_figures_dir`. ``progress``: a bar per notebook, one step per cell.
    """
    root = project_root()
    out = Path(out_dir)
    out = out if out.is_absolute() else root / out
    check_output_folder(out, root / "notebooks")
    runs = []
    wanted = tuple(names or ())
    for nb in list_notebooks(root / "notebooks"):
        if wanted and not nb.name.startswith(wanted):
            continue
        declared = notebook_parameters(nb)
        given = {**BATCH_PARAMETERS, **(parameters or {})}
        profile = given.get("profile")
        if profile not in (None, COMMITTED_PROFILE) and "figures_dir" not in given:
            given["figures_dir"] = profile_figures_dir(profile)
        params = {k: v for k, v in given.items() if k in declared}
        print(f"executing {nb.name} {params or ''}", flush=True)
        run = execute_notebook(
            nb, out / nb.name, params, cwd=root, cell_timeout=cell_timeout, progress=progress
        )
        print(f"  done in {run.seconds:.1f} s -> {run.output}", flush=True)
        if html_dir is not None:
            html = Path(html_dir)
            html = html if html.is_absolute() else root / html
            print(f"  html -> {export_html(run.output, html / (nb.stem + '.html'))}", flush=True)
        runs.append(run)
    if wanted and not runs:
        raise FileNotFoundError(f"no notebook matches {list(wanted)} in {root / 'notebooks'}")
    return runs
