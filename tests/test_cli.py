"""The command-line dispatcher and the runtime helpers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gsfm.cli import COMMANDS, build_parser, main
from gsfm.runtime import project_root, resolve_device, resolve_path


def test_every_registered_command_is_implemented() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert set(subparsers.choices) == set(COMMANDS)


def test_python_dash_m_gsfm_help_lists_the_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gsfm", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in COMMANDS:
        assert name in out


# what a command imports when it runs, never when ``--help`` declares its options
HEAVY = (
    "torch", "torchvision", "matplotlib", "scipy", "statsmodels", "skimage", "tqdm", "papermill",
    "nbconvert", "nbformat", "playwright", "ipywidgets", "IPython", "safetensors",
)  # fmt: skip


def test_building_the_parser_does_not_import_torch() -> None:
    """``python -m gsfm --help`` stays fast (under a second, not the 3-4 s of importing torch):
    commands import their heavy modules when they run, not when their options are declared."""
    code = (
        "import sys; from gsfm.cli import build_parser; build_parser(); print(sorted("
        f"m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_command_exits_with_usage_error() -> None:
    with pytest.raises(SystemExit) as err:
        main(["no-such-command"])
    assert err.value.code == 2


def test_notebooks_command_with_no_match_is_one_clear_error(capsys: pytest.CaptureFixture) -> None:
    assert main(["notebooks", "99_missing", "--out", "build/unused"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no notebook matches") and err.count("\n") == 1


def test_project_root_and_relative_paths(tmp_path: Path) -> None:
    root = project_root(Path(__file__).parent)
    assert (root / "pyproject.toml").is_file() and (root / "gsfm").is_dir()
    assert project_root(tmp_path) == tmp_path.resolve()  # outside the repository
    assert resolve_path("figures", root) == root / "figures"
    assert resolve_path(tmp_path / "x") == tmp_path / "x"


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
