"""The README is a newcomer's first five minutes: short, and every file it points at exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 200

# a Markdown link target, or a backticked path into the repository's own folders
LINK = re.compile(r"\]\(([^)#\s]+)")
PATH = re.compile(r"`((?:docs|figures|notebooks|gsfm|tests|results|benchmarks|weights)/[^`\s]*)`")


def _paragraph(text: str, start: str) -> str:
    """The paragraph of ``text`` that begins at ``start``, whitespace collapsed."""
    return " ".join(text[text.index(start) :].split("\n\n")[0].split())


def test_readme_stays_under_200_lines() -> None:
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"README.md has {n} lines; move details to docs/ (limit {MAX_LINES})"


# docs/paper_vs_code.md describes the authors' repository and names files of theirs
DESCRIBES_OTHER_REPOS = {"paper_vs_code.md"}


def _targets(text: str) -> set[str]:
    links = {t for t in LINK.findall(text) if not re.match(r"[a-z]+://", t)}
    return links | {t.split("::")[0] for t in PATH.findall(text)}  # a test id names its file


def _exists(base: Path, target: str) -> bool:
    if "<" in target:  # a pattern such as figures/<profile>/: its fixed part must exist
        target = target.split("<")[0]
    if any(c in target for c in "*?["):
        return any(base.glob(target))
    if target.endswith("/") and target.startswith("figures/"):  # a folder commands create
        return (base / target).parent.is_dir()
    return (base / target).exists()


def test_readme_cites_only_files_a_clone_has() -> None:
    missing = sorted(
        t for t in _targets(README.read_text(encoding="utf-8")) if not (ROOT / t).exists()
    )
    assert not missing, f"README.md points at paths the repository lacks: {missing}"


def test_every_doc_the_readme_links_cites_only_files_a_clone_has() -> None:
    docs = [ROOT / t for t in LINK.findall(README.read_text(encoding="utf-8")) if t.endswith(".md")]
    assert docs, "README.md links no document"
    missing = []
    for doc in docs:
        if doc.name in DESCRIBES_OTHER_REPOS:
            continue
        for t in _targets(doc.read_text(encoding="utf-8")):
            if not (_exists(doc.parent, t) or _exists(ROOT, t)):
                missing.append(f"{doc.relative_to(ROOT)}: {t}")
    assert not missing, f"documents point at paths the repository lacks: {missing}"


def test_the_checks_above_can_fail() -> None:
    """The link finder sees the kinds of reference a README uses (so the tests above are real)."""
    text = (
        "[a](docs/absent.html), `figures/none.png`, `tests/t.py::test_x`, [b](https://example.org)"
    )
    assert _targets(text) == {"docs/absent.html", "figures/none.png", "tests/t.py"}
    assert not _exists(ROOT, "figures/*.nothing") and _exists(ROOT, "figures/*.png")


# --- verdicts: one word per comparison, the same everywhere -----------------------------------

VERDICT_ROW = re.compile(
    r"^\| (?P<pair>[^|]+? − [^|]+?) \|.*\| (?P<verdict>[a-z() ]+) \|( [^|]* \|)?$"
)
DIFFERENCES = (
    "table5_components",
    "table3_placement",
    "table4_generalization",
    "fig6a_sigma_sweep",
)


def _verdicts_on_val() -> dict[str, str]:
    import pandas as pd

    out = {}
    for name in DIFFERENCES:
        table = pd.read_csv(ROOT / "figures" / f"{name}_differences.csv", keep_default_na=False)
        for _, r in table[table["split"] == "val"].iterrows():
            out[f"{r['variant']} − {r['baseline']}"] = r["verdict"] or "(no claim)"
    return out


def test_docs_results_give_each_comparison_the_verdict_of_the_differences_tables() -> None:
    """docs/results.md's verdict column says what figures/*_differences.csv (written by the
    notebooks from the committed rows) says, comparison by comparison."""
    want = _verdicts_on_val()
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    found = {m["pair"]: m["verdict"] for m in map(VERDICT_ROW.match, text.splitlines()) if m}
    assert len(found) >= 20, f"expected the verdict tables in docs/results.md, found {found}"
    wrong = {p: (v, want.get(p)) for p, v in found.items() if want.get(p) != v}
    assert not wrong, f"docs/results.md disagrees with the differences tables: {wrong}"


def test_readme_verdict_words_match_the_differences_tables() -> None:
    want = _verdicts_on_val()
    readme = README.read_text(encoding="utf-8")
    claims = {
        "GSFM − STCN": "confirmed",
        "+LFM+HFM+boundary − STCN": "confirmed",
        "STM-read+freq − STM-read": "unresolved",
        "STCN-read+freq − STCN-read": "confirmed",
    }
    for pair, verdict in claims.items():
        assert want[pair] == verdict, f"README says {pair} is {verdict}; the tables: {want[pair]}"
    placement = [v for p, v in want.items() if p.endswith(" − freqL+freqH")]
    assert placement and set(placement) == {"unresolved"}
    assert "all five alternatives unresolved" in readme
    sigma = [v for p, v in want.items() if p.startswith("sigma=") and v != "(no claim)"]
    assert sigma and set(sigma) == {"unresolved"} and "unresolved in bins and relative" in readme


def test_the_twin_pair_is_stated_with_the_pooled_seeds_numbers() -> None:
    """README's, §3's and the summary's sentences on the twin pair (one network trained twice)
    give the estimate, interval and verdict of design (a)'s seeds pooled over both renderings
    (the pilot table's "a: own start, both renders" row), not numbers typed earlier; and the
    three-seed table's own numbers where §3 quotes them."""
    import pandas as pd

    from gsfm.ablation.designs import design_pilot
    from gsfm.ablation.docs_tables import PILOT_FOLDERS
    from gsfm.analysis.wording import interval, signed

    design = "a: own start, both renders"
    folders = {design: [ROOT / f for f in PILOT_FOLDERS[design]]}
    pilot = design_pilot(folders).set_index("pair").loc["GSFM − +LFM+HFM+boundary"]
    pooled = f"{signed(pilot['mean'])} {interval(pilot['low'], pilot['high'])}"
    dagger = "†" if pilot["seed_var"] == 0 else ""
    readme = README.read_text(encoding="utf-8")
    bullet = readme[readme.index("- **One network trained twice**") :].split("\n- ")[0]
    bullet = " ".join(bullet.split())
    assert f"{pooled}{dagger}, {pilot['verdict']}" in bullet
    results = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    summary = results[results.index("## 4. Summary against the paper") :]
    twin = " ".join(summary[summary.index("- Two runs of one network") :].split("\n- ")[0].split())
    assert f"{pooled}{dagger}" in twin and pilot["verdict"] in twin
    table = pd.read_csv(ROOT / "figures" / "table5_components_differences.csv")
    r = table[(table["split"] == "val") & (table["variant"] == "GSFM")
              & (table["baseline"] == "+LFM+HFM+boundary")].iloc[0]  # fmt: skip
    three = f"{signed(r['estimate'])} {interval(r['est_low'], r['est_high'])}"
    section = _paragraph(results, "Over these three seeds its")
    assert three in section and f"{pooled}{dagger}, **{pilot['verdict']}**" in section


def test_the_twin_paragraph_states_the_pooled_numbers_and_its_simulation() -> None:
    """docs/results.md's "The twin pair": the pooled seeds, the calibrated estimate, the pair's
    seed × video component and what simulate_coverage gives with it, from the rows; and the
    seeds trained after the question was asked (the render-1ab04f1f folder) on their own."""
    from gsfm.ablation.designs import design_pilot, pooled_differences
    from gsfm.ablation.docs_tables import PILOT_FOLDERS
    from gsfm.analysis import calibrated
    from gsfm.analysis.wording import interval, signed

    both = [ROOT / f for f in PILOT_FOLDERS["a: own start, both renders"]]
    d = pooled_differences(both, "GSFM", "+LFM+HFM+boundary")
    est = calibrated.estimate(d.to_numpy())
    n = len(d)
    sim = calibrated.simulate_coverage(6.0, 0.0, est.components.residual, n, d.shape[1], 4000)
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    para = _paragraph(text, "What the pooled seeds show")
    means = ", ".join(signed(m, 2).lstrip("+") for m in d.mean(axis=1))
    assert f"per-video means {means}" in para
    assert f"{signed(est.estimate, 2)} {interval(est.low, est.high, 2)}" in para
    assert f"seed × video {est.components.residual:.1f} J&F²) {100 * sim.miss:.1f} %" in para
    assert f"{100 * sim.miss_seed_zero:.1f} points of it with the seed part" in para

    later = PILOT_FOLDERS["a: own start, render 1ab04f1f"]
    row = design_pilot({"later": ROOT / later}).set_index("pair").loc["GSFM − +LFM+HFM+boundary"]
    dagger = "†" if row["seed_var"] == 0 else ""
    alone = f"{signed(row['mean'], 2)} {interval(row['low'], row['high'], 2)}{dagger}"
    assert f"{int(row['n_seeds'])} seeds trained after it" in para
    assert f"{alone}, {row['verdict']}" in para


def test_the_twin_pair_on_96_more_videos_is_stated_from_the_rows() -> None:
    """The twin pair's seeds scored on synth-val96-v1: the seed part they measure, the seven
    seeds' 24-video interval with that seed part, and the later seeds' own interval and verdict,
    in docs/results.md ("What 96 more videos add") and the README's bullet."""
    import math

    from scipy import stats

    from gsfm.ablation.designs import MORE_VIDEOS_SPLIT, design_pilot, pooled_differences
    from gsfm.ablation.docs_tables import MORE_VIDEOS_FOLDERS, PILOT_FOLDERS
    from gsfm.analysis import calibrated
    from gsfm.analysis.comparison import seed_interval
    from gsfm.analysis.wording import interval, signed

    twin = ("GSFM", "+LFM+HFM+boundary")
    more = ROOT / MORE_VIDEOS_FOLDERS["a: own start"]
    val96 = pooled_differences(more, *twin, split=MORE_VIDEOS_SPLIT)
    e96 = calibrated.estimate(val96.to_numpy())
    row = design_pilot({"a": more}, split=MORE_VIDEOS_SPLIT).set_index("pair").loc[" − ".join(twin)]
    d = pooled_differences([ROOT / f for f in PILOT_FOLDERS["a: own start, both renders"]], *twin)
    est = calibrated.estimate(d.to_numpy())
    s, v = d.shape
    se = math.sqrt((e96.components.seed + est.components.residual / v) / s)
    half = stats.t.ppf(0.975, s - 1) * se
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    para = _paragraph(text, "What 96 more videos add")
    assert f"is {e96.components.seed:.1f} J&F²" in para
    assert (
        f"to {interval(est.estimate - half, est.estimate + half, 2)} (standard error {se:.2f}"
        in para
    )
    assert f"give {signed(row['mean'], 2)} {interval(row['low'], row['high'], 2)}" in para
    assert row["verdict"] == "unresolved" and "the twin pair is **unresolved**" in para
    # the t interval over the seven seed means, each over every video its seed was scored on
    means = d.mean(axis=1)
    for seed in val96.index:
        means[seed] = (d.loc[seed].sum() + val96.loc[seed].sum()) / (v + val96.shape[1])
    m, t = seed_interval(means)
    assert f"gives {signed(m, 2)} {interval(m - t, m + t, 2)}" in para
    bullet = README.read_text(encoding="utf-8")
    bullet = " ".join(
        bullet[bullet.index("- **One network trained twice**") :].split("\n- ")[0].split()
    )
    assert f"give {signed(row['mean'])} {interval(row['low'], row['high'])}" in bullet
    assert f"at {e96.components.seed:.1f} J&F²" in bullet and "draws it is unresolved" in bullet


def test_the_twin_pair_from_a_shared_start_is_stated_from_the_rows() -> None:
    """Design (b) on synth-val96-v1: the calibrated interval and verdict, the t intervals over
    the seed means (96 and 120 videos a seed), the MDE with the estimated seed part and with its
    95 % bound, and the F test of the two designs' seed parts, in docs/results.md ("What a
    shared start settles", "(c) More videos") and the README's bullet."""
    import dataclasses
    import math

    from gsfm.ablation.designs import MORE_VIDEOS_SPLIT, compare_designs, pooled_differences
    from gsfm.ablation.docs_tables import MORE_VIDEOS_FOLDERS, PILOT_FOLDERS
    from gsfm.analysis import calibrated
    from gsfm.analysis.comparison import seed_interval
    from gsfm.analysis.wording import interval, signed

    twin = ("GSFM", "+LFM+HFM+boundary")
    b96 = pooled_differences(ROOT / MORE_VIDEOS_FOLDERS["b: shared start"], *twin,
                             split=MORE_VIDEOS_SPLIT)  # fmt: skip
    b24 = pooled_differences(ROOT / PILOT_FOLDERS["b: shared start"], *twin)
    est = calibrated.estimate(b96.to_numpy())
    verdict = calibrated.claim_verdict(est.low, est.high, 0)
    dagger = "†" if est.components.seed == 0 else ""
    assert verdict == "bounded"

    def t_interval(means) -> str:
        m, half = seed_interval(means)
        return f"{signed(m, 2)} {interval(m - half, m + half, 2)}"

    both = (b24.sum(axis=1) + b96.sum(axis=1)) / (b24.shape[1] + b96.shape[1])
    up = calibrated.seed_part_upper(b96.to_numpy())
    # the MDE if the seed part were as large as its bound (the components' own variance of a mean)
    at_bound = dataclasses.replace(est.components, seed=up)
    mde_up = calibrated.minimum_detectable_effect(
        math.sqrt(at_bound.variance_of_mean()), at_bound.n_seeds - 1
    )
    mde = calibrated.minimum_detectable_effect(est.se, est.df)
    f = compare_designs(MORE_VIDEOS_FOLDERS, "a: own start", "b: shared start",
                        split=MORE_VIDEOS_SPLIT).iloc[0]  # fmt: skip
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    para = _paragraph(text, "What a shared start settles")
    words = {4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
    assert f"Over {words[len(b96)]} seeds on the 96 videos" in para
    assert (
        f"{signed(est.estimate, 2)} {interval(est.low, est.high, 2)}{dagger}, **{verdict}**" in para
    )
    assert f"seed means gives {t_interval(b96.mean(axis=1))}" in para
    assert (
        f"{b24.shape[1] + b96.shape[1]} videos (val and val96 together) {t_interval(both)}" in para
    )
    assert f"{mde:.1f} J&F with the estimated components, and {mde_up:.1f} J&F" in para
    assert f"95 % bound ({up:.1f} J&F²)" in para
    c_para = _paragraph(text, "Design (b)'s twins, on the same 96 videos")
    assert f"F = {f['ratio']:.1f} on ({int(f['df1'])}, {int(f['df2'])}) degrees" in c_para
    assert f"one-sided p = {f['p']:.3f}" in c_para and f"upper bound of {up:.1f} J&F²" in c_para
    bullet = " ".join(README.read_text(encoding="utf-8").split())
    assert f"give {signed(est.estimate)} {interval(est.low, est.high)}{dagger}, {verdict}" in bullet


def test_the_shared_start_twins_video_by_video_are_stated_from_the_rows() -> None:
    """Design (b)'s twins on the 24 val videos ("Buying power"): each seed's SD over videos,
    its correlation with design (a)'s mean per-video difference, and the range of the seeds'
    correlations with each other."""
    import itertools

    import numpy as np

    from gsfm.ablation.designs import pooled_differences
    from gsfm.ablation.docs_tables import PILOT_FOLDERS
    from gsfm.analysis.wording import signed

    twin = ("GSFM", "+LFM+HFM+boundary")
    b = pooled_differences(ROOT / PILOT_FOLDERS["b: shared start"], *twin)
    a = pooled_differences([ROOT / f for f in PILOT_FOLDERS["a: own start, both renders"]], *twin)
    a_mean = a.mean(axis=0)[b.columns]
    sds = [f"{x:.1f}" for x in b.std(axis=1, ddof=1)]
    with_a = [signed(np.corrcoef(b.loc[s], a_mean)[0, 1], 2) for s in b.index]
    pairs = [np.corrcoef(b.loc[i], b.loc[j])[0, 1] for i, j in itertools.combinations(b.index, 2)]
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    para = _paragraph(text, "Design (b) has five seeds")
    assert f"(SD {', '.join(sds[:-1])} and {sds[-1]} J&F over the 24 videos)" in para
    assert f"(correlation {', '.join(with_a[:-1])} and {with_a[-1]} with (a)'s mean" in para
    assert f"({signed(min(pairs), 2)} to {signed(max(pairs), 2)} over the ten pairs" in para


def test_gsfm_minus_stcn_from_a_shared_start_is_stated_from_the_rows() -> None:
    """GSFM − STCN under design (b) on synth-val96-v1 ("GSFM − STCN from a shared start" in
    docs/results.md, and the README): the calibrated interval and verdict, the t interval over
    the seed means, the 24-video interval, and the F test of the two designs' seed parts."""

    from gsfm.ablation.designs import MORE_VIDEOS_SPLIT, compare_designs, pooled_differences
    from gsfm.ablation.docs_tables import MORE_VIDEOS_FOLDERS, PILOT_FOLDERS
    from gsfm.ablation.paper import paper_sign
    from gsfm.analysis import calibrated
    from gsfm.analysis.comparison import seed_interval
    from gsfm.analysis.wording import interval, signed

    pair = ("GSFM", "STCN")
    b96 = pooled_differences(ROOT / MORE_VIDEOS_FOLDERS["b: shared start"], *pair,
                             split=MORE_VIDEOS_SPLIT)  # fmt: skip
    b24 = pooled_differences(ROOT / PILOT_FOLDERS["b: shared start"], *pair)
    est, e24 = calibrated.estimate(b96.to_numpy()), calibrated.estimate(b24.to_numpy())
    sign = paper_sign("components", *pair)
    verdict = calibrated.claim_verdict(est.low, est.high, sign)
    v24 = calibrated.claim_verdict(e24.low, e24.high, sign)
    means = b96.mean(axis=1)
    m, half = seed_interval(means)
    up = calibrated.seed_part_upper(b96.to_numpy())
    folders = {
        "a": [ROOT / f for f in PILOT_FOLDERS["a: own start, both renders"]],
        "b": ROOT / PILOT_FOLDERS["b: shared start"],
    }
    f = compare_designs(folders, "a", "b", pair).iloc[0]  # on the 24 val videos
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    para = _paragraph(text, "**GSFM − STCN from a shared start.**")
    dagger = "†" if est.components.seed == 0 else ""
    per_seed = " ".join(signed(x, 2) for x in means)
    assert f"per seed {per_seed}" in para
    assert (
        f"{signed(est.estimate, 2)} {interval(est.low, est.high, 2)}{dagger}, **{verdict}**" in para
    )
    assert f"over the seed means {interval(m - half, m + half, 2)}" in para
    assert f"{signed(e24.estimate, 2)} {interval(e24.low, e24.high, 2)}, {v24}" in para
    assert f"{est.components.seed:.1f} J&F² (95 % bound {up:.1f})" in para
    assert f"F = {f['ratio']:.2f} on ({int(f['df1'])}, {int(f['df2'])})" in para
    assert f"one-sided p = {f['p']:.2f}" in para
    bullet = " ".join(README.read_text(encoding="utf-8").split())
    assert f"shared start: {signed(est.estimate)} {interval(est.low, est.high)}{dagger}" in bullet
