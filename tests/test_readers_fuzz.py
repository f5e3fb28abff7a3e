"""Fuzzing every file reader: random bytes, truncations and wrong shapes give a correct read or
one :class:`gsfm.errors.GsfmError` that carries the path and names it in its message.

Readers: annotation masks (palette / grey PNG, :func:`gsfm.data.io.read_mask`), JPEG frames
(:func:`gsfm.data.io.read_image`, :func:`gsfm.data.io.image_size`), checkpoints
(:func:`gsfm.files.read_torch_file`, :func:`gsfm.checkpoint.load_state` and
:func:`gsfm.checkpoint.model_weights`), a run's ``config.json``
(:meth:`gsfm.training.run_folder.RunFolder.read_config`,
:func:`gsfm.training.api.saved_run_settings`) and a synth split's manifest
(:func:`gsfm.data.synthetic.read_split_record`, :func:`gsfm.data.synthetic.split_problems`,
which report a damaged manifest as a problem naming it). Each property runs 200 examples of a
few microseconds to milliseconds each (a tiny file per example). One command-line case per
reader then checks the user's view: one line, exit code 2, no traceback, nothing written.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gsfm.checkpoint import load_state, model_weights
from gsfm.cli import main
from gsfm.data.io import image_size, read_image, read_mask, write_image, write_mask
from gsfm.errors import GsfmError
from gsfm.files import read_torch_file

sys.path.insert(0, str(Path(__file__).parent))
from _data_fixtures import write_davis2017  # noqa: E402

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(array, mode=mode) if mode else Image.fromarray(array)
    if img.mode == "P":
        img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] * 85 + [0, 0, 0])
    img.save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(array: np.ndarray, **kw: Any) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", **kw)
    return buf.getvalue()


_RNG = np.random.default_rng(0)
VALID_MASK = _png(_RNG.integers(0, 4, (12, 20), dtype=np.uint8), "P")
VALID_GREY = _png(np.where(_RNG.random((12, 20)) > 0.5, 255, 0).astype(np.uint8), "L")
VALID_JPEG = _jpeg(_RNG.integers(0, 255, (12, 20, 3), dtype=np.uint8), quality=90)
_buf = io.BytesIO()
torch.save({"format": "gsfm", "model": {"w": torch.zeros(3, 2)}, "config": {}}, _buf)
VALID_CKPT = _buf.getvalue()


def _truncations(data: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(0, len(data) - 1).map(lambda n: data[:n])


def _flips(data: bytes) -> st.SearchStrategy[bytes]:
    def flip(args: tuple[int, int]) -> bytes:
        i, b = args
        return data[:i] + bytes([b]) + data[i + 1 :]

    return st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)).map(flip)


_shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))


@st.composite
def _wrong_shape_images(draw: st.DrawFn) -> bytes:
    """Valid image files of other kinds: RGB(A), LA, 16-bit and 1-bit PNGs, JPEGs of any
    colour mode, tiny sizes."""
    h, w = draw(_shapes)
    kind = draw(st.sampled_from(["RGB", "RGBA", "LA", "I16", "1", "L", "P", "jpegL", "jpegCMYK"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "RGB":
        return _png(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    if kind == "RGBA":
        return _png(rng.integers(0, 255, (h, w, 4), dtype=np.uint8))
    if kind == "LA":
        return _png(rng.integers(0, 255, (h, w, 2), dtype=np.uint8), "LA")
    if kind == "I16":
        return _png(rng.integers(0, 70000, (h, w)).astype(np.uint16))
    if kind == "1":
        return _png(rng.integers(0, 2, (h, w)).astype(bool))
    if kind in ("L", "P"):
        return _png(rng.integers(0, 255, (h, w), dtype=np.uint8), kind)
    buf = io.BytesIO()
    grey = Image.fromarray(rng.integers(0, 255, (h, w), dtype=np.uint8))
    (grey if kind == "jpegL" else grey.convert("CMYK")).save(buf, format="JPEG")
    return buf.getvalue()


def _image_bytes(valid: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=256), _truncations(valid), _flips(valid), _wrong_shape_images()
    )


def _check(read, data: bytes, name: str) -> Any:
    """``read(path)`` on a file holding ``data``: its value, or a GsfmError naming the path.

    Returns the value, or None after an error; the folder holds only the file afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            out = read(path)
        except GsfmError as exc:
            assert exc.path == str(path), (exc.path, path)
            assert str(path) in str(exc), str(exc)
            assert "\n" not in str(exc)
            out = None
        assert [p.name for p in Path(tmp).iterdir()] == [name]  # nothing left behind
        return out


# --- masks ---------------------------------------------------------------------------------


@FUZZ
@given(data=st.one_of(_image_bytes(VALID_MASK), _truncations(VALID_GREY)))
def test_fuzz_read_mask(data: bytes) -> None:
    out = _check(read_mask, data, "00000.png")
    if out is not None:
        assert out.dtype == np.uint8 and out.ndim == 2


# --- JPEG frames -------------------------------------------------------------------------------


@FUZZ
@given(data=_image_bytes(VALID_JPEG))
def test_fuzz_read_image_and_its_header(data: bytes) -> None:
    out = _check(read_image, data, "00000.jpg")
    if out is not None:
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    size = _check(image_size, data, "00000.jpg")
    if out is not None:
        assert size == out.shape[:2]


# --- checkpoints -----------------------------------------------------------------------------

_tensors = st.builds(
    lambda shape: torch.zeros(shape), st.lists(st.integers(0, 3), min_size=0, max_size=3)
)
_leaves = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=5), _tensors)
_payloads = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["format", "model", "config", "state_dict", "w"]), inner,
                        max_size=3),
    ),
    max_leaves=6,
)  # fmt: skip


def _saved(payload: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def _read_checkpoint(path: Path) -> Any:
    read_torch_file(path)  # the one loader
    state = load_state(path)
    return model_weights(state, path)


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=256),
        _truncations(VALID_CKPT),
        _flips(VALID_CKPT),
        _payloads.map(_saved),  # readable files of the wrong shape
        st.dictionaries(st.just("format"), st.just("gsfm")).map(
            lambda d: _saved({**d, "model": [1, 2]})
        ),
    )
)
def test_fuzz_checkpoint_readers(data: bytes) -> None:
    out = _check(_read_checkpoint, data, "model.pt")
    if out is not None:
        assert isinstance(out, dict)


# --- a run's config.json ---------------------------------------------------------------------

_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
VALID_CONFIG = {
    "model_name": "stcn",
    "profile": "smoke",
    "data": ["synth"],
    "init": None,
    "train": {"stage": "main", "seed": 0, "iterations": 4},
    "model": {"name": "stcn"},
}


@st.composite
def _configs(draw: st.DrawFn) -> bytes:
    """config.json texts: random bytes, truncations, and the valid one with entries replaced
    by random JSON or removed."""
    text = json.dumps(VALID_CONFIG).encode()
    how = draw(st.sampled_from(["bytes", "trunc", "replace", "drop", "json"]))
    if how == "bytes":
        return draw(st.binary(max_size=128))
    if how == "trunc":
        return draw(_truncations(text))
    if how == "json":
        return json.dumps(draw(_json)).encode()
    config = json.loads(text)
    key = draw(st.sampled_from(sorted(config)))
    if how == "drop":
        del config[key]
    else:
        config[key] = draw(_json)
    return json.dumps(config).encode()


def _read_run_config(path: Path) -> Any:
    from gsfm.training.api import saved_run_settings
    from gsfm.training.run_folder import RunFolder

    RunFolder(path.parent).read_config()
    return saved_run_settings(path.parent)


@FUZZ
@given(data=_configs())
def test_fuzz_run_config_reader(data: bytes) -> None:
    out = _check(_read_run_config, data, "config.json")
    if out is not None:
        assert isinstance(out["model"], str) and isinstance(out["data"], list)
        assert all(isinstance(d, str) for d in out["data"])


# --- synth split manifests ---------------------------------------------------------------------

TINY = {"limit": 1, "height": 16, "width": 16}


@pytest.fixture(scope="module")
def tiny_split(tmp_path_factory) -> Path:
    from gsfm.data.synthetic import write_split

    return write_split(tmp_path_factory.mktemp("fuzz") / "split", progress=False, **TINY)


@st.composite
def _manifests(draw: st.DrawFn, valid: bytes) -> bytes:
    how = draw(st.sampled_from(["bytes", "trunc", "replace", "drop", "json", "digest"]))
    if how == "bytes":
        return draw(st.binary(max_size=128))
    if how == "trunc":
        return draw(_truncations(valid))
    if how == "json":
        return json.dumps(draw(_json)).encode()
    record = json.loads(valid)
    if how == "digest":  # one file's digest changed
        key = draw(st.sampled_from(sorted(record["digests"])))
        record["digests"][key] = draw(st.text("0123456789abcdef", min_size=64, max_size=64))
        return json.dumps(record).encode()
    key = draw(st.sampled_from(sorted(record)))
    if how == "drop":
        del record[key]
    else:
        record[key] = draw(_json)
    return json.dumps(record).encode()


def test_fuzz_split_manifest(tiny_split):
    from gsfm.data.synthetic import read_split_record, split_problems, split_settings

    meta = tiny_split / "synth_val.json"
    valid = meta.read_bytes()
    identity = split_settings("val", **TINY)
    assert split_problems(tiny_split, identity) == []

    @FUZZ
    @given(data=_manifests(valid))
    def check(data: bytes) -> None:
        meta.write_bytes(data)
        try:
            record = read_split_record(tiny_split, "val")
            problems = split_problems(tiny_split, identity)
        finally:
            meta.write_bytes(valid)
        assert record is None or isinstance(record, dict)
        assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
        checked = {k: v for k, v in json.loads(valid).items() if k != "parameters"}
        same = record is not None and all(record.get(k) == v for k, v in checked.items())
        if not same and not (record is not None and record.get("digests") is None):
            # anything but the valid identity and digests (or no digests at all: a split of
            # an older gsfm, "unverified") is a problem; "parameters" is documentation
            assert problems, data
            assert any("synth_val.json" in p or "changed" in p for p in problems), problems

    check()


# --- the command line: one line, exit code 2, no traceback, nothing written -------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _one_line(capsys, path: Path, *more: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert str(path) in err and "Traceback" not in err
    assert all(m in err for m in more), err


def test_cli_garbage_prediction_mask(tmp_path, capsys):
    root = write_davis2017(tmp_path / "d", {"a": 4})
    pred = tmp_path / "pred"
    shutil.copytree(root / "Annotations" / "480p", pred)
    bad = pred / "a" / "00002.png"
    bad.write_bytes(VALID_MASK[:40])
    assert main(["score", "--gt", str(root), "--pred", str(pred), "--quiet"]) == 2
    _one_line(capsys, bad)
    assert not (pred / "results.csv").exists()


@pytest.fixture
def smoke_checkpoint(tmp_path) -> Path:
    """A small valid PyTorch file in the checkpoint format (no model is built: cheap)."""
    path = tmp_path / "m.pt"
    path.write_bytes(VALID_CKPT)
    return path


def test_cli_garbage_jpeg_frame(tmp_path, capsys, smoke_checkpoint):
    root = write_davis2017(tmp_path / "d", {"a": 4})
    bad = root / "JPEGImages" / "480p" / "a" / "00001.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    pred = tmp_path / "pred"
    argv = [
        "predict",
        "--checkpoint",
        str(smoke_checkpoint),
        "--data",
        str(root),
        "--out",
        str(pred),
    ]
    assert main([*argv, "--quiet"]) == 2
    _one_line(capsys, bad)
    assert not pred.exists() and not list(tmp_path.glob(".pred*"))


def test_cli_truncated_checkpoint(tmp_path, capsys, smoke_checkpoint):
    root = write_davis2017(tmp_path / "d", {"a": 4})
    bad = tmp_path / "cut.pt"
    data = smoke_checkpoint.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    pred = tmp_path / "pred"
    argv = ["predict", "--checkpoint", str(bad), "--data", str(root), "--out", str(pred)]
    assert main(argv) == 2
    _one_line(capsys, bad)
    assert not pred.exists()


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", b'["a list"]', b'{"model_name": 3}'])
def test_cli_bad_run_config(tmp_path, capsys, content):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_bytes(content)
    before = _tree(run)
    assert main(["train", "--out", str(run), "--resume", "--no-progress"]) == 2
    _one_line(capsys, run / "config.json")
    assert _tree(run) == before


def test_cli_garbage_split_manifest(tiny_split, tmp_path, capsys):
    root = tmp_path / "split"
    shutil.copytree(tiny_split, root)
    (root / "synth_val.json").write_bytes(b"\x00\x01 not json")
    before = _tree(root)
    argv = ["synth", "--out", str(root), "--limit", "1", "--height", "16", "--width", "16"]
    assert main([*argv, "--quiet"]) == 2
    _one_line(capsys, root, "synth_val.json")
    assert _tree(root) == before


def test_writers_leave_nothing_half_written(tmp_path):
    # the writers behind every reader above are atomic: a failing write leaves no file
    with pytest.raises(ValueError):
        write_mask(tmp_path / "m.png", np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError):
        write_image(tmp_path / "f.jpg", np.zeros((2, 2), np.uint8))
    assert list(tmp_path.iterdir()) == []
