"""The ``youtube`` inference protocol of gsfm.inference against the default ``davis`` one.

Each test builds a small case where the two protocols behave differently and checks the
``youtube`` result against an expectation computed here: the memory cadence counted from the last
memory frame, annotations edited into the aggregated probabilities and aggregated again, frames
resized to a shorter side (and probabilities brought back to the original size), and the
plumbing through ``predict_folder``, ``evaluate_checkpoint`` and ``python -m gsfm predict``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _data_fixtures import write_davis2017, write_youtube_valid
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from gsfm.inference import InferenceEngine, InferenceSettings, short_side_size, unpad
from gsfm.model import build_model
from gsfm.model.aggregate import aggregate
from gsfm.prediction import is_youtube_split, predict_folder, predict_youtube

# float results of torch kernels: rerun under other CPU capabilities (make test-numerics)
# `numerics` (rerun under ATEN_CPU_CAPABILITY=default by `make test`) marks only the tests
# whose float comparisons a kernel's rounding can move; the others check shapes, logic and
# errors, which no capability changes.
pytestmark = pytest.mark.usefixtures("one_thread")


def _model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model("gsfm", "smoke").eval()


@pytest.fixture(scope="module")
def model():
    return _model()


def _frames(t: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(t, 3, h, w, generator=torch.Generator().manual_seed(seed))


def _first_annotation(h: int, w: int) -> torch.Tensor:
    ann = torch.zeros(h, w, dtype=torch.long)
    ann[4:18, 6:24] = 3
    ann[20:30, 28:44] = 7
    return ann


def _record(model, name: str) -> list:
    """Replace ``model.<name>`` on this instance by a wrapper that records (inputs, output)."""
    calls: list = []
    real = getattr(model, name)

    def wrapper(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append((args, out))
        return out

    setattr(model, name, wrapper)
    return calls


# --- 2. memory frames ------------------------------------------------------------------------
def test_memory_frames_absolute_for_davis_relative_for_youtube(model) -> None:
    h, w = 32, 48  # short side 32 = the youtube target: no resizing, only the cadence differs
    frames = _frames(11, h, w)
    late = torch.zeros(h, w, dtype=torch.long)
    late[2:10, 30:40] = 9
    anns = {0: _first_annotation(h, w), 4: late}
    davis = InferenceEngine(model, InferenceSettings(mem_every=3)).propagate(frames, anns)
    youtube = InferenceEngine(
        model, InferenceSettings(mem_every=3, protocol="youtube", short_side=32)
    ).propagate(frames, anns)
    # davis: annotated frames 0, 4 + absolute multiples of 3 (9 included; 10 is the last)
    assert davis.memory_frames == [0, 3, 4, 6, 9]
    # youtube: 0 (annotated), 3 (3 - 0), 4 (annotated), 7 (7 - 4); frame 10 (10 - 7 = 3) is
    # the last frame and never goes in
    assert youtube.memory_frames == [0, 3, 4, 7]
    assert davis.labels == youtube.labels == [3, 7, 9]


def test_youtube_memory_cadence_restarts_at_each_annotation(model) -> None:
    h, w = 32, 32
    frames = _frames(9, h, w, seed=1)
    late = torch.zeros(h, w, dtype=torch.long)
    late[20:28, 2:10] = 5
    eng = InferenceEngine(model, InferenceSettings(mem_every=2, protocol="youtube", short_side=32))
    res = eng.propagate(frames, {1: _first_annotation(h, w), 4: late})
    assert res.memory_frames == [1, 3, 4, 6]  # frame 8 is last; davis would give [1, 2, 4, 6]
    assert InferenceEngine(model, InferenceSettings(mem_every=2)).propagate(
        frames, {1: _first_annotation(h, w), 4: late}
    ).memory_frames == [1, 2, 4, 6]


# --- 3. mid-video annotations ------------------------------------------------------------------
@pytest.mark.numerics
def test_mid_video_annotation_is_edited_into_aggregated_probabilities() -> None:
    """At an annotated frame, youtube = aggregate(edit(aggregate(sigmoid))), davis =
    aggregate(merge(sigmoid)); both computed here from the decoder's recorded logits."""
    h, w = 32, 48  # multiples of 16: no padding, so the recorded logits are at frame size
    frames = _frames(5, h, w, seed=2)
    first = _first_annotation(h, w)
    again = torch.zeros(h, w, dtype=torch.long)
    again[8:20, 14:30] = 9  # a new object, over part of object 3
    again[22:28, 36:46] = 7  # object 7 annotated again, moved
    anns = {0: first, 3: again}
    region = again > 0
    results = {}
    for protocol in ("davis", "youtube"):
        net = _model()
        decoded = _record(net, "decode")
        eng = InferenceEngine(net, InferenceSettings(mem_every=3, protocol=protocol, short_side=h))
        res = eng.propagate(frames, anns, return_probs=True)
        assert res.labels == [3, 7, 9] and res.memory_frames == [0, 3]
        assert len(decoded) == 4  # frames 1..4 (frame 0 has no memory to read)
        sig = torch.sigmoid(decoded[2][1][0][0].float())  # frame 3: (2, H, W) for objects 3, 7
        assert sig.shape == (2, h, w)
        if protocol == "youtube":
            p = aggregate(sig[None])[0]  # [bg, 3, 7]
            p = p * ~region  # every channel, background included, is 0 under the annotation
            obj = torch.stack([p[1], (again == 7).float(), (again == 9).float()])
        else:
            o = sig * ~region
            o[1][again == 7] = 1.0  # the prediction of 7 is kept outside its new mask
            obj = torch.cat([o, (again == 9).float()[None]])
        expected = aggregate(obj[None])[0]
        got = torch.from_numpy(res.probs[3])
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
        results[protocol] = res
    # the protocols really differ here, outside the annotated pixels too
    diff = np.abs(results["youtube"].probs[3] - results["davis"].probs[3])
    assert diff.max() > 0.05
    assert diff[:, ~region.numpy()].max() > 0.05
    # frame 0 (no prediction yet): both are aggregate(masks)
    np.testing.assert_allclose(results["youtube"].probs[0], results["davis"].probs[0], atol=1e-7)


@pytest.mark.numerics
def test_youtube_first_annotation_is_the_aggregated_masks(model) -> None:
    h, w = 32, 48
    ann = _first_annotation(h, w)
    eng = InferenceEngine(model, InferenceSettings(protocol="youtube", short_side=32))
    prob = eng.step(_frames(1, h, w)[0], ann)
    expected = aggregate(torch.stack([(ann == 3).float(), (ann == 7).float()])[None])[0]
    torch.testing.assert_close(prob, expected, rtol=0, atol=0)


# --- 1. resolution ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "h, w", [(40, 60), (60, 40), (50, 50), (33, 47), (480, 854), (720, 1280), (1080, 1920)]
)
def test_short_side_size_matches_torchvision(h: int, w: int) -> None:
    want = tuple(TF.resize(torch.zeros(1, h, w), [24], antialias=False).shape[-2:])
    assert short_side_size(h, w, 24) == want
    want = tuple(TF.resize(torch.zeros(1, h, w), [480], antialias=False).shape[-2:])
    assert short_side_size(h, w, 480) == want


@pytest.mark.numerics
def test_youtube_resizes_frames_and_returns_the_original_size() -> None:
    h, w, t = 40, 60, 4
    frames = _frames(t, h, w, seed=3)
    ann = torch.zeros(h, w, dtype=torch.long)
    ann[5:21, 7:27] = 3
    ann[23:37, 31:55] = 7

    net = _model()
    seen = _record(net, "encode_key")
    res = InferenceEngine(net, InferenceSettings(protocol="youtube", short_side=24)).propagate(
        frames, ann, return_probs=True
    )
    # 40x60 -> 24x36, padded to 32x48 (pads: 6 left/right, 4 top/bottom)
    assert [tuple(a[0].shape) for a, _ in seen] == [(1, 3, 32, 48)] * t
    for i, (args, _) in enumerate(seen):  # bicubic on the normalised frame, no antialiasing
        want = TF.resize(frames[i], [24], InterpolationMode.BICUBIC, antialias=False)
        torch.testing.assert_close(unpad(args[0][0], (6, 6, 4, 4)), want, rtol=0, atol=1e-5)
    assert res.masks.shape == (t, h, w) and res.probs.shape == (t, 3, h, w)
    np.testing.assert_allclose(res.probs.sum(1), 1.0, atol=1e-5)
    # frame 0: masks resized with nearest neighbour, aggregated, bilinear back to 40x60, argmax
    small = TF.resize(ann[None].to(torch.uint8), [24], InterpolationMode.NEAREST)[0].long()
    p = aggregate(torch.stack([(small == 3).float(), (small == 7).float()])[None])
    want = F.interpolate(p, (h, w), mode="bilinear", align_corners=False)[0]
    torch.testing.assert_close(torch.from_numpy(res.probs[0]), want, rtol=0, atol=1e-6)
    lookup = np.array([0, 3, 7], np.uint8)
    assert np.array_equal(res.masks[0], lookup[want.argmax(0).numpy()])
    assert set(np.unique(res.masks)) <= {0, 3, 7}

    net = _model()
    seen = _record(net, "encode_key")
    davis = InferenceEngine(net, InferenceSettings(short_side=24)).propagate(
        frames, ann
    )  # short_side ignored
    assert [tuple(a[0].shape) for a, _ in seen] == [(1, 3, 48, 64)] * t  # native 40x60, padded
    assert davis.masks.shape == (t, h, w)
    assert np.array_equal(davis.masks[0], ann.numpy())


# --- plumbing: predict_folder, evaluate_checkpoint, CLI ---------------------------------------
def test_predict_folder_youtube_writes_original_size(tmp_path) -> None:
    root = write_youtube_valid(tmp_path / "yt", h=24, w=40)  # object 2 first annotated at 00010
    net = _model()
    seen = _record(net, "encode_key")
    out = tmp_path / "out"
    summary = predict_folder(
        net,
        root / "valid",
        out,
        annotations="all",
        settings=InferenceSettings(protocol="youtube", short_side=16),
    )
    assert summary["abc123"]["objects"] == [1, 2]
    assert {tuple(a[0].shape) for a, _ in seen} == {(1, 3, 16, 32)}  # 24x40 -> 16x26, padded
    names = sorted(p.name for p in (out / "abc123").iterdir())
    assert names == ["00000.png", "00005.png", "00010.png"]
    for name in names:
        img = Image.open(out / "abc123" / name)
        assert img.mode == "P" and img.size == (40, 24)
    last = np.asarray(Image.open(out / "abc123" / "00010.png"))
    gt = np.asarray(Image.open(root / "valid" / "Annotations" / "abc123" / "00010.png"))
    ys, xs = np.nonzero(gt == 2)
    assert last[int(ys.mean()), int(xs.mean())] == 2  # the new object, inside its annotation


def test_predict_youtube_propagates_every_frame_and_writes_the_split_frames(tmp_path) -> None:
    """As the authors: all 15 frames of all_frames are propagated, the sparse annotations are
    given where they are, and PNGs are written for the split's every-5th frames only."""
    root = write_youtube_valid(tmp_path / "yt", h=24, w=40)
    assert is_youtube_split(root) and is_youtube_split(root / "valid")
    assert not is_youtube_split(tmp_path)
    net = _model()
    seen = _record(net, "encode_key")
    out = tmp_path / "sub"
    summary = predict_youtube(
        net, root, out, settings=InferenceSettings(protocol="youtube", short_side=16)
    )
    assert summary["abc123"]["frames"] == 15 and summary["abc123"]["objects"] == [1, 2]
    assert len(seen) >= 15  # one query key per frame (plus memory keys)
    names = sorted(p.name for p in (out / "abc123").iterdir())
    assert names == ["00000.png", "00005.png", "00010.png"]
    assert {Image.open(out / "abc123" / n).size for n in names} == {(40, 24)}
    last = np.asarray(Image.open(out / "abc123" / "00010.png"))
    gt = np.asarray(Image.open(root / "valid" / "Annotations" / "abc123" / "00010.png"))
    ys, xs = np.nonzero(gt == 2)
    assert last[int(ys.mean()), int(xs.mean())] == 2  # the object annotated at 00010
    assert (out / "timing.json").is_file()


def test_predict_youtube_without_all_frames_warns_and_uses_the_split_frames(tmp_path) -> None:
    import shutil

    root = write_youtube_valid(tmp_path / "yt", h=24, w=40)
    shutil.rmtree(root / "all_frames")
    with pytest.warns(UserWarning, match="every 5th"):
        summary = predict_youtube(
            _model(),
            root,
            tmp_path / "sub",
            settings=InferenceSettings(protocol="youtube", short_side=16),
        )
    assert summary["abc123"]["frames"] == 3


def test_predict_youtube_names_a_frame_missing_from_all_frames(tmp_path) -> None:
    root = write_youtube_valid(tmp_path / "yt", h=24, w=40)
    (root / "all_frames" / "valid_all_frames" / "JPEGImages" / "abc123" / "00005.jpg").unlink()
    with pytest.raises(ValueError, match=r"frame 00005 of .*valid/JPEGImages/abc123 is missing"):
        predict_youtube(
            _model(),
            root,
            tmp_path / "sub",
            settings=InferenceSettings(protocol="youtube", short_side=16),
        )


def test_predict_command_writes_a_youtube_submission(tmp_path, capsys) -> None:
    from gsfm.checkpoint import save_checkpoint
    from gsfm.cli import main

    root = write_youtube_valid(tmp_path / "yt", h=24, w=40)
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("stcn", "smoke"))
    pred = tmp_path / "pred"
    argv = ["predict", "--checkpoint", str(ckpt), "--data", str(root), "--out", str(pred),
            "--device", "cpu", "--protocol", "youtube", "--short-side", "16", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "cannot be scored" in out and "15 frames" in out and "gsfm score" not in out
    marker = json.loads((pred / "gsfm_eval.json").read_text())
    assert marker["settings"]["protocol"] == "youtube" and marker["settings"]["short_side"] == 16
    assert sorted(p.name for p in (pred / "abc123").glob("*.png")) == [
        "00000.png", "00005.png", "00010.png"
    ]  # fmt: skip
    assert not (pred / "results.csv").exists()


def test_bad_protocol_is_one_clear_error() -> None:
    """The protocol and short side are checked once, where the settings are made."""
    with pytest.raises(ValueError, match=r"protocol must be 'davis' or 'youtube', got 'yt'"):
        InferenceSettings(protocol="yt")
    with pytest.raises(ValueError, match="short_side"):
        InferenceSettings(protocol="youtube", short_side=0)


def test_predict_youtube_refuses_the_davis_protocol(tmp_path, model) -> None:
    with pytest.raises(ValueError, match="runs the youtube protocol"):
        predict_youtube(model, tmp_path, tmp_path / "out", settings=InferenceSettings())
    assert not (tmp_path / "out").exists()


def test_predict_and_score_commands_with_protocol_youtube(tmp_path, capsys) -> None:
    from gsfm.checkpoint import save_checkpoint
    from gsfm.cli import main

    data = write_davis2017(tmp_path / "davis", {"a": 5}, h=24, w=40)
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("stcn", "smoke"))
    pred = tmp_path / "pred"
    code = main(
        ["predict", "--checkpoint", str(ckpt), "--data", str(data), "--out", str(pred),
         "--device", "cpu", "--protocol", "youtube", "--short-side", "16"]
    )  # fmt: skip
    assert code == 0
    marker = json.loads((pred / "gsfm_eval.json").read_text())
    assert marker["settings"]["protocol"] == "youtube" and marker["settings"]["mem_every"] == 5
    assert main(["score", "--gt", str(data), "--pred", str(pred)]) == 0
    assert "J&F-Mean" in capsys.readouterr().out
    pngs = sorted((pred / "a").glob("*.png"))
    assert len(pngs) == 5
    assert {Image.open(p).size for p in pngs} == {(40, 24)}  # the original frame size

    with pytest.raises(SystemExit) as exc:
        main(["predict", "--checkpoint", str(ckpt), "--data", str(data), "--protocol", "ytvos"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--protocol" in err and "ytvos" in err
