"""Tests of the fast inference path of gsfm.inference: autocast (``amp``), recorded graphs and
``torch.compile`` (``compile``), the mask-agreement measure and its tolerance, the folder
comparison, and the benchmark script's dry run.

The bf16 agreement needs a network whose masks are decisive: with random weights every
object's probability is nearly 0.5, the argmax is a tie that any rounding flips, and agreement
measures nothing. So the smoke GSFM gets its decoder fitted (a few dozen Adam steps on frozen
encoder features, seconds) to a clip of two coloured objects moving over noise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import gsfm.inference as inference
from gsfm.agreement import (
    FAST_PATH_TOLERANCE,
    AgreementTolerance,
    MaskAgreement,
    compare_on_folder,
    mask_agreement,
)
from gsfm.inference import InferenceEngine, InferenceSettings, check_amp
from gsfm.metrics import video_jf
from gsfm.model import build_model
from gsfm.runtime import project_root


def moving_clip(n: int = 7, h: int = 64, w: int = 64, seed: int = 0):
    """A disk and a box in their own colours moving over noise; (frames, ids (T, H, W))."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    frames = 0.5 * torch.randn(n, 3, h, w, generator=g)
    ids = torch.zeros(n, h, w, dtype=torch.long)
    for t in range(n):
        disk = (yy - (20 + 3 * t)) ** 2 + (xx - (16 + 4 * t)) ** 2 < 10**2
        box = (yy >= 40) & (yy < 56) & (xx >= 44 - 3 * t) & (xx < 60 - 3 * t) & ~disk
        ids[t][disk], ids[t][box] = 1, 2
        frames[t][:, disk] += torch.tensor([1.5, -1.0, 0.5])[:, None]
        frames[t][:, box] += torch.tensor([-1.0, 1.0, 1.0])[:, None]
    return frames, ids


def fit_decoder(model, frames, ids, steps: int = 60) -> None:
    """Train only the decoder on its cached inputs for pairs (frame 0 → frame t)."""
    captured, targets = [], []
    hook = model.decoder.register_forward_hook(
        lambda _m, inputs, _o: captured.append([x.detach() for x in inputs])
    )
    with torch.no_grad():
        for t in range(1, len(frames)):
            m = ids[[0, t]][None]
            model.forward_train(
                {
                    "rgb": frames[[0, t]][None],
                    "gt": (m == 1).float()[:, :, None],
                    "sec_gt": (m == 2).float()[:, :, None],
                    "selector": torch.ones(1, 2),
                }
            )
            targets.append(torch.stack([ids[t] == 1, ids[t] == 2]).float()[:, None])
    hook.remove()
    inputs = [torch.cat(x) for x in zip(*captured, strict=True)]
    target = torch.cat(targets)
    opt = torch.optim.Adam(model.decoder.parameters(), lr=1e-3)
    for _ in range(steps):
        logits, _ = model.decoder(*inputs)
        loss = F.binary_cross_entropy_with_logits(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


@pytest.fixture(scope="module")
def fitted():
    """The smoke GSFM with a fitted decoder, and the clip it was fitted to. Fitted with one
    thread: the same weights under every thread count, and no two threads fighting over a
    busy machine's cores (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        model = build_model("gsfm", "smoke").eval()
        frames, ids = moving_clip()
        fit_decoder(model, frames, ids)
    finally:
        torch.set_num_threads(threads)
    return model, frames, ids


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("gsfm", "smoke").eval()


def small_video(t: int = 6, h: int = 40, w: int = 56):
    g = torch.Generator().manual_seed(0)
    frames = torch.randn(t, 3, h, w, generator=g)
    ann = torch.zeros(h, w, dtype=torch.long)
    ann[4:18, 6:24] = 3
    ann[22:36, 30:50] = 7
    late = torch.zeros(h, w, dtype=torch.long)
    late[30:38, 2:12] = 9
    return frames, {0: ann, 3: late}


# --- amp ------------------------------------------------------------------------------------


def test_check_amp_values() -> None:
    assert check_amp(None) is None
    assert check_amp("bf16") is torch.bfloat16
    assert check_amp("bf16", "cuda") is torch.bfloat16
    assert check_amp("fp16", "cuda") is torch.float16
    with pytest.raises(ValueError, match="amp='fp16' needs a CUDA model, the model is on cpu"):
        check_amp("fp16", "cpu")
    for bad in ("fp32", "bfloat16", True, torch.bfloat16):
        with pytest.raises(ValueError, match="amp must be None, 'bf16' or 'fp16'"):
            check_amp(bad)
    with pytest.raises(ValueError, match="supported on cpu and cuda, the model is on meta"):
        check_amp("bf16", "meta")


def test_settings_and_engine_refuse_bad_amp(model) -> None:
    """A bad value is refused where the settings are made; what the device cannot run (fp16
    on the CPU), by the engine that knows the device."""
    settings = InferenceSettings(amp="fp16")
    with pytest.raises(ValueError, match="amp='fp16' needs a CUDA model"):
        InferenceEngine(model, settings)
    with pytest.raises(ValueError, match="amp must be"):
        InferenceSettings(amp="half")  # type: ignore[arg-type]


@pytest.mark.numerics
def test_bf16_masks_agree_with_float32(fitted) -> None:
    model, frames, ids = fitted
    ref = InferenceEngine(model).propagate(frames, ids[0], return_probs=True)
    engine = InferenceEngine(model, InferenceSettings(amp="bf16"))
    fast = engine.propagate(frames, ids[0], return_probs=True)
    assert not np.array_equal(ref.probs, fast.probs)  # autocast did run in bfloat16
    agreement = mask_agreement(ref.masks[1:], fast.masks[1:])
    gt = ids.numpy().astype(np.uint8)
    jf_ref, jf_fast = video_jf(gt, ref.masks), video_jf(gt, fast.masks)
    assert jf_ref > 0.4  # the fitted model tracks both objects: its decisions are not ties
    assert FAST_PATH_TOLERANCE.accepts(agreement, jf_fast - jf_ref), (agreement, jf_ref, jf_fast)
    # the bank: float32 keys for the affinity, bfloat16 values for the bfloat16 readout
    (bank,) = engine._banks
    assert bank.keys.dtype == torch.float32 and bank.values.dtype == torch.bfloat16
    assert engine.settings.amp == "bf16" and engine.settings.compile is None


def test_bf16_keeps_the_read_softmax_in_float32(model, monkeypatch, one_thread) -> None:
    from gsfm.model import memory

    seen: list[torch.dtype] = []
    real = memory.topk_weights

    def spy(logits, k):
        w, idx = real(logits, k)
        seen.extend([logits.dtype, w.dtype])
        return w, idx

    monkeypatch.setattr(memory, "topk_weights", spy)
    frames, anns = small_video()
    InferenceEngine(model, InferenceSettings(amp="bf16", max_memory_chunk=5)).propagate(
        frames, anns
    )
    assert seen and set(seen) == {torch.float32}


@pytest.mark.numerics
@pytest.mark.parametrize("amp", [None, "bf16"])
def test_gather_read_and_mask_only_decoder_keep_the_masks(fitted, monkeypatch, amp) -> None:
    """The engine's top-k read (a gather of the k chosen values) and its decoder without the
    boundary output give the masks of the dense read (``values @`` the dense top-k weights)
    with the boundary logits computed: within the fast path's tolerance, probabilities to
    float rounding."""
    import contextlib

    from gsfm.model import memory

    model, frames, ids = fitted
    new = InferenceEngine(model, InferenceSettings(amp=amp, max_memory_chunk=700)).propagate(
        frames, ids[0], return_probs=True
    )
    reads: list[int] = []

    def dense_read(mk, mv, qk, kind, top_k):  # the read as a dense matmul (reference)
        reads.append(1)
        w = memory.memory_weights(mk, qk, kind, top_k)
        return mv @ w.to(mv.dtype).unsqueeze(1)

    monkeypatch.setattr(memory, "_read", dense_read)
    monkeypatch.setattr(inference, "masks_only", lambda decoder: contextlib.nullcontext())
    old = InferenceEngine(model, InferenceSettings(amp=amp, max_memory_chunk=700)).propagate(
        frames, ids[0], return_probs=True
    )
    assert reads  # the reference path did run
    agreement = mask_agreement(old.masks[1:], new.masks[1:])
    gt = ids.numpy().astype(np.uint8)
    jf_old, jf_new = video_jf(gt, old.masks), video_jf(gt, new.masks)
    assert FAST_PATH_TOLERANCE.accepts(agreement, jf_new - jf_old), (agreement, jf_old, jf_new)
    tol = 1e-5 if amp is None else 2e-2
    np.testing.assert_allclose(new.probs, old.probs, atol=tol, rtol=0)


# --- compile --------------------------------------------------------------------------------


def test_compile_values_are_checked(model) -> None:
    with pytest.raises(ValueError, match="'cuda-graphs' records CUDA graphs and needs a CUDA"):
        InferenceEngine(model, InferenceSettings(compile="cuda-graphs"))
    with pytest.raises(ValueError, match="compile must be None, 'cuda-graphs' or 'torch'"):
        InferenceSettings(compile="inductor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="compile_options are only used with compile='torch'"):
        InferenceSettings(compile_options={"backend": "eager"})
    assert InferenceSettings(compile=False).compile is None  # type: ignore[arg-type]


def _record_by_rerun(fn, inputs):
    """A CPU stand-in for CUDA graph recording with the same buffer semantics: every replay
    recomputes ``fn`` on the input buffers and overwrites the same output tensors."""
    outputs = fn(*inputs)

    def replay() -> None:
        for buffer, new in zip(outputs, fn(*inputs), strict=True):
            buffer.copy_(new)

    return replay, outputs


def test_graph_replay_gives_the_eager_masks(model, monkeypatch, one_thread) -> None:
    """Replayed parts return reused buffers: the bank must keep copies, and a new object
    count records new graphs. Any aliasing would change the masks."""
    monkeypatch.setitem(inference._GRAPH_RECORDERS, "cpu", _record_by_rerun)
    frames, anns = small_video(t=7)
    for amp in (None, "bf16"):
        ref = InferenceEngine(model, InferenceSettings(mem_every=1, amp=amp)).propagate(
            frames, anns, return_probs=True
        )
        engine = InferenceEngine(
            model, InferenceSettings(mem_every=1, amp=amp, compile="cuda-graphs")
        )
        res = engine.propagate(frames, anns, return_probs=True)
        assert np.array_equal(ref.masks, res.masks)
        np.testing.assert_array_equal(ref.probs, res.probs)
        parts = engine._parts
        assert len(parts.key.graphs) == 1  # one frame size
        assert len(parts.probs.graphs) == 2  # 2 objects up to frame 3, then 3
        assert len(parts.values.graphs) == 2
        with torch.inference_mode():  # as in step()
            first = parts.key(inference.pad_to_multiple(frames[:1])[0])[0]
            again = parts.key(inference.pad_to_multiple(frames[1:2])[0])[0]
        assert first is again  # the same output buffer, overwritten


@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
def test_torch_compile_wiring_with_a_cheap_backend(model, one_thread) -> None:
    """compile='torch' compiles the three fixed-shape parts (Inductor takes minutes on this
    CPU, so a recording backend that runs the captured graphs as they are stands in)."""
    graphs: list[int] = []

    def backend(gm, _example_inputs):
        graphs.append(len(gm.graph.nodes))
        return gm.forward

    torch.compiler.reset()
    frames, anns = small_video(t=4)
    anns = {0: anns[0]}  # two objects throughout: one compilation per part
    ref = InferenceEngine(model).propagate(frames, anns, return_probs=True)
    engine = InferenceEngine(
        model, InferenceSettings(compile="torch", compile_options={"backend": backend})
    )
    res = engine.propagate(frames, anns, return_probs=True)
    assert len(graphs) >= 3  # key encoder, decoder, value encoder
    assert np.array_equal(ref.masks, res.masks)
    np.testing.assert_allclose(ref.probs, res.probs, rtol=0, atol=1e-6)
    assert engine.settings.compile == "torch"


# --- agreement ------------------------------------------------------------------------------


def test_mask_agreement_hand_computed() -> None:
    a = np.array([[[0, 1, 1], [2, 2, 0]], [[0, 0, 1], [2, 0, 0]]], dtype=np.uint8)
    b = np.array([[[0, 1, 2], [2, 2, 0]], [[0, 1, 1], [0, 0, 3]]], dtype=np.uint8)
    got = mask_agreement(a, b)
    # equal pixels: frame 0 five of six, frame 1 three of six
    assert got.pixels == pytest.approx(8 / 12) and got.frames == 2
    # object 1: a {0:(0,1),(0,2); 1:(0,2)}, b {0:(0,1); 1:(0,1),(0,2)} -> 2 / 4
    # object 2: a {0:(1,0),(1,1),1:(1,0)}, b {0:(0,2),(1,0),(1,1)} -> 2 / 4
    # object 3: only in b -> 0
    assert got.iou == {1: 0.5, 2: 0.5, 3: 0.0}
    assert got.iou_min == 0.0 and got.iou_mean == pytest.approx(1 / 3)
    same = mask_agreement(a[0], a[0])
    assert same.pixels == 1.0 and same.iou == {1: 1.0, 2: 1.0} and same.frames == 1
    empty = mask_agreement(np.zeros((2, 3)), np.zeros((2, 3)))
    assert empty.iou == {} and np.isnan(empty.iou_min) and np.isnan(empty.iou_mean)
    with pytest.raises(ValueError, match="differ in shape"):
        mask_agreement(a, a[:1])


def test_tolerance_bounds() -> None:
    tol = AgreementTolerance(min_pixels=0.995, max_jf_difference=0.005)
    assert tol == FAST_PATH_TOLERANCE
    ok, low = MaskAgreement(0.995, {1: 0.9}, 3), MaskAgreement(0.9949, {1: 1.0}, 3)
    assert tol.accepts(ok) and tol.accepts(ok, 0.005) and tol.accepts(ok, -0.005)
    assert tol.accepts(ok, float("nan"))  # no ground truth: pixels decide
    assert not tol.accepts(ok, 0.0051) and not tol.accepts(ok, -0.0051)
    assert not tol.accepts(low) and not tol.accepts(MaskAgreement(float("nan"), {}, 0))


def _write_clip_folder(root, frames: torch.Tensor, ids: torch.Tensor, name: str) -> None:
    from gsfm.data.io import DAVIS_PALETTE, write_image, write_mask

    rgb = (frames.clamp(-2, 2) + 2) / 4 * 255
    for t in range(len(frames)):
        img = rgb[t].permute(1, 2, 0).round().to(torch.uint8).numpy()
        write_image(root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg", img)
        mask = ids[t].numpy().astype(np.uint8)
        write_mask(root / "Annotations" / "480p" / name / f"{t:05d}.png", mask, DAVIS_PALETTE)


def test_compare_on_folder_rows(tmp_path, model, one_thread) -> None:
    frames, ids = moving_clip(n=5, h=48, w=64)
    _write_clip_folder(tmp_path, frames, ids, "clip")
    _write_clip_folder(tmp_path, frames[:3].flip(-1), ids[:3].flip(-1), "short")
    same = compare_on_folder(model, tmp_path, InferenceSettings())
    assert list(same["video"]) == ["clip", "short"] and list(same["frames"]) == [5, 3]
    assert (same["pixels"] == 1.0).all() and (same["iou_min"] == 1.0).all()
    assert (same["jf_difference"] == 0.0).all() and same["within_tolerance"].all()
    assert same["jf_reference"].between(0, 1).all()
    other = compare_on_folder(
        model, tmp_path, InferenceSettings(top_k=1, mem_every=1), InferenceSettings(top_k=None)
    )
    assert (other["pixels"] < 1.0).any()
    expected = [
        FAST_PATH_TOLERANCE.accepts(MaskAgreement(p, {}, 1), d)
        for p, d in zip(other["pixels"], other["jf_difference"], strict=True)
    ]
    assert list(other["within_tolerance"]) == expected


# --- the benchmark --------------------------------------------------------------------------


@pytest.mark.slow
def test_bench_fast_inference_dry_run(tmp_path) -> None:
    script = project_root(Path(__file__).parent) / "benchmarks" / "bench_fast_inference.py"
    out = tmp_path / "fast.json"
    done = subprocess.run(
        [sys.executable, str(script), "--dry-run", "--frames", "4", "--fit-steps", "5",
         "--modes", "fp32,bf16,bf16+compile,bf16+graphs", "--compile-backend", "eager",
         "--threads", "1",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report == json.loads(out.read_text())
    assert report["dry_run"] and report["profile"] == "smoke" and report["fast"] == "bf16"
    assert report["tolerance"] == {"min_pixels": 0.995, "max_jf_difference": 0.005}
    for name, (top_k, mem_every) in {"gsfm": (50, 3), "stcn": (20, 5)}.items():
        m = report["models"][name]
        assert (m["top_k"], m["mem_every"]) == (top_k, mem_every)
        assert list(m["modes"]) == ["fp32", "bf16", "bf16+compile", "bf16+graphs"]
        assert m["modes"]["fp32"]["fps"] > 0 and "agreement_vs_fp32" not in m["modes"]["fp32"]
        bf16 = m["modes"]["bf16"]
        assert bf16["settings"]["amp"] == "bf16" and bf16["settings"]["top_k"] == top_k
        assert 0 <= bf16["agreement_vs_fp32"]["pixels"] <= 1
        assert bf16["verdict"] in ("pass", "fail", "inconclusive")
        assert m["modes"]["bf16+compile"]["settings"]["compile"] == "torch"
        assert "needs a CUDA model" in m["modes"]["bf16+graphs"]["error"]  # CPU: refused
    ratios = report["fps_ratio_gsfm_over_stcn"]
    assert ratios["fp32"] > 0 and ratios["bf16"] > 0 and ratios["bf16+graphs"] is None
    assert report["paper_ratio_v100"] == pytest.approx(8.9 / 11.7, abs=1e-4)
    assert set(report["verdict"]) == {"gsfm", "stcn"}


def test_evaluation_records_the_autocast_setting(tmp_path, model, one_thread) -> None:
    from gsfm.evaluation import evaluate_model

    frames, ids = moving_clip(n=5, h=48, w=64)
    _write_clip_folder(tmp_path / "data", frames, ids, "clip")
    fp32 = evaluate_model(model, tmp_path / "data", tmp_path / "fp32")
    bf16 = evaluate_model(
        model, tmp_path / "data", tmp_path / "bf16", settings=InferenceSettings(amp="bf16")
    )
    assert fp32["amp"].iloc[0] is None and bf16["amp"].iloc[0] == "bf16"
    with pytest.raises(ValueError, match="fp16"):
        evaluate_model(
            model, tmp_path / "data", tmp_path / "fp16", settings=InferenceSettings(amp="fp16")
        )  # CPU: no fp16


def test_the_predict_command_reaches_the_fast_path(
    tmp_path, capsys, monkeypatch, one_thread
) -> None:
    """``gsfm predict --checkpoint`` hands ``--amp`` and ``--compile`` to the engine in its
    settings: bf16 runs and is recorded in the folder's marker; ``--compile cuda-graphs``
    replays recorded graphs (a CPU stand-in for CUDA's recorder) and writes the eager masks;
    without a recorder for the device it is the engine's one clear error (exit 2), with no
    prediction folder left behind."""
    from _data_fixtures import write_davis2017

    from gsfm.checkpoint import save_checkpoint
    from gsfm.cli import main

    data = write_davis2017(tmp_path / "davis", {"a": 4}, h=24, w=40)
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("stcn", "smoke"))
    argv = ["predict", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]
    assert main([*argv, "--out", str(tmp_path / "p"), "--amp", "bf16", "--quiet"]) == 0
    marker = json.loads((tmp_path / "p" / "gsfm_eval.json").read_text())
    assert marker["settings"]["amp"] == "bf16" and marker["settings"]["compile"] is None
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "q"), "--compile", "cuda-graphs"]) == 2
    err = capsys.readouterr().err
    assert "compile='cuda-graphs' records CUDA graphs and needs a CUDA model" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "q").exists()

    recorded: list[int] = []

    def record(fn, inputs):
        recorded.append(len(inputs))
        return _record_by_rerun(fn, inputs)

    monkeypatch.setitem(inference._GRAPH_RECORDERS, "cpu", record)
    assert main([*argv, "--out", str(tmp_path / "eager"), "--quiet"]) == 0
    assert not recorded
    assert main([*argv, "--out", str(tmp_path / "graphs"), "--compile", "cuda-graphs"]) == 0
    assert recorded  # the parts were recorded as graphs and replayed
    marker = json.loads((tmp_path / "graphs" / "gsfm_eval.json").read_text())
    assert marker["settings"]["compile"] == "cuda-graphs"
    for png in sorted((tmp_path / "eager" / "a").glob("*.png")):
        graphs = tmp_path / "graphs" / "a" / png.name
        assert np.array_equal(np.asarray(Image.open(png)), np.asarray(Image.open(graphs)))
