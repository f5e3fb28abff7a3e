"""Tests of gsfm.inference: padding, memory cadence, objects entering mid-video, bounded memory,
the step API, palette-PNG output in the DAVIS layout, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from gsfm.inference import InferenceEngine, InferenceSettings, pad_to_multiple, unpad
from gsfm.model import build_model
from gsfm.prediction import predict_folder


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("gsfm", "smoke").eval()


def video(t: int = 7, h: int = 40, w: int = 56, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    frames = torch.randn(t, 3, h, w, generator=g)
    ann = torch.zeros(h, w, dtype=torch.long)
    ann[4:18, 6:24] = 3
    ann[22:36, 30:50] = 7
    return frames, ann


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 70), st.integers(1, 70))
def test_pad_to_multiple_and_unpad(h: int, w: int) -> None:
    x = torch.arange(h * w, dtype=torch.float32).view(1, 1, h, w) + 1
    padded, (left, right, top, bottom) = pad_to_multiple(x, 16)
    assert padded.shape[-2] % 16 == 0 and padded.shape[-1] % 16 == 0
    assert padded.shape[-2] - h < 16 and padded.shape[-1] - w < 16
    assert 0 <= bottom - top <= 1 and 0 <= right - left <= 1  # extra pixel bottom / right
    assert torch.equal(unpad(padded, (left, right, top, bottom)), x)
    assert float(padded.sum()) == float(x.sum())  # zeros only


def test_first_frame_is_the_annotation_and_ids_are_kept(model) -> None:
    frames, ann = video()
    res = InferenceEngine(model).propagate(frames, ann, return_probs=True)
    assert res.masks.shape == (7, 40, 56) and res.masks.dtype == np.uint8
    assert res.labels == [3, 7]
    assert np.array_equal(res.masks[0], ann.numpy())
    assert set(np.unique(res.masks)) <= {0, 3, 7}
    assert res.probs.shape == (7, 3, 40, 56)
    np.testing.assert_allclose(res.probs.sum(1), 1.0, atol=1e-5)
    assert res.fps > 0 and res.seconds > 0


@pytest.mark.parametrize("mem_every, expected", [(3, [0, 3]), (2, [0, 2, 4]), (1, [0, 1, 2, 3, 4])])
def test_memory_cadence_absolute_index_not_last_frame(model, mem_every, expected) -> None:
    frames, ann = video(t=6)
    res = InferenceEngine(model, InferenceSettings(mem_every=mem_every)).propagate(frames, ann)
    assert res.memory_frames == expected  # frame 5 (the last) never goes in


def test_defaults_come_from_config(model) -> None:
    eng = InferenceEngine(model)
    assert eng.top_k == 50 and eng.mem_every == 3
    stcn = InferenceEngine(build_model("stcn", "smoke"))
    assert stcn.top_k == 20 and stcn.mem_every == 5
    assert InferenceEngine(model, InferenceSettings(top_k=None)).top_k is None


def test_bounded_memory_gives_same_output(model) -> None:
    frames, ann = video(t=8)
    full = InferenceEngine(model, InferenceSettings(mem_every=1)).propagate(
        frames, ann, return_probs=True
    )
    chunked = InferenceEngine(model, InferenceSettings(mem_every=1, max_memory_chunk=3)).propagate(
        frames, ann, return_probs=True
    )
    assert np.array_equal(full.masks, chunked.masks)
    np.testing.assert_allclose(full.probs, chunked.probs, atol=1e-5)


def test_top_k_changes_the_readout(model) -> None:
    frames, ann = video(t=8)
    a = InferenceEngine(model, InferenceSettings(top_k=1, mem_every=1)).propagate(
        frames, ann, return_probs=True
    )
    b = InferenceEngine(model, InferenceSettings(top_k=None, mem_every=1)).propagate(
        frames, ann, return_probs=True
    )
    assert not np.allclose(a.probs[1:], b.probs[1:])


def test_objects_entering_mid_video(model) -> None:
    frames, ann = video(t=8)
    late = torch.zeros(40, 56, dtype=torch.long)
    late[30:38, 2:12] = 9
    eng = InferenceEngine(model)
    res = eng.propagate(frames, {2: ann, 5: late}, return_probs=True)
    assert res.labels == [3, 7, 9]
    assert not res.masks[:2].any()  # nothing before the first annotation
    assert np.array_equal(res.masks[2], ann.numpy())
    assert (res.masks[5][late.numpy() == 9] == 9).all()  # the annotation overrides predictions
    assert not (res.masks[2:5] == 9).any()
    assert res.probs[3, 3].max() == 0.0  # object 9 has no probability before it exists
    assert res.memory_frames == [2, 3, 5, 6]  # annotated frames + absolute multiples of 3
    # two memory banks: objects 3, 7 from frame 2 on; object 9 from frame 5 on
    assert [b.labels for b in eng._banks] == [[3, 7], [9]]
    per_frame = 3 * 4  # (48/16) x (64/16) key positions of the padded 40x56 frame
    assert eng._banks[0].keys.shape[-1] == 4 * per_frame  # frames 2, 3, 5, 6
    assert eng._banks[1].keys.shape[-1] == 2 * per_frame  # frames 5, 6


def test_step_api_matches_propagate(model) -> None:
    frames, ann = video(t=5)
    res = InferenceEngine(model).propagate(frames, ann, return_probs=True)
    eng = InferenceEngine(model)
    for t in range(5):
        prob = eng.step(frames[t], ann if t == 0 else None, last=t == 4)
        assert eng.frame_index == t + 1
        torch.testing.assert_close(prob, torch.from_numpy(res.probs[t]), rtol=0, atol=1e-6)


def test_bad_input_errors(model) -> None:
    frames, ann = video(t=3)
    eng = InferenceEngine(model)
    with pytest.raises(ValueError, match="no object"):
        eng.propagate(frames, torch.zeros(40, 56, dtype=torch.long))
    with pytest.raises(ValueError, match="size 40x50 but the frame is 40x56"):
        eng.propagate(frames, ann[:, :50])
    uneven = [frames[0], frames[1], torch.randn(3, 40, 60)]
    with pytest.raises(ValueError, match="frame 2 has size 40x60"):
        eng.propagate(uneven, ann)
    with pytest.raises(ValueError, match="video has 3 frames"):
        eng.propagate(frames, {5: ann})
    with pytest.raises(ValueError, match="integer object ids"):
        eng.propagate(frames, ann.float() + 0.5)
    with pytest.raises(ValueError, match="outside 0..255"):
        eng.propagate(frames, ann * 100)
    with pytest.raises(ValueError, match=r"\(T, 3, H, W\)"):
        eng.propagate(frames[:, :2], ann)
    eng.reset()
    eng.step(frames[0], ann)
    with pytest.raises(ValueError, match="frame 1 has size"):
        eng.step(torch.randn(3, 20, 20))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("top_k", 0),
        ("top_k", "all"),
        ("mem_every", 0),
        ("mem_every", True),
        ("mem_every", 2.0),
        ("max_memory_chunk", -1),
        ("protocol", "ytvos"),
        ("short_side", 0),
        ("short_side", "480"),
        ("amp", "half"),
        ("compile", "inductor"),
    ],
)
def test_inference_settings_refuse_each_bad_value(field, value) -> None:
    """Every option is checked once, where the settings are made: one error naming it."""
    with pytest.raises(ValueError, match=field) as exc:
        InferenceSettings(**{field: value})
    assert repr(value) in str(exc.value)


def test_inference_settings_resolve_the_model_defaults() -> None:
    """``"config"`` / None take the model's top-k and cadence; explicit values stay; the
    settings are immutable, and the engine holds the resolved ones."""
    gsfm, stcn = build_model("gsfm", "smoke"), build_model("stcn", "smoke")
    default = InferenceSettings()
    assert (default.resolved(gsfm.config).top_k, default.resolved(gsfm.config).mem_every) == (
        50,
        3,
    )
    assert default.resolved(stcn.config).top_k == 20
    given = InferenceSettings(top_k=None, mem_every=7).resolved(stcn.config)
    assert (given.top_k, given.mem_every) == (None, 7)
    with pytest.raises(AttributeError):
        default.top_k = 3  # type: ignore[misc]
    engine = InferenceEngine(stcn, InferenceSettings(max_memory_chunk=4))
    assert engine.settings == InferenceSettings(top_k=20, mem_every=5, max_memory_chunk=4)
    assert engine.settings.provenance()["short_side"] is None  # davis: not used


def _write_davis(root, videos: dict[str, tuple[int, int, int]]) -> None:
    from gsfm.data.io import write_image, write_mask

    rng = np.random.default_rng(0)
    for name, (t, h, w) in videos.items():
        for i in range(t):
            img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            write_image(root / "JPEGImages" / "480p" / name / f"{i:05d}.jpg", img)
        mask = np.zeros((h, w), np.uint8)
        mask[2:10, 3:12] = 1
        mask[12:20, 14:26] = 2
        write_mask(root / "Annotations" / "480p" / name / "00000.png", mask)


def test_predict_folder_writes_davis_layout(tmp_path, model) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    _write_davis(data, {"a": (4, 24, 32), "b": (3, 30, 20)})
    summary = predict_folder(model, data, out)
    assert set(summary) == {"a", "b"} and summary["a"]["frames"] == 4
    files = sorted(p.name for p in (out / "a").iterdir())
    assert files == ["00000.png", "00001.png", "00002.png", "00003.png"]
    img = Image.open(out / "b" / "00000.png")
    assert img.mode == "P" and img.size == (20, 30)
    first = np.asarray(img)
    assert set(np.unique(first)) == {0, 1, 2}
    timing = json.loads((out / "timing.json").read_text())
    assert timing["frames"] == 7 and timing["fps"] > 0


def test_predict_folder_errors_name_the_file(tmp_path, model) -> None:
    from gsfm.data.io import write_mask

    data = tmp_path / "data"
    _write_davis(data, {"a": (2, 24, 32)})
    write_mask(data / "Annotations" / "480p" / "a" / "00000.png", np.zeros((24, 32), np.uint8))
    with pytest.raises(ValueError, match=r"00000.png contains no object"):
        predict_folder(model, data, tmp_path / "out")
    write_mask(data / "Annotations" / "480p" / "a" / "00000.png", np.ones((20, 32), np.uint8))
    with pytest.raises(ValueError, match=r"00000.png is 20x32 but its frame is 24x32"):
        predict_folder(model, data, tmp_path / "out")
    (data / "Annotations" / "480p" / "a" / "00000.png").unlink()
    with pytest.raises(FileNotFoundError, match="00000.png"):
        predict_folder(model, data, tmp_path / "out")
    from gsfm.data.io import write_image

    _write_davis(data, {"c": (2, 24, 32)})
    write_image(data / "JPEGImages" / "480p" / "c" / "00001.jpg", np.zeros((16, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"00001.jpg is 16x32"):
        predict_folder(model, data, tmp_path / "out", videos=["c"])


def test_predict_folder_appearance_gives_each_object_once(tmp_path, model, monkeypatch) -> None:
    """With full ground truth on disk, "appearance" hands the engine each object only in the
    frame where it first appears, never the later answers ("all" would)."""
    from gsfm.data.io import write_mask

    data = tmp_path / "data"
    _write_davis(data, {"a": (4, 24, 32)})
    ann = data / "Annotations" / "480p" / "a"
    for i in (1, 2, 3):  # full GT: objects 1 and 2 everywhere, object 3 enters at frame 2
        m = np.zeros((24, 32), np.uint8)
        m[2:10, 3 + i : 12 + i] = 1
        m[12:20, 14:26] = 2
        if i >= 2:
            m[20:23, 2:8] = 3
        write_mask(ann / f"{i:05d}.png", m)
    given: dict[str, dict[int, np.ndarray]] = {}
    real = InferenceEngine.propagate

    def spy(self, frames, annotations, **kw):
        given["a"] = {k: np.asarray(v).copy() for k, v in annotations.items()}
        return real(self, frames, annotations, **kw)

    monkeypatch.setattr(InferenceEngine, "propagate", spy)
    predict_folder(model, data, tmp_path / "out", annotations="appearance")
    assert sorted(given["a"]) == [0, 2]
    assert set(np.unique(given["a"][0])) == {0, 1, 2}
    assert set(np.unique(given["a"][2])) == {0, 3}  # objects 1 and 2 are not given again
    predict_folder(model, data, tmp_path / "out2", annotations="all")
    assert sorted(given["a"]) == [0, 1, 2, 3]
