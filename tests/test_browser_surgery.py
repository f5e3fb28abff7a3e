"""Notebook 07's surgery controls in a real browser: JupyterLab, headless Chromium, playwright.

As ``tests/test_browser.py`` does for notebook 01's σ slider: a smoke-profile copy of notebook
07 (an untrained network, one short video) runs from the Run menu; the test ticks the
"LFM on" box of the surgery widget (it starts with the LFM bypassed) and checks that the
readout line and the figure's pixels changed. Skips, saying why, without Chromium/playwright.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, _pixels, run_all_cells, serve_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = ROOT / "notebooks" / "07_spectral_surgery.ipynb"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    params = {"profile": "smoke", "figures_dir": str(tmp_path / "figures"),
              "data_dir": str(tmp_path / "data"), "n_videos": 1, "n_frames": 3}  # fmt: skip
    yield from serve_notebook(tmp_path, NOTEBOOK, params)


def test_lfm_switch_redraws_the_surgery_readout_and_figure(lab: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    url, log = lab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = run_all_cells(browser, url)

            # gsfm.viz.surgery.surgery_widget tags its parts with gsfm-surgery-* classes
            box = page.locator(".gsfm-surgery").last
            box.wait_for(timeout=600_000)
            box.scroll_into_view_if_needed()
            image = box.locator(".gsfm-surgery-output img").last
            readout = box.locator(".gsfm-surgery-readout")
            try:
                image.wait_for(timeout=300_000)
            except Exception:
                page.screenshot(path=str(log.with_name("page.png")), full_page=True)
                pytest.fail(f"no figure in the surgery widget:\n{box.inner_html()[-2000:]}")
            before = (readout.inner_text().strip(), image.get_attribute("src") or "")
            assert before[0].startswith("GSFM, LFM bypassed"), before[0]

            box.locator(".gsfm-surgery-lfm input[type=checkbox]").check()
            deadline = time.monotonic() + 300
            while (image.get_attribute("src") or "") == before[1] and time.monotonic() < deadline:
                time.sleep(0.5)
            after = (readout.inner_text().strip(), image.get_attribute("src") or "")
        finally:
            browser.close()
    assert after[0].startswith("GSFM, as trained"), f"the readout did not change: {after[0]!r}"
    old, new = _pixels(before[1]), _pixels(after[1])
    assert old.shape != new.shape or np.abs(old.astype(int) - new.astype(int)).max() > 0, (
        f"the figure's pixels did not change (server log: {log})"
    )
