"""Commands that write, lock and read results never lose or mix a user's work silently.

* ``notebooks --profile smoke`` writes its figures into ``figures/smoke/`` (git-ignored), never
  over the committed ``cpu`` figures; ``--results`` points notebooks 05/06 at another folder;
  a failed notebook is one short line with the executed copy's path; progress unless
  ``--quiet``.
* ``train`` (and ``--resume``) hold the run folder's lock: a second process is refused with
  the right reason.
* A damaged results table (truncated, wrong columns or types) is refused on read by
  ``ablate`` (also ``--dry-run``) and the notebooks' readers, one line naming the file, and
  never rewritten (a hypothesis fuzz test throws random bytes and truncations at it).
* Re-running ``eval`` never deletes files the user added to a ``--pred`` folder.
* Bad ``--device`` / ``--threads`` / ``--seed(s)`` values are refused at parse time, before
  anything is written; a full disk while saving a checkpoint says so and keeps the previous one.
"""

from __future__ import annotations

import errno
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _cli import one_error, tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gsfm.cli import main
from gsfm.runtime import project_root

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = project_root(Path(__file__).parent)
COMMITTED = ROOT / "results" / "ablations"
SMALL = ["--limit", "1", "--height", "32", "--width", "48", "--quiet"]
VIDEO = "val_000_lookalike"


def _parse_error(capsys, argv: list[str], *needles: str) -> str:
    """``argv`` is refused by the parser: exit status 2, the option named, no traceback."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error:" in last, err
    for needle in needles:
        assert needle in last, (needle, err)
    return last


# --- item 1: notebook figures of another profile go to their own folder --------------------


@pytest.fixture
def recorded(monkeypatch):
    """Replace the notebook execution by a recorder of what the runner would run."""
    import gsfm.notebooks as nbmod

    calls: list[dict] = []

    def fake(path, output, parameters=None, **kwargs):
        calls.append({"name": Path(path).name, "params": dict(parameters or {}), **kwargs})
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        return nbmod.NotebookRun(Path(path), Path(output), dict(parameters or {}), 0.0)

    monkeypatch.setattr(nbmod, "execute_notebook", fake)
    return calls


def test_smoke_notebook_figures_do_not_go_into_the_committed_folder(recorded, tmp_path):
    assert main(["notebooks", "01", "--profile", "smoke", "--out", str(tmp_path / "o")]) == 0
    (call,) = recorded
    assert call["params"]["profile"] == "smoke"
    assert call["params"]["figures_dir"] == "figures/smoke"


@pytest.mark.parametrize("profile", ["paper", "gpu"])
def test_other_profiles_get_their_own_figures_folder(recorded, tmp_path, profile):
    assert main(["notebooks", "01", "04", "--profile", profile, "--out", str(tmp_path)]) == 0
    assert [c["params"]["figures_dir"] for c in recorded] == [f"figures/{profile}"] * 2


def test_committed_profile_and_an_explicit_figures_dir_are_kept(recorded, tmp_path):
    assert main(["notebooks", "01", "--out", str(tmp_path / "a")]) == 0
    assert main(["notebooks", "01", "--profile", "cpu", "--out", str(tmp_path / "b")]) == 0
    mine = str(tmp_path / "figs")
    argv = ["notebooks", "01", "--profile", "smoke", "--figures-dir", mine]
    assert main([*argv, "--out", str(tmp_path / "c")]) == 0
    got = [c["params"].get("figures_dir") for c in recorded]
    assert got == [None, None, mine]  # None: the notebook's own default, figures/


def test_profile_figures_subfolder_is_not_nested_twice(tmp_path):
    """Notebook 04 adds the gpu profile's subfolder itself: the runner's figures/gpu stays."""
    from gsfm.runtime import figures_dir

    assert figures_dir(tmp_path / "figures" / "gpu", "gpu") == tmp_path / "figures" / "gpu"
    assert figures_dir(tmp_path / "figures", "gpu") == tmp_path / "figures" / "gpu"
    assert figures_dir(tmp_path / "figures", "") == tmp_path / "figures"


def test_smoke_figures_folder_is_git_ignored():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "figures/smoke/spectra.png"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0
    kept = subprocess.run(["git", "check-ignore", "-q", "figures/spectra.png"], cwd=ROOT)
    assert kept.returncode == 1


def test_notebooks_results_option_reaches_notebooks_05_and_06(recorded, tmp_path):
    results = tmp_path / "my-results"
    shutil.copytree(COMMITTED, results)
    out = str(tmp_path / "o")
    assert main(["notebooks", "05", "06", "--results", str(results), "--out", out]) == 0
    assert [c["params"]["results_dir"] for c in recorded] == [str(results)] * 2
    recorded.clear()
    assert main(["notebooks", "01", "--results", str(results), "--out", str(tmp_path / "x")]) == 0
    assert "results_dir" not in recorded[0]["params"]  # notebook 01 declares no results_dir


def test_notebooks_results_option_refuses_a_missing_folder(recorded, tmp_path, capsys):
    missing = tmp_path / "nothing-here"
    assert main(["notebooks", "05", "--results", str(missing), "--out", str(tmp_path)]) == 2
    one_error(capsys, str(missing))
    assert not recorded


def test_notebooks_progress_is_on_unless_quiet(recorded, tmp_path):
    assert main(["notebooks", "01", "--out", str(tmp_path / "a")]) == 0
    assert main(["notebooks", "01", "--quiet", "--out", str(tmp_path / "b")]) == 0
    assert [c["progress"] for c in recorded] == [True, False]


@pytest.mark.notebook
@pytest.mark.timeout(600)
def test_failed_notebook_is_one_line_with_the_executed_copy(tmp_path, capsys):
    """A notebook that fails (here: its figures folder is a file) says where its traceback is."""
    blocker = tmp_path / "figures-is-a-file"
    blocker.write_text("not a folder\n")
    out = tmp_path / "executed"
    argv = ["notebooks", "01", "--profile", "smoke", "--quiet", "--figures-dir", str(blocker)]
    assert main([*argv, "--out", str(out)]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    copy = out / "01_spectral_filtering_on_images.ipynb"
    assert str(copy) in err[0] and copy.is_file()
    assert "FileExistsError" in err[0] or "NotADirectoryError" in err[0]


# --- item 2: train holds its run folder's lock ---------------------------------------------


def _hold_lock(run: Path):
    """Hold the run folder's lock as another process would (a separate open file)."""
    import fcntl

    lock = run.parent / f".{run.name}.lock"
    handle = lock.open("a")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle


TRAIN = ["--profile", "smoke", "--iterations", "2", "--device", "cpu", "--no-progress"]


def test_train_refuses_a_run_folder_another_process_trains(tmp_path, capsys):
    run = tmp_path / "run"
    handle = _hold_lock(run)
    try:
        assert main(["train", "--out", str(run), *TRAIN]) == 2
        one_error(capsys, "another gsfm process is training in", str(run))
        assert not run.exists()
    finally:
        handle.close()


def test_train_resume_refuses_a_run_folder_another_process_trains(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *TRAIN]) == 0
    before = tree(run)
    capsys.readouterr()
    handle = _hold_lock(run)
    try:
        assert main(["train", "--out", str(run), "--resume", "--no-progress"]) == 2
        one_error(capsys, "another gsfm process is training in", str(run))
    finally:
        handle.close()
    assert tree(run) == before
    assert main(["train", "--out", str(run), "--resume", "--no-progress"]) == 0  # lock released
    assert pd.read_csv(run / "log.csv")["iteration"].is_unique


def test_two_train_processes_into_one_folder(tmp_path):
    """Two real processes: the second is refused while the first holds the folder."""
    import os
    import sys

    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time, fcntl, pathlib; "
            f"h = open({str(run.parent / ('.' + run.name + '.lock'))!r}, 'a'); "
            "fcntl.flock(h.fileno(), fcntl.LOCK_EX); print('held', flush=True); "
            "sys.stdin.readline()"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        second = subprocess.run(
            [sys.executable, "-m", "gsfm", "train", "--out", str(run), *TRAIN],
            capture_output=True, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
    finally:
        holder.communicate("\n", timeout=60)
    assert second.returncode == 2, second.stderr
    assert "another gsfm process is training in" in second.stderr
    assert "Traceback" not in second.stderr and not run.exists()


# --- item 3: a damaged results table is refused on read, never rewritten --------------------


def _truncated_copy(tmp_path: Path, name: str = "sigma.csv") -> Path:
    folder = tmp_path / "results"
    shutil.copytree(COMMITTED, folder)
    path = folder / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_truncated_results_refused_by_ablate_dry_run(tmp_path, capsys):
    path = _truncated_copy(tmp_path)
    before = path.read_bytes()
    argv = ["ablate", "--study", "sigma", "--seeds", "0", "--dry-run", "--quiet"]
    assert main([*argv, "--results", str(path.parent)]) == 2
    one_error(capsys, str(path))
    assert path.read_bytes() == before


def test_truncated_results_refused_by_ablate(tmp_path, capsys):
    path = _truncated_copy(tmp_path)
    before = tree(path.parent)
    argv = ["ablate", "--study", "sigma", "--seeds", "0", "--quiet", "--time-limit", "0"]
    argv += ["--runs-dir", str(tmp_path / "runs"), "--data-dir", str(tmp_path / "data")]
    assert main([*argv, "--results", str(path.parent)]) == 2
    one_error(capsys, str(path))
    assert tree(path.parent) == before
    assert not (tmp_path / "runs").exists()


def test_truncated_results_refused_by_the_notebook_readers(tmp_path):
    from gsfm.ablation.report import study_report
    from gsfm.ablation.schema import check_table
    from gsfm.ablation.store import load_study

    path = _truncated_copy(tmp_path)
    for read in (
        lambda: load_study(path.parent, "sigma", "cpu"),
        lambda: check_table(path),
        lambda: study_report("sigma", "cpu", results_dir=path.parent, figures_dir=None),
    ):
        with pytest.raises(ValueError, match=str(path)):
            read()
    videos = _truncated_copy(tmp_path / "v", "sigma_videos.csv")
    with pytest.raises(ValueError, match=str(videos)):
        load_study(videos.parent, "sigma", "cpu")


def test_results_row_with_a_wrong_type_is_refused(tmp_path):
    from gsfm.ablation.schema import check_table

    folder = tmp_path / "results"
    shutil.copytree(COMMITTED, folder)
    table = pd.read_csv(folder / "sigma.csv", dtype=str, keep_default_na=False)
    table.loc[3, "JF"] = "lots"
    table.to_csv(folder / "sigma.csv", index=False)
    with pytest.raises(ValueError, match=r"sigma\.csv.*JF"):
        check_table(folder / "sigma.csv")
    table.loc[3, "JF"] = "47.1"
    table.loc[2, "seed"] = ""
    table.to_csv(folder / "sigma.csv", index=False)
    with pytest.raises(ValueError, match=r"sigma\.csv.*seed"):
        check_table(folder / "sigma.csv")


def test_committed_results_tables_pass_the_check():
    from gsfm.ablation.schema import check_table
    from gsfm.ablation.studies import STUDIES

    for study in STUDIES:
        assert len(check_table(COMMITTED / f"{study}.csv")) > 0
        assert len(check_table(COMMITTED / f"{study}_videos.csv", "videos")) > 0


def test_ablate_dry_run_with_nothing_to_do_is_a_sentence(capsys):
    argv = ["ablate", "--study", "sigma", "--seeds", "0", "--dry-run", "--quiet"]
    assert main([*argv, "--results", str(COMMITTED)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("nothing to do") and out.endswith("."), out
    assert str(COMMITTED) in out


_SIGMA = (COMMITTED / "sigma.csv").read_bytes()


def _damaged(draw) -> bytes:
    kind = draw(st.sampled_from(["bytes", "truncate", "drop_column", "bad_cell", "extra_cell"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "truncate":
        return _SIGMA[: draw(st.integers(0, len(_SIGMA) - 1))]
    lines = _SIGMA.decode().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    if kind == "drop_column":
        col = draw(st.sampled_from(["study", "variant", "seed", "split", "JF", "overrides"]))
        table = pd.read_csv(COMMITTED / "sigma.csv", dtype=str, keep_default_na=False)
        return table.drop(columns=[col]).to_csv(index=False).encode()
    row = draw(st.integers(1, len(lines) - 1))
    if kind == "bad_cell":
        table = pd.read_csv(COMMITTED / "sigma.csv", dtype=str, keep_default_na=False)
        col = draw(st.sampled_from(["seed", "JF", "J", "F", "eval_fps", "overrides", "variant"]))
        table.loc[row - 1, col] = draw(st.sampled_from(["", "x", "1.5", "{", "nan"]))
        return table.to_csv(index=False).encode()
    lines[row] = lines[row].rstrip("\n") + ",surplus\n"
    assert len(header) > 1
    return "".join(lines).encode()


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_fuzz_results_table_reader_at_the_cli(data, tmp_path_factory, capsys):
    """Random bytes, truncations, dropped columns, bad cells, surplus cells: ``ablate
    --dry-run`` either plans (the table is sound) or says one line naming the file (exit 2),
    and the file is never changed."""
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "sigma.csv"
    content = _damaged(data.draw)
    path.write_bytes(content)
    capsys.readouterr()
    rc = main(["ablate", "--study", "sigma", "--seeds", "0", "--dry-run", "--quiet",
               "--results", str(folder)])  # fmt: skip
    err = capsys.readouterr().err
    assert path.read_bytes() == content
    assert sorted(p.name for p in folder.iterdir()) == ["sigma.csv"]
    if rc == 0:
        from gsfm.ablation.schema import check_table

        table = check_table(path)  # what was accepted is a complete table of typed cells
        assert table["seed"].astype(int).ge(0).all() and table["JF"].astype(float).notna().all()
    else:
        assert rc == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0], err


# --- item 7: eval never deletes what the user added to its --pred folder --------------------


@pytest.fixture(scope="module")
def gt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gt") / "val"
    assert main(["synth", "--out", str(out), *SMALL]) == 0
    return out


def test_predict_rerun_keeps_files_the_user_added_to_out(gt, tmp_path, capsys):
    pred = tmp_path / "p"
    base = ["predict", "--data", str(gt), "--quiet", "--out", str(pred)]
    assert main([*base, "--baseline", "copy-first"]) == 0
    (pred / "my_notes.txt").write_text("keep me\n")
    (pred / "plots").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(pred / "plots" / "a.png")
    before = tree(pred)
    capsys.readouterr()
    assert main([*base, "--baseline", "empty"]) == 2
    one_error(capsys, str(pred), "my_notes.txt", "plots/")
    assert tree(pred) == before
    # without the user's files the folder is gsfm's own again and is replaced
    (pred / "my_notes.txt").unlink()
    shutil.rmtree(pred / "plots")
    assert main([*base, "--baseline", "empty"]) == 0
    assert not np.asarray(Image.open(pred / VIDEO / "00005.png")).any()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    from gsfm.checkpoint import save_checkpoint
    from gsfm.model import build_model

    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("run")
    return save_checkpoint(run / "checkpoints" / "final.pt", build_model("stcn", "smoke"))


def test_predict_checkpoint_rerun_keeps_user_files(gt, checkpoint, tmp_path, capsys):
    pred = tmp_path / "p"
    argv = ["predict", "--checkpoint", str(checkpoint), "--data", str(gt), "--device", "cpu"]
    assert main([*argv, "--out", str(pred), "--quiet"]) == 0
    (pred / "my_notes.txt").write_text("keep me\n")
    capsys.readouterr()
    assert main([*argv, "--out", str(pred), "--quiet"]) == 2
    one_error(capsys, "my_notes.txt")
    assert (pred / "my_notes.txt").read_text() == "keep me\n"


def test_predict_shows_progress_and_score_prints_jf_times_100(gt, checkpoint, tmp_path, capsys):
    pred = tmp_path / "p"
    argv = ["predict", "--checkpoint", str(checkpoint), "--data", str(gt), "--device", "cpu"]
    assert main([*argv, "--out", str(pred)]) == 0
    assert "videos" in capsys.readouterr().err  # tqdm's bar, one step per video
    assert main([*argv, "--out", str(pred), "--quiet"]) == 0
    assert "videos" not in capsys.readouterr().err
    assert main(["score", "--gt", str(gt), "--pred", str(pred), "--quiet"]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(pred / "results.csv")
    shown = re.search(r"Global \(object-weighted, x100\): J&F-Mean (\d+\.\d\d)", out)
    assert shown, out
    assert float(shown.group(1)) == pytest.approx(100 * table["J&F-Mean"].mean(), abs=0.006)


# --- parse-time validation: nothing is written before a bad value is refused -----------------


@pytest.mark.parametrize("command", ["train", "predict", "eval", "ablate", "notebooks"])
def test_unknown_device_is_refused_at_parse_time(command, tmp_path, capsys):
    extra = {
        "train": ["--out", str(tmp_path / "r")],
        "predict": ["--data", str(tmp_path), "--out", str(tmp_path / "p")],
        "eval": ["--gt", str(tmp_path)],
    }
    _parse_error(capsys, [command, "--device", "tpu", *extra.get(command, [])], "--device", "tpu")
    assert sorted(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["-1", "0", "two"])
def test_ablate_threads_must_be_positive(value, tmp_path, capsys):
    argv = ["ablate", "--threads", value, "--dry-run", "--results", str(tmp_path / "r")]
    _parse_error(capsys, argv, "--threads")
    assert not (tmp_path / "r").exists()


def test_ablate_negative_seed_leaves_no_run_folder(tmp_path, capsys):
    argv = ["ablate", "--study", "sigma", "--seeds", "-1", "--max-variants", "1"]
    argv += ["--runs-dir", str(tmp_path / "runs"), "--results", str(tmp_path / "res")]
    _parse_error(capsys, argv, "--seeds")
    assert sorted(tmp_path.iterdir()) == []


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999", "1.5"])
def test_train_bad_seed_is_refused_before_config_json(seed, tmp_path, capsys):
    run = tmp_path / "run"
    _parse_error(capsys, ["train", "--out", str(run), "--seed", seed, *TRAIN], "--seed")
    assert not run.exists()


def test_device_values_that_are_fine_still_parse():
    from gsfm.cli import build_parser

    parser = build_parser()
    for dev in ("auto", "cpu", "cuda", "cuda:1"):
        assert parser.parse_args(["ablate", "--device", dev]).device == dev
    assert parser.parse_args(["train", "--out", "x", "--seed", "4294967295"]).seed == 4294967295


def test_full_disk_while_saving_a_checkpoint(tmp_path, capsys, monkeypatch):
    """The first checkpoint (iteration 2) is written; the disk is full for the next one."""
    run = tmp_path / "run"
    latest = run / "checkpoints" / "latest.pt"
    real_save, saved = torch.save, []

    def full_after_one(obj, f, *args, **kwargs):
        if not saved:
            real_save(obj, f, *args, **kwargs)
            saved.append(True)
            return None
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_after_one)
    argv = ["train", "--out", str(run), "--profile", "smoke", "--iterations", "4"]
    argv += ["--set", "checkpoint_every=2", "--device", "cpu", "--no-progress"]
    assert main(argv) == 2
    err = one_error(capsys, "disk", str(run / "checkpoints"))
    assert "full" in err and "ENOSPC" in err
    state = torch.load(latest, weights_only=True)  # the previous checkpoint is intact
    assert state["iteration"] == 2
    assert not [p.name for p in latest.parent.iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(torch, "save", real_save)
    assert main([*argv[:-1], "--no-progress"]) == 2  # a used folder: --resume continues it
    assert main(["train", "--out", str(run), "--resume", "--no-progress"]) == 0
    assert torch.load(run / "checkpoints" / "final.pt", weights_only=True)["iteration"] == 4
