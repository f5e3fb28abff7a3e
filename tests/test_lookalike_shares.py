"""Fig. 1 measured: shares over every target pixel, intervals, and sentences from the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from gsfm.analysis import lookalike_shares as ls
from gsfm.analysis import matching, seed_video
from tests.test_matching import ColourKeys, _clip


def test_query_pixel_shares_weight_each_cell_by_its_target_pixels() -> None:
    frames, target, look = _clip()
    # a second query frame: the target fills one red cell and a quarter of a grey cell,
    # which matches the grey background (rest), not the red target or lookalike
    frames = torch.cat([frames, frames[1:2].clone()])
    target = np.concatenate([target, target[1:2].copy()])
    look = np.concatenate([look, np.zeros_like(look[:1])])
    target[2, 16:24, 32:40] = True  # 64 pixels of grey cell (1, 2)
    net = ColourKeys(top_k=None)
    one = matching.query_pixel_shares(net, frames, target, look, [1], (0,))
    assert one["query_pixels"] == 256 and one["query_frames"] == 1
    assert one["target"] == pytest.approx(0.5, abs=1e-3)
    assert one["distractors"] == pytest.approx(0.5, abs=1e-3)
    both = matching.query_pixel_shares(net, frames, target, look, [1, 2], (0,))
    assert both["query_pixels"] == 256 + 256 + 64
    # 512 pixels in red cells (half target, half lookalike), 64 in a grey cell (rest)
    assert both["target"] == pytest.approx(256 / 576, abs=2e-3)
    assert both["distractors"] == pytest.approx(256 / 576, abs=2e-3)
    assert both["rest"] == pytest.approx(64 / 576, abs=2e-3)
    with pytest.raises(ValueError, match="visible in none"):
        matching.query_pixel_shares(net, frames, np.zeros_like(target), look, [1, 2], (0,))


def test_one_seed_interval_is_over_videos_and_says_so() -> None:
    d = np.array([[1.0, 2.0, 3.0, 4.0]])
    est = seed_video.estimate_over(d)
    assert est.estimate == pytest.approx(2.5)
    half = 3.182446 * np.std([1, 2, 3, 4], ddof=1) / 2  # t(0.975, 3) · sd / √4
    assert est.high - est.estimate == pytest.approx(half, rel=1e-5)
    assert "one seed" in seed_video.describe(1, 4)
    assert seed_video.describe(3, 4) == "over 3 seeds and 4 videos"
    assert seed_video.direction(est, "up", "down") == "up"
    spread = seed_video.estimate_over(np.array([[-2.0, 1.0, 3.0, -1.0]]))
    assert spread.low < 0 < spread.high
    assert seed_video.direction(spread, "up", "down", "none") == "none"
    two = seed_video.estimate_over(np.array([[1.0, 2.0, 3.0], [2.0, 2.5, 4.0]]))
    assert two.n_seeds == 2 and np.isfinite(two.low)


def _rows(gsfm_minus_stcn: list[float], seeds: int = 1, bypass: list[float] | None = None):
    """Fixture rows: STCN puts 10 % on lookalikes in every video, GSFM 10 % + the given points
    (one value per video); the bypassed GSFM its share + ``bypass`` points."""
    rows = []
    for seed in range(seeds):
        for v, d in enumerate(gsfm_minus_stcn):
            d = d + 0.3 * seed
            models = {"STCN": 0.10, "GSFM": 0.10 + d / 100}
            if bypass is not None:
                models[ls.LFM_BYPASSED] = models["GSFM"] + bypass[v] / 100
            for model, look in models.items():
                gsfm = model != "STCN"
                rows.append(
                    {
                        "model": model, "seed": seed, "video": f"v{v}", "object": 1,
                        "share_target": 0.5, "share_lookalikes": look,
                        "share_rest": 0.5 - look, "query_pixels": 1000,
                        "memory_lookalike_area": 0.02, "top_k": 20,
                        "train_map": 8 if gsfm else np.nan,
                        "lfm_max_gain": 0.2786 if gsfm else np.nan,
                    }
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_verdict_follows_the_numbers() -> None:
    more = ls.verdict_text(_rows([4.0, 5.0, 6.0, 5.5, 4.5]))
    assert "does not hold here: GSFM puts more weight on the lookalikes" in more
    assert "One seed" in more and "over 5 videos of one seed" in more
    less = ls.compare(_rows([-4.0, -5.0, -6.0, -5.5, -4.5]))
    assert less.loc[less["share"] == "lookalikes", "verdict"].item() == "confirmed"
    assert "holds here" in ls.verdict_text(_rows([-4.0, -5.0, -6.0, -5.5, -4.5]))
    noisy = ls.compare(_rows([-8.0, 6.0, -3.0, 9.0, -5.0]))
    assert noisy.loc[noisy["share"] == "lookalikes", "verdict"].item() == "unresolved"
    assert "is not resolved here" in ls.verdict_text(_rows([-8.0, 6.0, -3.0, 9.0, -5.0]))
    tiny = ls.compare(_rows([0.1, -0.2, 0.3, 0.0, -0.1]))
    assert tiny.loc[tiny["share"] == "lookalikes", "verdict"].item() == "bounded"
    seeds = ls.verdict_text(_rows([4.0, 5.0, 6.0, 5.5, 4.5], seeds=3))
    assert "3 seeds" in seeds and "One seed" not in seeds
    assert "(5,000 query pixels per model and seed;" in seeds  # 5 videos × 1,000, not × 3 seeds


def test_bypass_sentence_names_a_direction_only_beyond_noise() -> None:
    lowers = ls.verdict_text(
        _rows([4.0, 5.0, 6.0, 5.5, 4.5], bypass=[-3.0, -4.0, -3.5, -4.2, -3.8])
    )
    assert "the LFM's residual raises the weight GSFM puts on lookalikes" in lowers
    noise = ls.verdict_text(_rows([4.0, 5.0, 6.0, 5.5, 4.5], bypass=[-3.0, 4.0, -2.0, 3.0, 0.5]))
    assert "does not change its lookalike share beyond noise" in noise
    assert "raises" not in noise and "lowers" not in noise
    assert "passes at most 28 % of any frequency" in noise


def test_lookalike_objects_reads_the_split_table(tmp_path) -> None:
    pd.DataFrame(
        {
            "video": ["a", "a", "b"], "object_id": [1, 2, 1], "case": ["lookalike", "x", "y"],
            "first_frame": [0, 3, 0], "lookalikes": [2, 0, 1], "shape": ["s", "s", "s"],
        }
    ).to_csv(tmp_path / "objects_val.csv", index=False)  # fmt: skip
    found = ls.lookalike_objects(tmp_path)
    assert list(zip(found["video"], found["object_id"], strict=True)) == [("a", 1), ("b", 1)]
    with pytest.raises(FileNotFoundError, match="objects_small.csv"):
        ls.lookalike_objects(tmp_path, "small")


def test_lfm_training_gain_at_the_cpu_profile() -> None:
    config = {"model": {"sigma": 7.0, "sigma_mode": "bins"}, "train": {"crop_size": 128}}
    side, gain = ls.lfm_training_gain(config)
    assert side == 8
    assert gain == pytest.approx(1 - np.exp(-(16 + 16) / (2 * 49)), abs=1e-6)  # DC: 4 bins away
    assert ls.lfm_training_gain({**config, "train": {"crop_size": 384}})[1] > 0.9


def test_the_figure_is_drawn(tmp_path) -> None:
    from gsfm.viz.matching import plot_lookalike_shares

    rows = _rows([4.0, 5.0, 6.0, 5.5, 4.5], bypass=[0.0, 1.0, -1.0, 0.5, -0.5]).iloc[::-1]
    fig = plot_lookalike_shares(
        rows, ls.summarise(rows), ls.compare(rows), tmp_path / "fig1_lookalike_shares.png"
    )
    assert (tmp_path / "fig1_lookalike_shares.png").stat().st_size > 10_000
    assert "contradicted" in fig.axes[1].get_title()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "STCN", "GSFM", ls.LFM_BYPASSED,
    ]  # fmt: skip


def test_readme_and_results_state_the_committed_measurement() -> None:
    """The README and docs/results.md give the verdict and the interval that the committed rows
    give (they are not typed from memory)."""
    from pathlib import Path

    from gsfm.analysis.wording import interval, signed

    root = Path(__file__).resolve().parents[1]
    rows = pd.read_csv(root / "results/ablations/lookalike_shares.csv")
    rows = rows[(rows["profile"] == "cpu") & (rows["top_k"] == 20)]
    d = ls.compare(rows)
    look = d[d["share"] == "lookalikes"].iloc[0]
    stated = f"{signed(look.estimate)} {interval(look.low, look.high)} points"
    readme = (root / "README.md").read_text(encoding="utf-8")
    para = readme[readme.index("**Matching confusion (Fig. 1)**") :].split("\n- ")[0]
    assert stated in para and look.verdict in para
    others = {"confirmed", "contradicted", "bounded", "unresolved"} - {look.verdict}
    assert not any(word in para for word in others)
    results = (root / "docs/results.md").read_text(encoding="utf-8")
    section = results[results.index("### Matching confusion (Fig. 1") :].split("\n### ")[0]
    assert stated in section and f"**{look.verdict}**" in section
