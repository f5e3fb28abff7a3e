"""gsfm.viz.ablation: each figure from small synthetic tables (1 and 3 seeds), written as a PNG,
our numbers and the paper's in separate panels, seeds per point stated."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gsfm.ablation import stats as A
from gsfm.viz import ablation as viz

VIDEOS = [f"v{i}" for i in range(6)]


def tables(
    study: str,
    variants: dict[str, float],
    seeds: tuple[int, ...],
    splits: tuple[str, ...] = ("val",),
    overrides: dict[str, dict] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows and per-video scores; {variant: shift}, the first variant is the reference."""
    rng = np.random.default_rng(0)
    base = np.linspace(35.0, 65.0, len(VIDEOS))
    first = next(iter(variants))
    rows, vids = [], []
    for variant, shift in variants.items():
        for s in seeds:
            for split in splits:
                jf = base + shift + 0.5 * s + rng.normal(0, 1.0, len(VIDEOS))
                for name, x in zip(VIDEOS, jf, strict=True):
                    vids.append(
                        {
                            "study": study,
                            "variant": variant,
                            "seed": s,
                            "split": split,
                            "sequence": name,
                            "JF": x,
                            "J": x,
                            "F": x,
                        }
                    )
                rows.append(
                    {
                        "study": study,
                        "variant": variant,
                        "reference": variant == first,
                        "model": "gsfm",
                        "inference": "{}",
                        "seed": s,
                        "split": split,
                        "overrides": json.dumps((overrides or {}).get(variant, {})),
                        "profile": "cpu",
                        "device": "cpu",
                        "torch": "2.14.1",
                        "amp": False,
                        "git_commit": "abc",
                        "config_hash": "c",
                        "data_hash": "d",
                        "train_s": 1.0,
                        "eval_fps": 2.0,
                        "JF": jf.mean(),
                        "J": jf.mean(),
                        "F": jf.mean(),
                        "objects": 6,
                        "frames": 60,
                    }
                )
    return pd.DataFrame(rows), pd.DataFrame(vids)


def objects_table(seeds: tuple[int, ...], areas=(0.002, 0.004, 0.008, 0.03, 0.04, 0.2)):
    out = []
    for variant, gain in (("STCN", 0.0), ("GSFM", 2.0)):
        for s in seeds:
            for i, area in enumerate(areas):
                jf = 40.0 + gain + s + 3 * (i % 2)
                out.append(
                    {
                        "study": "small_objects",
                        "variant": variant,
                        "seed": s,
                        "split": "val",
                        "sequence": f"v{i // 2}",
                        "object": str(i % 2 + 1),
                        "area": area,
                        "JF": jf,
                        "J": jf,
                        "F": jf,
                    }
                )
    return pd.DataFrame(out)


def check_png(fig, path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 5000
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 400 and im.height > 200
    assert not plt.fignum_exists(fig.number)
    assert not list(path.parent.glob(f".{path.name}*"))


def gids(ax) -> set[str]:
    return {a.get_gid() for a in ax.findobj() if a.get_gid()}


def texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(plt.Text))


def assert_panels_apart(fig, paper_axes: int) -> None:
    """The paper's artists only in the paper's panel(s) (the last ``paper_axes``), ours never
    there; each panel's title says whose numbers it holds."""
    axes = fig.axes
    for ax in axes[: len(axes) - paper_axes]:
        assert viz.GID_PAPER not in gids(ax)
        assert ax.get_title().startswith("ours")
    for ax in axes[len(axes) - paper_axes :]:
        assert gids(ax) == {viz.GID_PAPER}
        assert ax.get_title().startswith("the paper")


@pytest.mark.parametrize("seeds", [(0,), (0, 1, 2)])
def test_study_figure(tmp_path: Path, seeds):
    rows, vids = tables(
        "placement", {"freqL+freqH": 0.0, "freqH+freqH": -3.0, "attention+freqH": 0.2}, seeds
    )
    out = tmp_path / "placement.png"
    fig = viz.plot_study(rows, vids, out, "frequency placement", n_resamples=999)
    check_png(fig, out)
    assert len(fig.axes) == 3
    assert_panels_apart(fig, paper_axes=1)
    n = len(seeds)
    title = fig.get_suptitle()
    assert "frequency placement" in title and "profile cpu, device cpu" in title
    assert f"{n} seed{'s' if n > 1 else ''} per point" in title
    notes = texts(fig)
    assert (f"n={n}" in notes) and (("n=1 (no interval)" in notes) == (n == 1))
    # the difference panel draws paired_differences' numbers
    diffs = A.paired_differences(rows, vids, n_resamples=999)
    drawn = sorted(
        float(line.get_xdata()[0])
        for line in fig.axes[1].get_lines()
        if line.get_gid() == viz.GID_OURS and line.get_marker() in "^vso"  # not the caps
    )
    # the calibrated estimate where it exists (two seeds or more), else the per-video mean
    want = diffs["estimate"].where(diffs["estimate"].notna(), diffs["diff"])
    assert drawn == pytest.approx(sorted(want))
    assert "freqH+freqH − freqL+freqH" in [t.get_text() for t in fig.axes[1].get_yticklabels()]


def test_study_figure_draws_the_papers_own_comparisons_too(tmp_path: Path):
    # Table 4 compares STM + FM with STM, not with the study's reference (STCN's read)
    rows, vids = tables(
        "generalization", {"STCN-read": 0.0, "STM-read": -1.0, "STM-read+freq": 2.0}, (0,)
    )
    fig = viz.plot_study(rows, vids, tmp_path / "g.png", "generalization", n_resamples=999)
    ticks = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert ticks == [
        "STM-read − STCN-read",
        "STM-read+freq − STCN-read",
        "STM-read+freq − STM-read",
    ]
    # and only the pairs asked for, when given
    pairs = [("STM-read", "STCN-read")]
    fig = viz.plot_study(rows, vids, None, "generalization", pairs=pairs, n_resamples=999)
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["STM-read − STCN-read"]


def test_study_figure_without_reference_videos_or_paper(tmp_path: Path):
    rows, vids = tables("components", {"STCN": 0.0, "GSFM": 2.0}, (0, 1), ("val", "val-240x432"))
    fig = viz.plot_study(rows.assign(reference=False), vids, tmp_path / "a.png", "components")
    assert "no reference variant" in texts(fig)
    fig = viz.plot_study(rows, None, tmp_path / "b.png", "components")
    assert "no per-video table" in texts(fig)
    assert "one module (row 2)" in [t.get_text() for t in fig.axes[2].get_yticklabels()]
    # studies the paper gives no numbers for here (σ: not in its text; small objects: only
    # by bucket; an unknown study): two panels, no paper panel
    for name in ("other", "sigma", "small_objects"):
        rows, vids = tables(name, {"a": 0.0, "b": 1.0}, (0,))
        fig = viz.plot_study(rows, vids, tmp_path / "c.png", name, n_resamples=999)
        assert len(fig.axes) == 2 and all(viz.GID_PAPER not in gids(ax) for ax in fig.axes)
    check_png(fig, tmp_path / "c.png")


SIGMA_VARIANTS = {"sigma=7": 0.0, "sigma=3": -2.0, "sigma=15": -1.0, "rel-0.29": 0.5}
SIGMA_OVERRIDES = {
    "sigma=3": {"sigma": 3},
    "sigma=15": {"sigma": 15, "sigma_mode": "bins"},
    "rel-0.29": {"sigma": 0.29, "sigma_mode": "relative"},
}


def is_difference(line) -> bool:
    """A difference's marker (not its bar's caps)."""
    markers = {m for m, _, _ in viz.VERDICT_MARKERS.values()}
    return line.get_gid() == viz.GID_OURS and line.get_marker() in markers


def seed_points(ax) -> list:
    return [ln for ln in ax.get_lines() if ln.get_gid() == viz.GID_SEEDS]


@pytest.mark.parametrize("seeds", [(0,), (0, 1, 2)])
def test_sigma_sweep_figure(tmp_path: Path, seeds):
    rows, _ = tables("sigma", SIGMA_VARIANTS, seeds, ("val", "val-240x432"), SIGMA_OVERRIDES)
    out = tmp_path / "sigma.png"
    fig = viz.plot_sigma_sweep(rows, out)
    check_png(fig, out)
    assert len(fig.axes) == 3  # bins, relative, the paper's Fig. 6(a)
    assert_panels_apart(fig, paper_axes=1)
    bins = fig.axes[0]
    val = [
        ln for ln in bins.get_lines() if ln.get_gid() == viz.GID_OURS and len(ln.get_xdata()) == 3
    ]
    # at their σ, val a little left and val-240x432 a little right of it (no bar hides another)
    assert sorted(val[0].get_xdata()) == pytest.approx([2.75, 6.75, 14.75])
    assert sorted(val[1].get_xdata()) == pytest.approx([3.25, 7.25, 15.25])
    table = A.sigma_table(rows)
    want = table[(table["split"] == "val") & (table["sigma_mode"] == "bins")]["mean"]
    assert list(val[0].get_ydata()) == pytest.approx(list(want))
    # the relative σ on the paper's scale: 0.29 of the side is 6.96 of its 24 bins
    rel = [ln for ln in fig.axes[1].get_lines() if ln.get_gid() == viz.GID_OURS]
    assert rel[0].get_xdata()[0] == pytest.approx(0.29 * 24 - 0.25)
    assert list(fig.axes[2].get_xticks()) == [3, 5, 7, 10, 15]  # Fig. 6(a)'s σ, once
    assert "values are not in the text" in fig.axes[2].get_title()
    n = len(seeds)
    assert f"{n} seed{'s' if n > 1 else ''} per point" in fig.get_suptitle()
    # the seed count once per σ along the top (both splits share it), not beside each point
    for ax, xs in ((bins, [3.0, 7.0, 15.0]), (fig.axes[1], [0.29 * 24])):
        notes = [t for t in ax.texts if t.get_text().startswith("n=")]
        assert [t.get_text() for t in notes] == [f"n={n}"] * len(xs)
        assert sorted(t.xy[0] for t in notes) == pytest.approx(xs)
    assert "n along the top" in texts(fig)
    # one legend for the splits and the paper's σ in both modes, below the panels
    legend = [t.get_text() for t in bins.get_legend().get_texts()]
    assert legend[:2] == ["val", "val-240x432"] and "7/24" in legend[-1]
    # lines with different seed counts at one σ: both counts, in legend order (val first)
    one_seed = (rows["variant"] == "sigma=3") & (rows["split"] == "val") & (rows["seed"] > 0)
    fig = viz.plot_sigma_sweep(rows[~one_seed], None)
    at3 = [t.get_text() for t in fig.axes[0].texts if t.xy[0] == 3.0]
    assert at3 == ([f"n=1/{n}"] if n > 1 else ["n=1"])
    # only one mode: one panel of ours
    fig = viz.plot_sigma_sweep(rows[rows["variant"] != "rel-0.29"], None)
    assert len(fig.axes) == 2


def test_sigma_sweep_draws_every_seed_on_one_y_range():
    rows, _ = tables("sigma", SIGMA_VARIANTS, (0, 1, 2), ("val", "val-240x432"), SIGMA_OVERRIDES)
    rows.loc[(rows["variant"] == "rel-0.29") & (rows["seed"] == 2), "JF"] = 90.0  # far above
    fig = viz.plot_sigma_sweep(rows, None)
    bins, rel = fig.axes[0], fig.axes[1]
    # each seed's score, per (split, variant): the rows' own numbers, beside the mean
    drawn = sorted(float(y) for ax in (bins, rel) for ln in seed_points(ax) for y in ln.get_ydata())
    assert drawn == pytest.approx(sorted(rows["JF"]))
    # one y-range for both modes, wide enough for every seed, the 90 of the relative mode too
    assert bins.get_ylim() == pytest.approx(rel.get_ylim())
    assert bins.get_ylim()[1] > 90.0 > rows.loc[rows["variant"] != "rel-0.29", "JF"].max()


def test_sigma_sweep_with_paired_differences_and_split_notes():
    rows, vids = tables("sigma", SIGMA_VARIANTS, (0, 1, 2), ("val", "val-240x432"), SIGMA_OVERRIDES)
    rows.loc[rows["variant"] == "rel-0.29", "overrides"] = json.dumps(
        {"sigma": 7 / 24, "sigma_mode": "relative"}
    )
    rows.loc[rows["variant"] == "rel-0.29", "variant"] = "rel-7"
    vids.loc[vids["variant"] == "rel-0.29", "variant"] = "rel-7"
    pairs = [("sigma=3", "sigma=7"), ("sigma=15", "sigma=7"), ("rel-7", "sigma=7")]
    diffs = A.paired_differences(rows, vids, pairs, n_resamples=99)
    notes = {"val": "the val videos at 160×288", "val-240x432": "the same videos at 240×432"}
    fig = viz.plot_sigma_sweep(rows, None, differences=diffs, split_notes=notes)
    assert len(fig.axes) == 6  # bins, relative, the paper's; below: their differences, cross
    top, low = fig.axes[:3], fig.axes[3:]
    assert top[0].get_ylim() == pytest.approx(top[1].get_ylim())
    assert low[0].get_ylim() == low[1].get_ylim() == low[2].get_ylim()  # one y-range
    # the bins differences at their σ (splits apart), each at the calibrated estimate
    marks = [ln for ln in low[0].get_lines() if is_difference(ln)]
    same = diffs[(diffs["baseline"] == "sigma=7") & (diffs["variant"] != "rel-7")]
    assert sorted((round(float(m.get_xdata()[0]), 2), round(float(m.get_ydata()[0]), 6))
                  for m in marks) == sorted(
        (round(float(s.split("=")[1]) + (-0.25 if sp == "val" else 0.25), 2), round(e, 6))
        for s, sp, e in zip(same["variant"], same["split"], same["estimate"], strict=True)
    )  # fmt: skip
    # the pair across modes in its own panel, one column, the two splits
    cross = [ln for ln in low[2].get_lines() if is_difference(ln)]
    want = diffs[diffs["variant"] == "rel-7"]["estimate"]
    assert sorted(float(m.get_ydata()[0]) for m in cross) == pytest.approx(sorted(want))
    assert [t.get_text() for t in low[2].get_xticklabels()] == ["rel-7\n− sigma=7"]
    # what "val-240x432" means: under the title and in the legend
    assert "val-240x432: the same videos at 240×432" in fig.get_suptitle()
    legend = [t.get_text() for t in low[1].get_legend().get_texts()]
    assert "val-240x432: the same videos at 240×432" in legend
    assert "verdict" in low[0].get_legend().get_title().get_text()
    # one mode only: both legends still there, each in its own panel
    bins_only = rows[rows["variant"] != "rel-7"]
    fig = viz.plot_sigma_sweep(bins_only, None, differences=diffs[diffs["variant"] != "rel-7"])
    assert len(fig.axes) == 4 and not fig.axes[3].axison  # no pair across modes
    titles = [ax.get_legend().get_title().get_text() for ax in fig.axes[2:]]
    assert "verdict" in titles[0] and titles[1].startswith("colour: split")


def test_split_notes_say_what_a_scaled_split_is():
    from gsfm.ablation.report import split_notes

    notes = split_notes("sigma", "cpu")
    assert notes == {
        "val": "the val videos at 160×288 (the profile's size)",
        "val-240x432": "the same videos at 240×432 (1.5×)",
    }


@pytest.mark.parametrize("seeds", [(0,), (0, 1, 2)])
def test_small_objects_figure(tmp_path: Path, seeds):
    objects = objects_table(seeds)
    rows, _ = tables("small_objects", {"STCN": 0.0, "GSFM": 2.0}, seeds)
    out = tmp_path / "small.png"
    fig = viz.plot_small_objects(objects, out, rows=rows, n_resamples=999)
    check_png(fig, out)
    assert len(fig.axes) == 2
    assert_panels_apart(fig, paper_axes=1)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == [
        "<5%\n5 of 6 objects\nin 3 videos",
        "<1%\n3 of 6 objects\nin 2 videos",
        "<0.5%\n2 of 6 objects\nin 1 video",
    ]
    n = len(seeds)
    assert f"{n} seed{'s' if n > 1 else ''} per bar" in fig.get_suptitle()
    assert "device cpu" in fig.get_suptitle()
    assert f"n={n}" in texts(fig) and "GSFM − STCN" in texts(fig)
    # the fixture's objects lie in fewer than MIN_UNITS videos: no interval, and no verdict
    assert "(no interval)" in texts(fig) and "confirmed" not in texts(fig)
    bars = [p for p in fig.axes[0].patches if p.get_gid() == viz.GID_OURS]
    scores = A.bucket_scores(objects)
    assert sorted(b.get_height() for b in bars) == pytest.approx(sorted(scores["mean"]))


def test_small_objects_figure_with_an_empty_bucket_and_no_rows(tmp_path: Path):
    objects = objects_table((0, 1), areas=(0.008, 0.03, 0.2, 0.04))  # nothing under 0.5 %
    fig = viz.plot_small_objects(objects, tmp_path / "s.png", n_resamples=999)
    check_png(fig, tmp_path / "s.png")
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[-1] == "<0.5%\n0 of 4 objects\nin 0 videos"
    assert "profile and device: not given" in fig.get_suptitle()


def test_small_objects_figure_colours_each_variant_alike_in_every_panel(tmp_path: Path):
    """Ours and the paper's panel: a variant in one colour (the paper's GSFM in our GSFM's),
    STCN (the reference) first; the split's title, what the interval is over and the
    model-independent objects are said."""
    from matplotlib.colors import to_rgb

    from gsfm.ablation.small_split import INTERVAL_OVER_VIDEOS, model_independent

    objects = objects_table((0,))
    objects.loc[objects["sequence"] == "v0", "JF"] = 0.0  # neither model finds v0's objects
    objects["model_independent"] = model_independent(objects)
    diffs = A.bucket_differences(objects, "STCN", n_resamples=999).assign(
        interval_over=INTERVAL_OVER_VIDEOS
    )
    fig = viz.plot_small_objects(
        objects, tmp_path / "s.png", differences=diffs, split_titles={"val": "synth-v1 val"}
    )
    ours, paper = fig.axes[0], fig.axes[-1]
    colour = {
        t: to_rgb(h.patches[0].get_facecolor())
        for h, t in zip(*ours.get_legend_handles_labels(), strict=True)
    }
    assert list(colour) == ["STCN", "GSFM"] and colour["STCN"] != colour["GSFM"]
    for h, t in zip(*paper.get_legend_handles_labels(), strict=True):
        ours_name = t.split("(= our ")[1].rstrip(")")
        assert to_rgb(h.patches[0].get_facecolor()) == colour[ours_name], t
    assert [t.split(" (")[0] for t in paper.get_legend_handles_labels()[1]] == ["STCN", "Ours"]
    ticks = [t.get_text() for t in ours.get_xticklabels()]
    assert ticks[-1] == "<0.5%\n2 of 6 objects\nin 1 video\n2 model-independent"
    assert ticks[0].endswith("\n2 model-independent")
    assert "synth-v1 val" in ours.get_title() and INTERVAL_OVER_VIDEOS in ours.get_title()
    assert "Model-independent: an object every model scores the same" in texts(fig)


def test_study_figure_with_the_speed_timed_together(tmp_path: Path):
    rows, vids = tables("components", {"STCN": 0.0, "GSFM": 2.0}, (0, 1))
    speed = pd.DataFrame(
        {"variant": ["STCN", "GSFM"], "reference": [True, False], "device": "cpu, 1 thread",
         "rounds": 3, "fps": [8.0, 6.0], "ratio": [1.0, 0.75], "ratio_min": [1.0, 0.7],
         "ratio_max": [1.0, 0.8]}
    )  # fmt: skip
    out = tmp_path / "components.png"
    fig = viz.plot_study(rows, vids, out, "components", speed=speed, n_resamples=999)
    check_png(fig, out)
    assert len(fig.axes) == 4  # ours: J&F, differences, speed; then the paper's
    assert_panels_apart(fig, paper_axes=1)
    ax = fig.axes[2]
    assert "timed together (cpu, 1 thread)" in ax.get_title() and ax.get_xlabel() == "FPS ÷ STCN's"
    squares = [
        ln for ln in ax.get_lines() if ln.get_gid() == viz.GID_OURS and ln.get_marker() == "s"
    ]
    assert sorted(float(ln.get_xdata()[0]) for ln in squares) == [0.75, 1.0]
    assert "×0.75, 6.0 FPS" in texts(fig)
    assert "85.3 (+1.2), 8.9 FPS" in texts(fig)  # the paper's panel: its Table 5 FPS


def difference_markers(ax) -> dict[str, tuple[str, bool]]:
    """{pair label: (marker, filled)} of a study's difference panel (one split)."""
    ticks = {round(t.get_position()[1]): t.get_text() for t in ax.get_yticklabels()}
    out = {}
    for ln in ax.get_lines():
        if is_difference(ln):
            filled = ln.get_markerfacecolor() != "white"
            out[ticks[round(float(ln.get_ydata()[0]))]] = (ln.get_marker(), filled)
    return out


def test_difference_markers_follow_the_verdict(tmp_path: Path):
    variants = {"STCN": 0.0, "+LFM": 1.0, "+HFM": -1.0, "+LFM+HFM": 0.5, "GSFM": 2.0}
    rows, vids = tables("components", variants, (0, 1, 2))
    diffs = A.paired_differences(rows, vids, n_resamples=99)
    verdicts = ["confirmed", "contradicted", "bounded", None]  # None: no claim of the paper's
    diffs = diffs.assign(verdict=verdicts)
    fig = viz.plot_study(rows, vids, tmp_path / "c.png", "components", differences=diffs)
    drawn = difference_markers(fig.axes[1])
    for pair, v in zip(diffs["variant"] + " − " + diffs["baseline"], verdicts, strict=True):
        marker, filled, _ = viz.VERDICT_MARKERS[v or viz.NO_CLAIM]
        assert drawn[pair] == (marker, filled)
    # filled exactly where a verdict is reached
    assert [drawn[p][1] for p in diffs["variant"] + " − " + diffs["baseline"]] == [
        True, True, True, False
    ]  # fmt: skip
    # the legend names the verdicts drawn, in the enum's order, and the bounded zone
    legend = fig.axes[1].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert [lb.split(":")[0] for lb in labels[:-1]] == [
        "confirmed", "contradicted", "bounded", "no claim of the paper's to judge (hollow)"
    ]  # fmt: skip
    assert "±2" in labels[-1] and "filled: reached" in legend.get_title().get_text()
    for handle, kind in zip(legend.legend_handles[:-1], verdicts, strict=True):
        marker, filled, _ = viz.VERDICT_MARKERS[kind or viz.NO_CLAIM]
        assert handle.get_marker() == marker and (handle.get_markerfacecolor() != "white") == filled
    # the footnote no longer gives "hollow" a second meaning (one seed is "no bar")
    foot = texts(fig)
    assert "hollow, no bar" not in foot and "filled: a verdict reached, hollow: none" in foot
    # an unresolved one is hollow too, and a word that is no verdict is refused
    assert viz.verdict_kind("unresolved") == "unresolved"
    assert viz.VERDICT_MARKERS["unresolved"][1] is False
    assert viz.verdict_kind(float("nan")) == viz.NO_CLAIM
    with pytest.raises(ValueError, match="held"):
        viz.verdict_kind("held")


def test_one_seed_means_are_filled_without_a_bar(tmp_path: Path):
    rows, vids = tables("placement", {"freqL+freqH": 0.0, "freqH+freqH": -3.0}, (0,))
    fig = viz.plot_study(rows, vids, None, "placement", n_resamples=99)
    means = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == viz.GID_OURS]
    assert means and all(ln.get_markerfacecolor() != "white" for ln in means)
    assert "n=1 (no interval)" in texts(fig)


def test_paper_panel_in_our_order():
    from gsfm.ablation.studies import STUDIES

    ours = [v.label for v in STUDIES["placement"].variants]
    rows, vids = tables("placement", dict.fromkeys(reversed(ours), 0.0), (0,))
    fig = viz.plot_study(rows, vids, None, "placement", n_resamples=99)
    mine = [t.get_text().removesuffix(" (reference)") for t in fig.axes[0].get_yticklabels()]
    paper = [t.get_text() for t in fig.axes[-1].get_yticklabels()]
    # both panels list the same variants in the same order (tick labels top to bottom)
    assert mine == list(reversed(ours))
    assert [p.split("[= ")[-1].rstrip("]") for p in paper] == mine
    assert any("(GSFM)" in p for p in paper)
    # rows with no counterpart of ours keep the paper's order, after the matched ones
    table = viz.paper_order(viz._paper_values("components"), ["GSFM", "+LFM", "STCN"])
    assert list(table["paper_variant"]) == [
        "LFM + HFM + boundary (GSFM)", "none (STCN)", "one module (row 2)",
        "one module (row 3)", "two modules (row 4)", "two modules (row 5)",
    ]  # fmt: skip


def test_speed_panel_in_the_order_of_the_other_panels():
    variants = {"STCN-read": 0.0, "STCN-read+freq": 2.0, "STM-read": -1.0, "STM-read+freq": 1.0}
    rows, vids = tables("generalization", variants, (0, 1))
    speed = pd.DataFrame(
        {"variant": ["STM-read", "STM-read+freq", "STCN-read", "STCN-read+freq"],
         "reference": [False, False, True, False], "device": "cpu, 1 thread", "rounds": 5,
         "fps": [9.0, 7.1, 8.9, 7.1], "ratio": [1.16, 0.75, 1.0, 0.8],
         "ratio_min": [0.83, 0.7, 1.0, 0.7], "ratio_max": [1.22, 0.95, 1.0, 0.92]}
    )  # fmt: skip
    fig = viz.plot_study(rows, vids, None, "generalization", speed=speed, n_resamples=99)
    ax = next(a for a in fig.axes if a.get_title().startswith("ours: speed"))
    order = [t.get_text() for t in ax.get_yticklabels()]  # top to bottom
    assert order == list(variants)
    mine = [t.get_text().removesuffix(" (reference)") for t in fig.axes[0].get_yticklabels()]
    assert order == mine
    # each ratio at its variant's row
    y = {t.get_text(): round(t.get_position()[1]) for t in ax.get_yticklabels()}
    squares = {
        round(float(ln.get_ydata()[0])): float(ln.get_xdata()[0])
        for ln in ax.get_lines()
        if ln.get_gid() == viz.GID_OURS and ln.get_marker() == "s"
    }
    assert {v: squares[y[v]] for v in variants} == dict(
        zip(speed["variant"], speed["ratio"], strict=True)
    )
    # fonts a reader can read: ticks and labels at 8 points or more
    sizes = [t.get_fontsize() for t in ax.get_yticklabels() + ax.texts]
    assert min(sizes) >= 8


def test_plotting_modules_leave_the_backend_to_the_caller():
    import subprocess
    import sys

    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import gsfm.viz.ablation, gsfm.viz.training, gsfm.viz.data; "
        "print(matplotlib.get_backend())"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "svg"
