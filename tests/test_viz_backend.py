"""The plotting modules leave matplotlib's backend to the caller (a Jupyter kernel's inline
backend must survive ``import gsfm.viz...``; tests and the CLI set ``MPLBACKEND``)."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import gsfm.viz


def test_importing_every_viz_module_keeps_the_callers_backend() -> None:
    names = sorted(m.name for m in pkgutil.walk_packages(gsfm.viz.__path__, "gsfm.viz."))
    assert "gsfm.viz.matching" in names  # the walk found the modules
    code = (
        "import importlib, sys, matplotlib; matplotlib.use('svg'); "
        "[importlib.import_module(n) for n in sys.argv[1:]]; print(matplotlib.get_backend())"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "svg", f"a gsfm.viz module switched the backend: {names}"
