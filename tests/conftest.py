"""Test-wide settings: deterministic Hypothesis, headless matplotlib, a fixed thread count."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

# Derandomised: the same examples on every run, so CI cannot flake on a rare draw.
settings.register_profile("gsfm", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("gsfm")

torch.set_num_threads(min(2, os.cpu_count() or 1))
