"""Notebook 01's σ explorer in a real browser: JupyterLab, headless Chromium, playwright.

The test starts a JupyterLab server on a prepared copy of notebook 01 (profile "smoke",
``interactive=True``), opens it in Debian's Chromium (``/usr/bin/chromium``; nothing is
downloaded), runs every cell from the Run menu, moves the σ slider with the keyboard and checks
that the explorer's caption (its title text) and the figure's pixels changed. It skips, with the
reason, where Chromium or playwright is missing (``make test-browser`` runs it alone;
``make test`` installs Chromium with apt when run as root).
"""

from __future__ import annotations

import base64
import io
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from gsfm.runtime import project_root

pytestmark = pytest.mark.browser

ROOT = project_root(Path(__file__).parent)
NOTEBOOK = ROOT / "notebooks" / "01_spectral_filtering_on_images.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium as root in a sandbox without network: no sandbox, no GPU, no background traffic
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server serving a smoke-profile copy of notebook 01; yields (url, log)."""
    yield from serve_notebook(
        tmp_path, NOTEBOOK, {"profile": "smoke", "figures_dir": str(tmp_path / "figures")}
    )


def run_all_cells(browser: Any, url: str) -> Any:
    """Open ``url`` (a notebook in JupyterLab) in a new page and run all its cells; the page."""
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    # the kernel must be up before "Run All", or the request is lost
    page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=120_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    return page


def serve_notebook(
    tmp_path: Path, notebook: Path, parameters: dict[str, object]
) -> Iterator[tuple[str, Path]]:
    """Start JupyterLab on a copy of ``notebook`` with ``parameters`` injected (nothing run);
    yield (url of the copy, server log); stop the server. Skips without Chromium/playwright."""
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    import papermill

    work = tmp_path / "lab"
    work.mkdir()
    papermill.execute_notebook(
        str(notebook),
        str(work / "explorer.ipynb"),
        parameters=parameters,
        prepare_only=True,  # parameters injected, nothing executed: the browser runs it
    )
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path / "home"
    # render every cell, not only those in view (JupyterLab 4 windows long notebooks)
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    env = {
        **os.environ,
        "HOME": str(home),  # no user settings or workspaces leak in
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "OMP_NUM_THREADS": "1",
    }
    env.pop("MPLBACKEND", None)  # conftest's Agg would keep the kernel from drawing inline PNGs
    log = tmp_path / "jupyter.log"
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield f"{base}/lab/tree/explorer.ipynb?token={token}", log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _pixels(src: str) -> np.ndarray:
    """The RGB pixels of an ``<img src="data:image/png;base64,...">``."""
    data = base64.b64decode(src.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _caption(text: str) -> str:
    """The explorer's title line (``σ = N bins ...``) from the widget's visible text."""
    lines = [line for line in text.splitlines() if re.match(r"σ = \d+ bins", line.strip())]
    assert lines, f"no 'σ = N bins' caption in the explorer: {text[:300]!r}"
    return lines[0].strip()


def test_sigma_slider_redraws_the_explorer(lab: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    url, log = lab
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = run_all_cells(browser, url)

            # gsfm.viz.spectral.sigma_explorer tags its parts with gsfm-sigma-* classes
            explorer = page.locator(".gsfm-sigma-explorer").last
            explorer.wait_for(timeout=300_000)
            explorer.scroll_into_view_if_needed()  # off-screen cells may not be painted
            image = explorer.locator(".gsfm-sigma-output img").last
            try:
                image.wait_for(timeout=120_000)
            except Exception:
                page.screenshot(path=str(log.with_name("page.png")), full_page=True)
                pytest.fail(
                    f"no figure in the explorer (screenshot {log.with_name('page.png')}):\n"
                    f"{explorer.inner_html()[-2000:]}"
                )
            title = explorer.locator(".gsfm-sigma-title")
            before = (_caption(title.inner_text()), image.get_attribute("src") or "")

            explorer.locator(".gsfm-sigma-slider .noUi-handle").first.focus()
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            deadline = time.monotonic() + 120
            while (image.get_attribute("src") or "") == before[1] and time.monotonic() < deadline:
                time.sleep(0.5)
            after = (_caption(title.inner_text()), image.get_attribute("src") or "")
        finally:
            browser.close()
    assert after[0] != before[0], f"the caption did not change: {after[0]!r}"
    old, new = _pixels(before[1]), _pixels(after[1])
    assert old.shape != new.shape or np.abs(old.astype(int) - new.astype(int)).max() > 0, (
        f"the figure's pixels did not change (server log: {log})"
    )
