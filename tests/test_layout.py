"""The package's shape: layers, one home per utility, citations that resolve inside the repository."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import gsfm

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(gsfm.__file__).parent

# Layers, bottom first. A module may import from its own layer and the ones below, never above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("gsfm", "gsfm.config", "gsfm.runtime", "gsfm.files", "gsfm.docblocks"),  # root: lazy names
    ("gsfm.spectral", "gsfm.data"),
    ("gsfm.model", "gsfm.losses", "gsfm.metrics"),
    (
        "gsfm.checkpoint",
        "gsfm.weights",
        "gsfm.inference",
        "gsfm.prediction",
        "gsfm.baselines",
        "gsfm.training",
    ),
    # The ablation package spans two layers: its studies, schema, statistics and sentences
    # (numbers and words, no training) sit beside gsfm.analysis so that gsfm.viz can draw them;
    # the rest of it (store, runner, speed, report: runs, files, figures) sits with experiments.
    (
        "gsfm.evaluation",
        "gsfm.agreement",
        "gsfm.analysis",
        "gsfm.viz",
        "gsfm.ablation.studies",
        "gsfm.ablation.schema",
        "gsfm.ablation.paper",
        "gsfm.ablation.stats",
        "gsfm.ablation.text",
        "gsfm.ablation.small_split",
    ),
    ("gsfm.experiments", "gsfm.notebooks", "gsfm.ablation", "gsfm.exercises"),
    ("gsfm.cli", "gsfm.commands", "gsfm.__main__"),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The layer of ``module``: the longest layer prefix that names it or a package above it."""
    best, best_len = None, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                best, best_len = i, len(name)
    if best is None:
        raise AssertionError(f"{module} is in no layer of tests/test_layout.py: add it")
    return best


def gsfm_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ``gsfm`` import in a file, those inside functions included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "gsfm"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out += [(node.lineno, node.module)] if node.module.split(".")[0] == "gsfm" else []
    return out


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    for path in MODULES:
        layer_of(module_name(path))


def test_no_module_imports_from_a_layer_above_it():
    upward = []
    for path in MODULES:
        me = module_name(path)
        for line, target in gsfm_imports(path):
            if target == "gsfm" and me != "gsfm":
                continue  # ``from gsfm import __version__``: the root imports nothing eagerly
            if layer_of(target) > layer_of(me):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


def test_the_layer_check_catches_an_upward_import(tmp_path):
    """The check above can fail: the data layer importing metrics is reported."""
    assert layer_of("gsfm.data.synthetic") < layer_of("gsfm.metrics")
    assert layer_of("gsfm.model.encoders") < layer_of("gsfm.checkpoint")
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from gsfm.metrics import j_measure\n")
    assert gsfm_imports(bad) == [(2, "gsfm.metrics")]


# --- one home per utility -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "home"),
    [
        (r"\bos\.replace\(", "files.py"),  # atomic files and folders
        (r"\btempfile\.mk(s|d)temp\(", "files.py"),
        (r"(?<!`)\btorch\.load\(", "files.py"),  # the one safe loader
        (r"\.savefig\(", "viz/figures.py"),
        (r"^def save_figure\(", "viz/figures.py"),
        (r"^def count_parameters\(", "model/network.py"),
    ],
)
def test_each_utility_lives_in_one_place(pattern, home):
    rx = re.compile(pattern, re.MULTILINE)
    found = {str(p.relative_to(PACKAGE)) for p in MODULES if rx.search(p.read_text("utf-8"))}
    assert found == {home}


def test_gsfm_train_is_the_training_function():
    assert not (PACKAGE / "train.py").exists()
    assert callable(gsfm.train) and gsfm.train.__module__ == "gsfm.training.api"


def test_lazy_names_resolve():
    for name in gsfm.__all__:
        assert getattr(gsfm, name) is not None


def test_no_process_sniffing():
    for path in MODULES:
        assert "/proc" not in path.read_text(encoding="utf-8"), path


def test_notebooks_do_not_branch_on_the_profile_name():
    branch = re.compile(r"\bprofile\s*(==|!=|\bin\b)")
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                assert not branch.search(src), f"{nb.name}: {src[:200]}"


# --- citations ----------------------------------------------------------------------------

MARKDOWN = re.compile(r"[A-Za-z0-9_./-]+\.md\b")  # a Markdown file a text names
# docs/paper_vs_code.md describes the authors' repository and names files of theirs
DESCRIBES_OTHER_REPOS = {"docs/paper_vs_code.md"}
CITATION = re.compile(r"docs/([a-z_]+\.md)`{0,2},? §\s?(\d+(?:\.\d+)?)")


def _text_files() -> list[Path]:
    files = [ROOT / "README.md", *MODULES, *sorted((ROOT / "docs").glob("*.md"))]
    for folder in ("tests", "benchmarks", "notebooks"):
        files += sorted((ROOT / folder).rglob("*.py")) + sorted((ROOT / folder).glob("*.ipynb"))
    return [f for f in files if f.resolve() != Path(__file__).resolve()]


def _sections(doc: Path) -> set[str]:
    """Section numbers of a markdown file: ``## 4. Training`` → "4", ``### 1.5 Decoder`` → "1.5"."""
    heads = re.findall(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", doc.read_text(encoding="utf-8"), re.M)
    return set(heads)


def test_no_citation_points_outside_the_repository():
    """Every Markdown file that code, notebooks, tests or docs name is a file of this
    repository (a clone has nothing beside it to cite)."""
    missing = []
    for f in _text_files():
        rel = str(f.relative_to(ROOT))
        if rel in DESCRIBES_OTHER_REPOS:
            continue
        for name in set(MARKDOWN.findall(f.read_text(encoding="utf-8"))):
            path = name.lstrip("./")
            if not ((ROOT / path).is_file() or (ROOT / "docs" / path).is_file()):
                missing.append(f"{rel}: {name}")
    assert not missing, f"cite the project's own docs/, not files outside it: {missing}"


def test_every_docs_citation_names_an_existing_section():
    cited = 0
    for f in _text_files():
        for doc_name, section in CITATION.findall(f.read_text(encoding="utf-8")):
            doc = ROOT / "docs" / doc_name
            assert doc.is_file(), f"{f.relative_to(ROOT)} cites missing docs/{doc_name}"
            assert section in _sections(doc), f"{f.relative_to(ROOT)}: docs/{doc_name} §{section}"
            cited += 1
    assert cited >= 20  # the code cites these documents throughout
