"""The project's own files: dependency lists agree, CI runs the README's test command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from gsfm.runtime import project_root

ROOT = project_root(Path(__file__).parent)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = _pyproject()["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {d for d in pip_section if not d.startswith("-")}
    assert listed == wanted, (
        f"only in environment.yml: {sorted(listed - wanted)}; "
        f"only in pyproject.toml: {sorted(wanted - listed)}"
    )
    assert "python=3.11" in env["dependencies"]


def test_dependencies_are_version_ranges() -> None:
    project = _pyproject()["project"]
    for dep in project["dependencies"] + project["optional-dependencies"]["dev"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+>=[0-9][0-9.]*", dep), dep


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    assert first_block, "README must start with a code block holding the two commands"
    commands = [ln.split("#")[0].strip() for ln in first_block.group(1).splitlines()]
    assert [c for c in commands if c] == ["make figures", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_commands = [
        ln.strip()
        for ln in ci.splitlines()
        if ln.strip() and not ln.lstrip().startswith(("#", "set ", "cd "))
    ]
    assert ci_commands == ["make test"]


def test_makefile_installs_into_a_venv_with_the_dev_extra() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-m venv" in makefile and 'pip install -e ".[dev]"' in makefile
    for target in ("test:", "figures:"):
        assert re.search(rf"^{target} install\b", makefile, re.M), target
    # the browser test's Chromium: installed by `make test` only as root, never fatal
    assert re.search(r"^test: install chromium$", makefile, re.M)
    assert '[ "$$(id -u)" = 0 ]' in makefile and "apt-get install -y -q chromium" in makefile


def test_code_is_ruff_clean() -> None:
    """Lint and format are part of the test run, so CI enforces them."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is a dev dependency; install with pip install -e '.[dev]'"
    paths = ["gsfm", "tests", "benchmarks"]
    lint = subprocess.run([ruff, "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-2000:]
    fmt = subprocess.run(
        [ruff, "format", "--check", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout[-2000:]


def test_no_source_file_is_git_ignored() -> None:
    """A loose ignore pattern (``data/``) once kept ``gsfm/data`` out of every clean clone."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    sources = [
        str(p.relative_to(ROOT))
        for folder in ("gsfm", "tests", "benchmarks", "notebooks", "scripts")
        for p in (ROOT / folder).rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".ipynb", ".tsv", ".sh"}
        and "__pycache__" not in p.parts
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *sources],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == [], f"git ignores project files: {ignored}"


def test_readme_has_no_unfilled_placeholders() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"PLACEHOLDER|TODO|TBD", text), "README has an unfilled placeholder"


def test_make_test_reruns_the_numerics_tests_under_a_second_capability() -> None:
    """`make test` (what .ci/run runs) has a second pass under ATEN_CPU_CAPABILITY=default,
    and the `numerics` marker selects the learned-number tests, so that pass is not empty."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.split(r"\ntest: install[^\n]*\n", makefile, maxsplit=1)[1].split("\n\n", 1)[0]
    assert re.search(r"ATEN_CPU_CAPABILITY=default \S+ -m pytest -q -m numerics", target), target
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "numerics", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test_model_overfit.py::test_smoke_model_overfits_a_tiny_clip" in done.stdout
    assert "test_resume.py::" in done.stdout
