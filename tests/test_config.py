"""gsfm.config: the profiles and the model/training configurations."""

from __future__ import annotations

import json

import pytest

from gsfm.config import (
    PROFILE_NAMES,
    PROFILES,
    auto_profile,
    default_data,
    get_profile,
    model_config,
    to_dict,
    train_config,
)


def test_every_profile_has_a_model_and_training_stages() -> None:
    assert set(PROFILES) == set(PROFILE_NAMES) == {"smoke", "cpu", "gpu", "paper"}
    for name, prof in PROFILES.items():
        assert prof.name == name and prof.train.stage == "main"
        assert prof.static is not None and prof.static.stage == "static"
        json.dumps(to_dict(prof))  # serialisable for run folders


def test_paper_profile_follows_the_authors() -> None:
    m = model_config("gsfm", "paper")
    assert (m.key_encoder, m.value_encoder, m.key_dim, m.value_dim) == (
        "resnet50",
        "resnet18",
        64,
        512,
    )
    assert (m.lfm, m.hfm, m.boundary, m.sigma, m.top_k, m.mem_every) == (
        "low",
        "high",
        True,
        7.0,
        50,
        3,
    )
    t = train_config("paper")
    assert (t.lr, t.iterations, t.lr_steps, t.start_warm, t.end_warm) == (
        4e-5,
        30_000,
        (25_000,),
        3_000,
        15_000,
    )
    assert (t.crop_size, t.weight_decay, t.boundary_weight, t.amp) == (384, 1e-7, 0.05, True)
    s = train_config("paper", "static")
    assert (s.iterations, s.batch_size, s.max_objects) == (40_000, 16, 1)
    # the authors start both stages from torchvision's ImageNet weights
    assert t.encoder_init == s.encoder_init == "imagenet"


def test_gpu_profile_is_the_paper_network_trained_briefly_from_imagenet() -> None:
    assert model_config("gsfm", "gpu") == model_config("gsfm", "paper")
    t = train_config("gpu")
    assert (t.encoder_init, t.amp, t.batch_size) == ("imagenet", True, 8)
    assert t.iterations < train_config("paper").iterations
    assert max(t.lr_steps) < t.iterations and t.end_warm < t.iterations
    assert default_data("gpu") == ("synth-train",) and default_data("cpu") == ("synth",)
    # the small profiles start from random weights: nothing to download on a laptop
    assert train_config("cpu").encoder_init == train_config("smoke").encoder_init == "random"


def test_auto_profile_follows_the_device() -> None:
    assert auto_profile("auto", "cpu") == "cpu"
    assert auto_profile("smoke", "cpu") == "smoke"
    with pytest.raises(ValueError, match="unknown profile"):
        auto_profile("laptop")
    with pytest.raises(ValueError, match="encoder_init"):
        train_config("cpu", encoder_init="pretrained")


def test_stcn_is_gsfm_with_the_additions_off() -> None:
    for profile in PROFILE_NAMES:
        g, s = model_config("gsfm", profile), model_config("stcn", profile)
        assert (s.lfm, s.hfm, s.boundary, s.key_conv_bias) == ("off", "off", False, False)
        assert (s.top_k, s.mem_every) == (20, 5)
        assert (s.key_encoder, s.value_encoder, s.key_dim) == (
            g.key_encoder,
            g.value_encoder,
            g.key_dim,
        )


def test_overrides_and_their_errors() -> None:
    assert model_config("gsfm", "cpu", sigma=3.0).sigma == 3.0
    assert train_config("smoke", iterations=7).iterations == 7
    with pytest.raises(ValueError, match="unknown model option"):
        model_config("gsfm", "cpu", sigmaa=3.0)
    with pytest.raises(ValueError, match="unknown profile"):
        get_profile("tpu")
    with pytest.raises(ValueError, match="unknown model"):
        model_config("stm")
    with pytest.raises(ValueError, match="lfm must be one of"):
        model_config("gsfm", lfm="band")
    with pytest.raises(ValueError, match="end_warm"):
        train_config("cpu", start_warm=10, end_warm=5)


def test_model_config_names_the_variant() -> None:
    from gsfm.model import build_model

    assert model_config("gsfm", "smoke").name == "gsfm"
    assert model_config("stcn", "cpu").name == "stcn"
    relabelled = model_config("stcn", "smoke", name="stcn-dot", affinity="dot")
    assert relabelled.name == "stcn-dot" and relabelled.lfm == "off"  # still STCN's switches
    assert build_model("gsfm", "smoke", name="gsfm-s5", sigma=5.0).config.name == "gsfm-s5"
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        model_config("gsfm", "smoke", name=" ")
