"""Generated blocks in the docs: the marker helpers and the ablation tables of docs/results.md."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from gsfm.ablation import docs_tables as D
from gsfm.ablation.designs import comparison_status, folder_list, planning_table
from gsfm.analysis.wording import signed
from gsfm.docblocks import read_block, replace_block, rewrite_block

ROOT = Path(__file__).resolve().parents[1]
B, E = "<!-- x: begin -->", "<!-- /x -->"


def test_replace_block_keeps_what_is_around_and_refuses_bad_markers() -> None:
    text = f"head\n{B}\nold\n{E}\ntail\n"
    assert replace_block(text, B, E, "new\n", "page.txt") == f"head\n{B}\nnew\n{E}\ntail\n"
    assert read_block(text, B, E, "page.txt") == "old"
    for bad in ("no markers", f"{E}\n{B}", f"{B}\n{B}\n{E}"):
        with pytest.raises(ValueError, match=r"page\.txt lacks the markers"):
            replace_block(bad, B, E, "new", "page.txt")


def test_rewrite_block_leaves_the_file_alone_on_bad_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(f"a\n{B}\nold\n{E}\n", encoding="utf-8")
    assert rewrite_block(page, B, E, "new") is True
    assert rewrite_block(page, B, E, "new") is False  # unchanged: nothing written
    assert page.read_text(encoding="utf-8") == f"a\n{B}\nnew\n{E}\n"
    page.write_text("no block\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks the markers"):
        rewrite_block(page, B, E, "new")
    assert page.read_text(encoding="utf-8") == "no block\n"
    assert [p.name for p in tmp_path.iterdir()] == ["page.txt"]  # no temporary file left


def _diffs() -> pd.DataFrame:
    base = {
        "study": "components", "split": "val", "n_seeds": 4, "p_holm": 0.0123, "mde": 5.04,
        "seeds_for_mde_2": math.nan, "seeds_for_half_width_2": 170.0,
    }  # fmt: skip
    return pd.DataFrame(
        [
            {**base, "variant": "GSFM", "baseline": "STCN", "estimate": 9.42,
             "est_low": 4.84, "est_high": 13.99, "verdict": "confirmed", "var_seed": 3.1},
            {**base, "variant": "GSFM", "baseline": "+LFM+HFM+boundary", "estimate": -2.13,
             "est_low": -4.62, "est_high": 0.35, "verdict": "unresolved", "var_seed": 0.0},
            {**base, "split": "val-240x432", "variant": "GSFM", "baseline": "STCN",
             "estimate": 1.0, "est_low": 0.0, "est_high": 2.0, "verdict": "confirmed",
             "var_seed": 0.0},
        ]
    )  # fmt: skip


def test_study_markdown_renders_one_row_per_comparison_of_the_split() -> None:
    lines = D.study_markdown(_diffs(), "components").splitlines()
    assert len(lines) == 6  # header, rule, two comparisons on val, a blank line, the note
    assert lines[2] == (
        "| GSFM − STCN | 4 | +9.4 [+4.8, +14.0] | 0.01 | 5.0 | — | 170 | confirmed | +1.2 |"
    )
    assert lines[3].endswith("| unresolved | 0 (one network) |")
    assert "−2.1 [−4.6, +0.3]† |" in lines[3]  # its seed part came out 0: marked, and noted
    assert lines[5].startswith("† The seed part of the variance came out 0")
    unmarked = D.study_markdown(_diffs().assign(var_seed=1.0), "components").splitlines()
    assert len(unmarked) == 4 and "†" not in "\n".join(unmarked)
    with pytest.raises(ValueError, match="no 'sigma' comparisons"):
        D.study_markdown(_diffs(), "sigma")


PILOT = {k: [ROOT / f for f in folder_list(v)] for k, v in D.PILOT_FOLDERS.items()}


def _write(figures: Path, decisive: bool) -> None:
    """Differences tables for every study; with ``decisive``, every decisive pair among them."""
    figures.mkdir(exist_ok=True)
    for study, stem in D.STUDY_TABLES.items():
        table = _diffs().assign(study=study)
        if decisive:
            extra = [{**table.iloc[0].to_dict(), "variant": a, "baseline": b}
                     for s, a, b in D.DECISIVE if s == study and (a, b) != ("GSFM", "STCN")]  # fmt: skip
            table = pd.concat([table, pd.DataFrame(extra)], ignore_index=True)
        table.to_csv(figures / f"{stem}_differences.csv", index=False)


def test_update_study_docs_rewrites_every_study_table(tmp_path: Path) -> None:
    figures = tmp_path / "figures"
    _write(figures, decisive=False)
    page = ["# R", ""]
    for study in D.STUDY_TABLES:
        page += [f"## {study}", D.begin_marker(study), "old", D.end_marker(study), ""]
    others = ("decisive", "planning", "design-pilot", "design-pilot-val96", "decisive-picked",
              "split-replication", "residual-spectra")  # fmt: skip
    for name in others:
        page += [D.begin_marker(name), "old", D.end_marker(name), ""]
    md = tmp_path / "results.md"
    md.write_text("\n".join(page), encoding="utf-8")
    rows = {"results_dir": ROOT / "results/ablations", "pilot_folders": PILOT}
    with pytest.raises(ValueError, match="no sigma comparison sigma=15 − sigma=7 on val"):
        D.update_study_docs(md, figures, **rows)  # the decisive table needs them all
    assert "old" in md.read_text(encoding="utf-8")  # all or nothing
    _write(figures, decisive=True)
    assert D.update_study_docs(md, figures, **rows) == [*D.STUDY_TABLES, *others]
    text = md.read_text(encoding="utf-8")
    starts = [line for line in text.splitlines() if line.startswith("| GSFM − STCN | 4 |")]
    assert "old" not in text and len(starts) == len(D.STUDY_TABLES) + 1  # + the decisive table
    assert "| components | " in text and "| a: own start | GSFM − STCN | " in text
    assert D.update_study_docs(md, figures, **rows) == []


def test_the_docs_tables_are_the_committed_differences_tables() -> None:
    """docs/results.md's study tables are what figures/*_differences.csv give (after new rows:
    run notebooks 05 and 06, then gsfm.ablation.docs_tables.update_study_docs())."""
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    blocks = D.expected_blocks(ROOT / "figures", ROOT / "results/ablations", PILOT)
    for name, block in blocks.items():
        found = read_block(text, D.begin_marker(name), D.end_marker(name), "docs/results.md")
        assert found == block, f"docs/results.md's {name} table is stale"


def test_pilot_markdown_marks_a_seed_part_of_zero_and_shows_the_verdict() -> None:
    row = {"design": "a", "pair": "GSFM − STCN", "n_seeds": 4, "per_seed": "-1.00 +2.00",
           "mean": -2.72, "low": -4.77, "high": -0.67, "seed_var": 0.0, "seed_sd": 1.19,
           "seed_var_upper": 5.25, "video_sd": 7.9, "mde": 2.9, "train_h_per_seed": 2.45, "seeds_for_mde_2": 42.0,
           "train_h_for_mde_2": 103.0, "verdict": "contradicted"}  # fmt: skip
    one = {**row, "design": "b", "n_seeds": 1, "low": math.nan, "high": math.nan,
           "seed_sd": math.nan, "seed_var_upper": math.nan, "mde": math.nan,
           "seeds_for_mde_2": math.nan,
           "train_h_for_mde_2": math.nan, "verdict": ""}  # fmt: skip
    lines = D.pilot_markdown(pd.DataFrame([row, one])).splitlines()
    assert "| −1.00 +2.00 | −2.72 [−4.77, −0.67]† | 1.19 | 0.0 (≤ 5.2) | 7.90 |" in lines[2]
    assert lines[2].endswith("| 42 | 103 | contradicted |")
    assert "(one seed)" in lines[3] and "†" not in lines[3] and lines[3].endswith("| (no claim) |")
    assert lines[-1].startswith("† The seed part of the variance came out 0")
    plain = D.pilot_markdown(pd.DataFrame([{**row, "seed_var": 3.0}]))
    assert "†" not in plain and len(plain.splitlines()) == 3


def test_residual_markdown_gives_each_module_its_row_and_one_seed_no_interval() -> None:
    def rows(module: str, seeds: int, low: float) -> list[dict]:
        quantities = ["z/x", "z/x all", "z/x below", "z/x above", "z % below", "x % below",
                      "z − x % below"]  # fmt: skip
        return [
            {"module": module, "quantity": q, "bin": 0 if q == "z/x" else -1, "estimate": 1.5,
             "low": low, "high": 2.5, "seeds": seeds, "videos": 6}
            for q in quantities
        ]  # fmt: skip

    table = pd.DataFrame(rows("LFM", 5, 0.5) + rows("HFM", 1, math.nan))
    lines = D.residual_markdown(table).splitlines()
    assert len(lines) == 4 and lines[0].count("|") == lines[2].count("|") == 11
    assert lines[2].startswith("| LFM (key encoder, 1/16) | 5 | 6 | 1.500 [0.500, 2.500] |")
    assert lines[2].endswith("| 1.5 % [0.5, 2.5] | 1.5 % [0.5, 2.5] | +1.5 [+0.5, +2.5] |")
    assert lines[3].startswith("| HFM (boundary branch, 1/4) | 1 | 6 | 1.500 (one seed) |")
    with pytest.raises(ValueError, match="no 'z/x above' row for LFM"):
        D.residual_markdown(table[table["quantity"] != "z/x above"])


def test_replication_markdown_gives_each_seed_both_splits_and_their_gap() -> None:
    row = {"design": "a: own start", "pair": "GSFM − STCN", "seed": 3, "diff_1": -2.0,
           "se_1": 0.3, "videos_1": 24, "diff_2": -1.0, "se_2": 0.4, "videos_2": 96}  # fmt: skip
    lines = D.replication_markdown(pd.DataFrame([row])).splitlines()
    assert lines[0] == (
        "| design | pair | seed | on val (24 videos) | on val96-v1 (96 videos) | val96-v1 − val |"
    )
    assert (
        lines[2]
        == "| a: own start | GSFM − STCN | 3 | −2.00 ± 0.30 | −1.00 ± 0.40 | +1.00 ± 0.50 |"
    )
    with pytest.raises(ValueError, match="no seed was scored on both splits"):
        D.replication_markdown(pd.DataFrame([row]).iloc[:0])


def test_decisive_status_markdown_falls_back_to_the_planning_table_under_two_seeds() -> None:
    five = {"study": "components", "pair": "GSFM − STCN", "n_seeds": 5,
            "per_seed": "+4.00 +6.00 +5.00 +7.00 +3.00", "mean": 5.0, "low": 3.5, "high": 6.5,
            "seed_var": 0.0, "seeds_for_half_width_2": 4.0, "verdict": "confirmed"}  # fmt: skip
    one = {**five, "study": "placement", "pair": "freqL+freqF − freqL+freqH", "n_seeds": 1,
           "per_seed": "-1.50", "mean": -1.5, "low": math.nan, "high": math.nan,
           "seed_var": math.nan, "seeds_for_half_width_2": math.nan, "verdict": "unresolved"}  # fmt: skip
    none = {"study": "sigma", "pair": "sigma=15 − sigma=7", "n_seeds": 0}
    planning = pd.DataFrame(
        {"study": ["components", "placement", "sigma"], "seeds_at_96_videos": [16, 6, 10]}
    )
    lines = D.decisive_status_markdown(pd.DataFrame([five, one, none]), planning, 96).splitlines()
    assert lines[2] == (
        "| b: shared start | GSFM − STCN | 5 | +4.00 +6.00 +5.00 +7.00 +3.00 | +5.00 [+3.50, +6.50]† | 1.5 | 4 "
        "| confirmed |"
    )  # its own components, not the planning table's 16
    assert lines[3] == (
        "| b: shared start | freqL+freqF − freqL+freqH | 1 | −1.50 | −1.50 (one seed) | — | 6‡ | unresolved |"
    )
    assert lines[4] == "| b: shared start | sigma=15 − sigma=7 | 0 | (no runs) | — | — | 10‡ | — |"
    assert lines[6].startswith("† The seed part") and lines[8].startswith("‡ Under two seeds")
    assert "at 96 videos" in lines[8]
    with pytest.raises(ValueError, match="no column 'seeds_at_48_videos'"):
        D.decisive_status_markdown(pd.DataFrame([five]), planning, 48)
    plain = D.decisive_status_markdown(pd.DataFrame([{**five, "seed_var": 2.0}]), planning, 96)
    assert "†" not in plain and "‡" not in plain and len(plain.splitlines()) == 3
    # five seeds out of reach of ±2 keep their own "—", never the planning table's figure;
    # a study the planning table lacks gets "—" without the mark
    far = {**five, "seed_var": 2.0, "seeds_for_half_width_2": math.nan}
    lone = {**none, "study": "generalization", "pair": "STM-read+freq − STM-read"}
    lines = D.decisive_status_markdown(pd.DataFrame([far, lone]), planning, 96).splitlines()
    assert lines[2].endswith("| 1.5 | — | confirmed |") and lines[3].endswith("| — | — | — | — |")
    assert "‡" not in "\n".join(lines)


def test_the_summary_quotes_the_planning_tables_seeds_for_a_half_width_of_2() -> None:
    """§4's seeds for a ±2 interval at 24 and 96 videos are the planning table's."""
    text = " ".join((ROOT / "docs" / "results.md").read_text(encoding="utf-8").split())
    found = re.search(
        r"a ±2 J&F interval would take about (\d+) seeds per variant \(placement\) and (\d+) "
        r"\(σ\) at 24 videos, and none would do for the STM-style read; at 96 videos, (\d+), "
        r"(\d+) and (\d+) ",
        text,
    )
    assert found, "docs/results.md §4 no longer quotes the seeds a ±2 interval needs"
    table = planning_table(ROOT / "results/ablations").set_index("study")
    at24, at96 = table["seeds_at_24_videos"], table["seeds_at_96_videos"]
    assert pd.isna(at24["generalization"])  # "none would do"
    wanted = [at24["placement"], at24["sigma"]] + [
        at96[s] for s in ("placement", "sigma", "generalization")
    ]
    assert [int(x) for x in found.groups()] == [int(w) for w in wanted]


def test_the_first_design_b_seed_of_placement_and_sigma_is_what_the_rows_say() -> None:
    """results.md's one-seed values and its claim that placement's freqL+freqH run scores what
    the components study's GSFM scores, video by video, at seed 0 of design (b)."""
    text = " ".join((ROOT / "docs" / "results.md").read_text(encoding="utf-8").split())
    para = text[text.index("The first design-(b) seed of the other comparisons") :][:900]
    folders = (ROOT / "results/ablations-shared", ROOT / "results/ablations-shared-val96")
    splits = ("val", "val-val96-v1")
    wanted = {
        ("placement", "freqL+freqF", "freqL+freqH"): "freqL+freqF − freqL+freqH",
        ("placement", "freqF+freqH", "freqL+freqH"): "freqF+freqH − freqL+freqH",
        ("sigma", "sigma=15", "sigma=7"): "σ = 15 − 7",
    }
    for (study, a, b), words in wanted.items():
        values = [
            comparison_status(f, [(study, a, b)], split=sp).iloc[0]
            for f, sp in zip(folders, splits, strict=True)
        ]
        assert [int(v["n_seeds"]) for v in values] == [1, 1]
        quoted = f"{words} {signed(values[0]['mean'], 2)} and {signed(values[1]['mean'], 2)}"
        assert quoted in para, quoted
    for folder, split in zip(folders, splits, strict=True):
        comp = pd.read_csv(folder / "components_videos.csv")
        place = pd.read_csv(folder / "placement_videos.csv")
        one = comp[(comp["variant"] == "GSFM") & (comp["seed"] == 0) & (comp["split"] == split)]
        two = place[
            (place["variant"] == "freqL+freqH") & (place["seed"] == 0) & (place["split"] == split)
        ]
        merged = one.merge(two, on="sequence", suffixes=("_c", "_p"))
        assert len(merged) == len(one) == len(two) > 0
        assert (merged["JF_c"] == merged["JF_p"]).all(), f"{split}: the two runs' scores differ"
