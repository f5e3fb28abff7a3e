"""synth-small-v1 (the scoring-only split of small objects) and gsfm.ablation.small_split: the
split is frozen and keeps its object rule; the flags, the one-seed estimate and the rows."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gsfm.ablation import report as R
from gsfm.ablation import small_split as S
from gsfm.ablation import text as T
from gsfm.analysis import calibrated
from gsfm.data.synthetic import VERSIONS, generate_video, split_names
from gsfm.data.synthetic.spec import KEY_CELL

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / S.RESULTS_DIR

# sha256 of the decoded masks of three videos of synth-small-v1 (seed 0), and of every mask of
# the split in order. If this fails, the generator changed: small-v1 must stay frozen (its
# committed rows in results/small_split/ were scored on these videos), so add a new version.
FROZEN_SMALL_V1 = {
    0: "5e37ef09dd02bd25696ef1bdb69235c20a8e97fb209a9693c099960c172cb15c",
    57: "5ff3a0332e822eb91532fa3b379e09d05f2107dab36c21fdde8eae36404f195f",
    99: "3c1bebd96c31f3039cee21cf9d865fb399a1cc38db9c4f73937b3e53b6eb3843",
}
FROZEN_SMALL_V1_ALL = "0819a67ba99dbca21efa03afd8a07a774b94b31fb40e200ebc6ac7dea045104c"


def _meets_the_rule(masks: np.ndarray, objects: list[dict]) -> None:
    """Every object: at least one key cell in every frame from its first annotation on, and
    a mean share of the frame in [0.1 %, 5 %)."""
    _, h, w = masks.shape
    for o in objects:
        area = (masks[o["first_frame"] :] == o["object_id"]).reshape(-1, h * w).sum(1)
        assert area.min() >= KEY_CELL**2, (o["video"], o["object_id"], area.min())
        assert 0.001 <= area.mean() / (h * w) < 0.05, (o["video"], o["object_id"])


@pytest.mark.parametrize("index", sorted(FROZEN_SMALL_V1))
def test_small_v1_is_frozen_and_keeps_its_object_rule(index: int) -> None:
    vid = generate_video("small", index, "small-v1", seed=0)
    assert vid.masks.shape == (10, 240, 432)
    assert hashlib.sha256(vid.masks.tobytes()).hexdigest() == FROZEN_SMALL_V1[index]
    _meets_the_rule(vid.masks, vid.objects)


@pytest.mark.slow
def test_the_whole_small_v1_split_is_frozen() -> None:
    """All 100 videos (about a minute): the digest of every mask, and the rule on each."""
    digest = hashlib.sha256()
    for i in range(len(split_names("small", "small-v1"))):
        vid = generate_video("small", i, "small-v1", seed=0)
        digest.update(vid.masks.tobytes())
        _meets_the_rule(vid.masks, vid.objects)
    assert digest.hexdigest() == FROZEN_SMALL_V1_ALL


def test_small_v1_is_scoring_only_and_v1_has_no_object_rule() -> None:
    assert len(split_names("small", "small-v1")) >= 100
    for split in ("val", "train"):
        with pytest.raises(ValueError, match=f"synth-small-v1 has no '{split}' split"):
            split_names(split, "small-v1")
    v1 = VERSIONS["v1"]
    assert v1.min_key_cells == 0 and v1.area_share == (0.0, 1.0)
    assert v1.splits == ("val", "small", "train")


# --- the model-independent flag and the estimate over videos -------------------------------


def _objects(diffs: dict[str, list[float]], seeds: int = 1) -> pd.DataFrame:
    """A per-object table: per video the listed GSFM − STCN differences (one object each),
    STCN at 40 + video index, the same difference in every seed (+ a seed shift)."""
    rows = []
    for v, (video, ds) in enumerate(diffs.items()):
        for k, d in enumerate(ds, start=1):
            for seed in range(seeds):
                base = 40.0 + v + seed
                for variant, jf in (("STCN", base), ("GSFM", base + d + 0.5 * seed * (v % 2))):
                    rows.append({"study": "small_objects", "variant": variant, "seed": seed,
                                 "split": "synth-small-v1", "profile": "cpu", "sequence": video,
                                 "object": k, "area": 0.003 * k, "JF": jf, "J": jf, "F": jf})  # fmt: skip
    return pd.DataFrame(rows)


def test_model_independent_flags_objects_every_model_scores_alike_in_every_run() -> None:
    objects = _objects({"a": [0.0, 3.0], "b": [0.0], "c": [-1.0]}, seeds=2)
    objects.loc[(objects["sequence"] == "b") & (objects["seed"] == 1) & (objects["variant"] == "GSFM"), "JF"] += 1  # fmt: skip
    flag = S.model_independent(objects)
    by_object = flag.groupby([objects["sequence"], objects["object"]]).agg(["all", "any"])
    assert by_object["all"].equals(by_object["any"])  # one flag per object, on all its rows
    assert by_object["all"].to_dict() == {
        ("a", 1): True,  # the same in both seeds
        ("a", 2): False,
        ("b", 1): False,  # the same in seed 0 only
        ("c", 1): False,
    }
    alone = objects[objects["variant"] == "GSFM"]  # one model: nothing to compare
    assert not S.model_independent(alone).any()


def test_one_seed_is_estimated_over_videos_with_its_mde_and_verdict() -> None:
    per_video = {"a": [1.0, 3.0], "b": [4.0], "c": [0.5], "d": [6.0], "e": [2.5], "f": [0.0]}
    diffs = S.split_differences(_objects(per_video))
    r = diffs[diffs["bucket"] == "<5%"].iloc[0]
    d = np.array([2.0, 4.0, 0.5, 6.0, 2.5, 0.0])  # each video's mean difference
    se, df = d.std(ddof=1) / math.sqrt(6), 5.0
    t = stats.t.ppf(0.975, df)
    assert r["interval_over"] == S.INTERVAL_OVER_VIDEOS
    assert r["estimate"] == pytest.approx(d.mean())
    assert (r["est_low"], r["est_high"]) == pytest.approx((d.mean() - t * se, d.mean() + t * se))
    assert r["mde"] == pytest.approx(calibrated.minimum_detectable_effect(se, df))
    assert r["verdict"] == "confirmed"  # the paper's sign (GSFM ahead), the interval above 0
    assert r["n_independent"] == 1 and r["n_informative_videos"] == 5  # f's object scores alike
    # the same differences, reversed: the paper's claim contradicted
    flipped = {k: [-x for x in v] for k, v in per_video.items()}
    r = S.split_differences(_objects(flipped)).iloc[0]
    assert r["verdict"] == "contradicted" and r["estimate"] == pytest.approx(-d.mean())


def test_several_seeds_keep_the_estimate_over_seeds_and_videos() -> None:
    per_video = {v: [1.0 + i] for i, v in enumerate("abcdef")}
    r = S.split_differences(_objects(per_video, seeds=3)).iloc[0]
    assert r["interval_over"] == S.INTERVAL_OVER_SEEDS and r["n_seeds"] == 3
    assert math.isfinite(r["est_low"]) and r["verdict"] in {v.value for v in calibrated.Verdict}


def test_the_sentences_say_what_the_interval_is_over_and_count_independent_objects() -> None:
    from gsfm.ablation import stats as A

    objects = _objects(
        {"a": [1.0, 3.0], "b": [4.0], "c": [0.5], "d": [6.0], "e": [2.5], "f": [0.0]}
    )
    diffs = S.split_differences(objects)
    text = T.small_split_text(A.bucket_scores(objects), diffs, A.bucket_counts(objects))
    assert "95 % interval over videos only, one seed;" in text
    assert ": confirmed (" in text
    assert "1 of the 7 objects score the same for both models" in text
    few = _objects({"a": [1.0], "b": [2.0]})
    text = T.small_split_text(A.bucket_scores(few), S.split_differences(few), A.bucket_counts(few))
    assert "no interval" in text and "confirmed" not in text


# --- scoring the shipped weights on a tiny version ------------------------------------------


def test_scoring_a_tiny_version_writes_checked_rows_with_provenance(tmp_path: Path) -> None:
    from gsfm.ablation.schema import check_table
    from gsfm.weights import read_manifest

    kwargs = dict(data_dir=tmp_path / "data", runs_dir=tmp_path / "runs", limit=2, height=64, width=112)  # fmt: skip
    objects = R.score_small_split(tmp_path / "res", **kwargs)
    label = "synth-small-v1-64x112-first2"
    assert S.split_label(2, 64, 112) == label and S.split_label() == S.LABEL
    rows = check_table(tmp_path / "res" / "small_objects.csv")
    assert sorted(rows["variant"]) == ["GSFM", "STCN"] and set(rows["split"]) == {label}
    shipped = read_manifest()["models"]
    for _, r in rows.iterrows():
        assert r["weights_sha256"] == shipped[r["model"]]["sha256"]
        assert len(r["data_hash"]) == 16 and r["eval_commit"] and r["device"]
    assert rows["data_hash"].nunique() == 1  # both models scored the same files
    check_table(tmp_path / "res" / "small_objects_videos.csv", "videos")
    written = check_table(tmp_path / "res" / "small_objects_objects.csv", "objects")
    assert set(written["model_independent"]) <= {"True", "False"}
    assert len(written) == len(objects)
    assert (written.groupby(["sequence", "object"])["variant"].nunique() == 2).all()
    tables = R.read_split_tables(tmp_path / "res")
    assert tables is not None and len(tables.objects) == len(objects)
    # scored again (the predictions are cached): the rows are replaced, not added
    R.score_small_split(tmp_path / "res", **kwargs)
    assert len(check_table(tmp_path / "res" / "small_objects.csv")) == 2


# --- the committed rows ---------------------------------------------------------------------


@pytest.mark.skipif(not (COMMITTED / "small_objects.csv").is_file(), reason="no committed rows")
def test_the_committed_rows_cover_the_split_with_consistent_flags() -> None:
    from gsfm.ablation.schema import check_table
    from gsfm.weights import read_manifest

    rows = check_table(COMMITTED / "small_objects.csv")
    assert set(rows["split"]) == {S.LABEL} and sorted(rows["variant"]) == ["GSFM", "STCN"]
    shipped = read_manifest()["models"]
    assert all(r["weights_sha256"] == shipped[r["model"]]["sha256"] for _, r in rows.iterrows())
    assert rows["data_hash"].nunique() == 1
    tables = R.read_split_tables(COMMITTED)
    objects = tables.objects
    n_videos = len(split_names("small", "small-v1"))
    assert objects.groupby("variant")["sequence"].nunique().to_dict() == {"GSFM": n_videos, "STCN": n_videos}  # fmt: skip
    cell = KEY_CELL**2 / (240 * 432)
    assert objects["area"].between(cell, 0.05, inclusive="left").all()
    recomputed = S.model_independent(objects)
    assert (objects["model_independent"].astype(bool) == recomputed).all()


# --- the docs' numbers come from the rows --------------------------------------------------


def test_update_small_object_docs_rewrites_only_the_marked_block_and_the_readme_bullet(
    tmp_path: Path,
) -> None:
    objects = _objects({v: [1.0 + i] for i, v in enumerate("abcdef")})
    diffs = S.split_differences(objects)
    from gsfm.ablation import stats as A

    scores = A.bucket_scores(objects)
    md, readme = tmp_path / "results.md", tmp_path / "README.md"
    md.write_text(f"# R\n\nbefore\n{R.DOC_BEGIN}\nold\n{R.DOC_END}\nafter\n", encoding="utf-8")
    readme.write_text(
        f"- **Other**: x\n{R.README_BULLET}: old words\n  continued\n- **Next**: y\n",
        encoding="utf-8",
    )
    R.update_small_object_docs(scores, diffs, md, readme)
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# R\n\nbefore\n") and text.endswith(f"{R.DOC_END}\nafter\n")
    assert "old" not in text and "| synth-small-v1, < 5 % | 6 (6) | 0 |" in text
    assert "On synth-small-v1, GSFM − STCN is confirmed in every bucket" in text
    lines = readme.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "- **Other**: x" and lines[2] == "- **Next**: y" and len(lines) == 3
    assert lines[1] == T.small_split_readme_line(diffs)
    assert "one seed, interval over videos) confirmed in every bucket" in lines[1]
    md.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks the markers"):
        R.update_small_object_docs(scores, diffs, md, readme)


@pytest.mark.skipif(not (COMMITTED / "small_objects.csv").is_file(), reason="no committed rows")
def test_the_docs_give_the_small_object_numbers_of_the_committed_rows() -> None:
    """docs/results.md's block and README's Table 6 bullet are what the committed rows give
    (regenerate them with gsfm.ablation.report.update_small_object_docs after new rows)."""
    from gsfm.ablation.report import small_objects_report

    report = small_objects_report("cpu", results_dir=ROOT / "results/ablations", split_dir=COMMITTED, figures_dir=None)  # fmt: skip
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    block = text.split(R.DOC_BEGIN, 1)[1].split(R.DOC_END, 1)[0].strip("\n")
    assert block == T.small_split_markdown(report.summary, report.differences)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert R.readme_bullet(readme) == T.small_split_readme_line(report.differences)
