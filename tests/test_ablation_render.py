"""Rows of two renderings of a split never share a study table: the runner refuses before it
trains (the readers refuse such a table, so a mixed write would break every report)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from gsfm.ablation import runner
from gsfm.ablation.store import check_one_render

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "results" / "ablations" / "components.csv"


@pytest.fixture
def results(tmp_path: Path) -> tuple[Path, str]:
    """A results folder holding the committed components rows, and their one val digest."""
    folder = tmp_path / "results"
    folder.mkdir()
    shutil.copy(COMMITTED, folder / "components.csv")
    digests = set(pd.read_csv(COMMITTED, dtype=str).query("split == 'val'")["data_hash"])
    assert len(digests) == 1
    return folder, digests.pop()


def test_check_one_render_refuses_another_rendering(results: tuple[Path, str]) -> None:
    folder, digest = results
    check_one_render(folder, "cpu", {("components", "val"): digest})  # the same render: fine
    check_one_render(folder, "smoke", {("components", "val"): "0" * 16})  # no smoke rows there
    check_one_render(folder, "cpu", {("sigma", "val"): "0" * 16})  # no sigma table there
    with pytest.raises(ValueError, match=r"components\.csv holds cpu-profile rows of split 'val'"):
        check_one_render(folder, "cpu", {("components", "val"): "0" * 16})


def test_run_ablation_refuses_before_training(
    results: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = results
    before = (folder / "components.csv").read_bytes()
    monkeypatch.setattr(runner, "_render_digests", lambda *a: {("components", "val"): "0" * 16})

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained although the rows could not be written")

    monkeypatch.setattr(runner, "_train", no_training)
    monkeypatch.setattr(runner, "_train_and_score", no_training)
    with pytest.raises(ValueError, match="rows of two renderings are never compared"):
        runner.run_ablation(
            ["components"], [7], profile="cpu", device="cpu", variants=["GSFM"],
            results_dir=folder, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data",
        )  # fmt: skip
    assert (folder / "components.csv").read_bytes() == before
    assert not (tmp_path / "runs").exists()
