"""Test-wide settings: deterministic Hypothesis, headless matplotlib, a fixed thread count.

Torch uses ``min(2, cores)`` threads, or ``GSFM_TEST_THREADS`` when set, so that the
numerics-sensitive tests can be run with 1 and 2 threads (and under several
``ATEN_CPU_CAPABILITY`` values, which PyTorch reads at start-up): see ``make test-numerics``.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

# Derandomised: the same examples on every run, so CI cannot flake on a rare draw.
settings.register_profile("gsfm", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("gsfm")

torch.set_num_threads(int(os.environ.get("GSFM_TEST_THREADS") or min(2, os.cpu_count() or 1)))


@pytest.fixture
def one_thread():
    """One torch thread for tests of many tiny ops: on a busy 2-core machine they run far
    slower with two threads fighting over the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
