"""One device label (gsfm.runtime.device_label) and its reader (device_type): the labels the
committed results tables hold are exactly what it makes, and read back to the right kind."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import torch

from gsfm.ablation.store import provenance_device
from gsfm.runtime import device_label, device_name, device_type

ROOT = Path(__file__).resolve().parents[1]
TABLES = sorted((ROOT / "results").rglob("*.csv"))


def test_cpu_labels_and_their_kind() -> None:
    assert device_label("cpu", 1) == "cpu, 1 thread"
    assert device_label(torch.device("cpu"), 4) == "cpu, 4 threads"
    assert device_label("cpu") == "cpu"  # a run's provenance: threads recorded apart
    for label in ("cpu", "cpu, 1 thread", "cpu, 16 threads"):
        assert device_type(label) == "cpu"
    assert device_type("cuda:0 (NVIDIA H100 80GB HBM3)") == "cuda"
    assert device_name("cpu") == device_label("cpu", torch.get_num_threads())


def test_cuda_label_names_the_card(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda dev: "NVIDIA H200")
    label = device_label("cuda:0", 8)
    assert label == "cuda:0 (NVIDIA H200)"
    assert device_type(label) == "cuda"


def test_row_labels_from_provenance() -> None:
    assert provenance_device({"device": "cpu", "torch_threads": 1}) == "cpu, 1 thread"
    assert provenance_device({"device": "cpu", "torch_threads": 2}) == "cpu, 2 threads"
    assert provenance_device({"device": "cuda:0 (NVIDIA H200)", "torch_threads": 16}) == (
        "cuda:0 (NVIDIA H200)"
    )


def test_committed_device_columns_are_labels_of_this_format() -> None:
    cuda = re.compile(r"cuda(:\d+)? \(.+\)")
    seen = 0
    for path in TABLES:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in (c for c in table.columns if c in ("device", "eval_device")):
            for value in set(table[column]):
                seen += 1
                if device_type(value) == "cpu":
                    threads = re.fullmatch(r"cpu, (\d+) threads?", value)
                    n = int(threads.group(1)) if threads else None
                    assert device_label("cpu", n) == value, (path, column, value)
                else:
                    assert cuda.fullmatch(value), (path, column, value)
    assert seen > 0
