"""ImageNet-initialised encoders (gsfm.model.pretrained): the torch.hub cache, the one error
without it, local files, random init, and what train() records. Never touches the network: the
torch.hub cache lives in tmp_path and every download attempt fails (or is faked)."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision

from gsfm.cli import main
from gsfm.config import model_config
from gsfm.model import PretrainedWeightsError, build_model, init_encoders
from gsfm.model.pretrained import imagenet_cache_path, imagenet_state_dict

pytestmark = pytest.mark.usefixtures("one_thread")

BACKBONE = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.")  # what the encoders keep


@pytest.fixture(autouse=True)
def offline_hub(tmp_path, monkeypatch):
    """TORCH_HOME in tmp_path; every download fails like a machine without network. Yields the
    list of attempted URLs."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    assert str(tmp_path) in torch.hub.get_dir()  # never the user's real cache
    attempts: list[str] = []

    def no_network(url, dst, hash_prefix=None, progress=True):
        attempts.append(url)
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return attempts


def fake_imagenet(name: str = "resnet18", seed: int = 1) -> dict[str, torch.Tensor]:
    """A random torchvision ResNet state dict (stand-in for the ImageNet file), with BN
    statistics that differ from a fresh model's, so that loading them is visible."""
    torch.manual_seed(seed)
    state = getattr(torchvision.models, name)(weights=None).state_dict()
    for key, value in state.items():
        if key.endswith(("running_mean", "running_var")):
            state[key] = value + torch.rand_like(value)
    return state


def cache(state: dict[str, torch.Tensor], name: str = "resnet18"):
    path = imagenet_cache_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def smoke_net(model: str = "gsfm", **options):
    torch.manual_seed(0)
    return build_model(model, "smoke", **options)


def assert_backbone_equals(encoder: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    own = encoder.state_dict()
    keys = [k for k in state if k.startswith(BACKBONE) and k != "conv1.weight"]
    assert len(keys) > 50
    for key in keys:
        assert torch.equal(own[key], state[key]), key


def test_smoke_uses_resnet18_for_both_encoders():
    cfg = model_config("gsfm", "smoke")
    assert (cfg.key_encoder, cfg.value_encoder) == ("resnet18", "resnet18")
    assert imagenet_cache_path("resnet50").name == "resnet50-0676ba61.pth"  # IMAGENET1K_V1
    assert imagenet_cache_path("resnet18").parent == imagenet_cache_path("resnet50").parent


@pytest.mark.parametrize("model", ["gsfm", "stcn"])  # key encoder with and without conv biases
def test_cached_weights_are_loaded_into_both_encoders(model, offline_hub):
    state = fake_imagenet()
    path = cache(state)
    net = smoke_net(model)
    assert not torch.equal(net.key_encoder.layer3[0].conv1.weight, state["layer3.0.conv1.weight"])
    value_conv1 = net.value_encoder.conv1.weight.detach().clone()
    fuser = {k: v.clone() for k, v in net.value_encoder.fuser.state_dict().items()}
    key_biases = [m.bias for m in net.key_encoder.modules() if isinstance(m, torch.nn.Conv2d)]

    described = init_encoders(net, "imagenet")

    expected = f"torchvision ResNet18_Weights.IMAGENET1K_V1 ({path})"
    assert described == {"key_encoder": expected, "value_encoder": expected}
    assert offline_hub == []  # the cache was enough
    assert_backbone_equals(net.key_encoder, state)
    assert torch.equal(net.key_encoder.conv1.weight, state["conv1.weight"])
    assert (model == "gsfm") == all(b is not None for b in key_biases)
    for bias in key_biases:  # gsfm's added biases have no ImageNet counterpart: still zero
        assert bias is None or not bias.any()
    assert_backbone_equals(net.value_encoder, state)
    w = net.value_encoder.conv1.weight
    assert w.shape[1] == 5
    assert torch.equal(w[:, :3], state["conv1.weight"])  # RGB kernel
    assert torch.equal(w[:, 3:], value_conv1[:, 3:])  # the two mask channels are kept
    for key, value in net.value_encoder.fuser.state_dict().items():
        assert torch.equal(value, fuser[key]), key


def test_no_cache_and_no_network_is_one_clear_error(offline_hub):
    net = smoke_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(PretrainedWeightsError) as info:
        init_encoders(net, "imagenet")
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert len(message.splitlines()) == 1
    for needle in (
        "resnet18",
        str(imagenet_cache_path("resnet18")),
        "name resolution",  # why the download failed
        "key_encoder_weights=PATH",
        "--key-encoder-weights PATH",
        'encoder_init="random"',
        "--encoder-init random",
    ):
        assert needle in message, needle
    assert offline_hub == ["https://download.pytorch.org/models/resnet18-f37072fd.pth"]
    for key, value in net.state_dict().items():  # nothing half-loaded
        assert torch.equal(value, before[key]), key


def test_a_download_lands_in_the_cache_and_is_read_from_there(monkeypatch):
    state = fake_imagenet(seed=2)
    calls = []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, dst, hash_prefix))
        torch.save(state, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    loaded = imagenet_state_dict("resnet18")
    path = imagenet_cache_path("resnet18")
    assert calls == [(f"https://download.pytorch.org/models/{path.name}", str(path), "f37072fd")]
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    imagenet_state_dict("resnet18")  # now cached: no second download
    assert len(calls) == 1


def test_download_can_be_switched_off_and_bad_names_are_refused(offline_hub):
    with pytest.raises(PretrainedWeightsError, match="downloading is switched off"):
        imagenet_state_dict("resnet18", download=False)
    assert offline_hub == []
    with pytest.raises(ValueError, match="unknown backbone 'vgg16'"):
        imagenet_state_dict("vgg16")
    with pytest.raises(ValueError, match="encoder_init must be one of"):
        init_encoders(smoke_net(), "pretrained")


def test_a_foreign_cached_file_names_the_file():
    state = fake_imagenet()
    del state["layer2.0.conv1.weight"]
    path = cache(state)
    with pytest.raises(ValueError, match=f"{path}.*lacks 'layer2.0.conv1.weight'"):
        init_encoders(smoke_net(), "imagenet")


def test_local_weight_files_are_recorded_and_kept(tmp_path, offline_hub):
    key_state, value_state = fake_imagenet(seed=3), fake_imagenet(seed=4)
    key_file, value_file = tmp_path / "key.pth", tmp_path / "value.pth"
    torch.save(key_state, key_file)
    torch.save(value_state, value_file)
    net = smoke_net(key_encoder_weights=str(key_file), value_encoder_weights=str(value_file))
    described = init_encoders(net, "imagenet")  # no cache, no network: the files suffice
    assert described == {
        "key_encoder": f"local file {key_file}",
        "value_encoder": f"local file {value_file}",
    }
    assert offline_hub == []
    assert_backbone_equals(net.key_encoder, key_state)
    assert_backbone_equals(net.value_encoder, value_state)
    # one local file: the other encoder follows encoder_init
    one = smoke_net(key_encoder_weights=str(key_file))
    assert init_encoders(one, "random") == {
        "key_encoder": f"local file {key_file}",
        "value_encoder": "random",
    }


def test_random_changes_nothing_and_needs_no_weights(offline_hub):
    cache(fake_imagenet())  # present, but not wanted
    net = smoke_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert init_encoders(net, "random") == {"key_encoder": "random", "value_encoder": "random"}
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert offline_hub == []


# --- train() and the CLI ----------------------------------------------------------------------

RUN = dict(iterations=1, epoch_samples=4, log_every=1, progress=False)


def test_train_imagenet_records_the_encoders_and_starts_from_the_file(tmp_path):
    from gsfm.checkpoint import load_state
    from gsfm.training.api import train

    state = fake_imagenet()
    path = cache(state)
    result = train("gsfm", "smoke", ["synth"], tmp_path / "run", encoder_init="imagenet", **RUN)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    expected = f"torchvision ResNet18_Weights.IMAGENET1K_V1 ({path})"
    assert config["encoders"] == {"key_encoder": expected, "value_encoder": expected}
    assert config["train"]["encoder_init"] == "imagenet"
    weights = load_state(result.final)["model"]
    for key in ("layer3.1.conv2.weight", "layer1.0.conv1.weight"):  # one Adam step away
        for prefix in ("key_encoder.", "value_encoder."):
            diff = (weights[prefix + key] - state[key]).abs().max().item()
            assert diff < 1e-3, (prefix + key, diff)


def test_train_random_bypasses_imagenet(tmp_path, offline_hub):
    from gsfm.training.api import train

    train("stcn", "smoke", ["synth"], tmp_path / "run", encoder_init="random", **RUN)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["encoders"] == {"key_encoder": "random", "value_encoder": "random"}
    assert offline_hub == []


def test_train_imagenet_without_weights_fails_before_writing(tmp_path):
    from gsfm.training.api import train

    with pytest.raises(PretrainedWeightsError, match="--encoder-init random"):
        train("gsfm", "smoke", ["synth"], tmp_path / "run", encoder_init="imagenet", **RUN)
    assert not (tmp_path / "run").exists()


def test_resume_keeps_the_recorded_encoders(tmp_path):
    from gsfm.training.api import train

    cache(fake_imagenet())
    kwargs = dict(RUN, iterations=2, checkpoint_every=1, encoder_init="imagenet")
    part = train("gsfm", "smoke", ["synth"], tmp_path / "run", stop_at=1, **kwargs)
    assert not part.finished
    imagenet_cache_path("resnet18").unlink()  # a resumed run restores its own weights
    done = train("gsfm", "smoke", ["synth"], tmp_path / "run", resume=True, **kwargs)
    assert done.finished
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["encoders"]["key_encoder"].startswith("torchvision ResNet18_Weights")


def test_cli_encoder_options(tmp_path, capsys, offline_hub):
    out = tmp_path / "run"
    argv = ["train", "--profile", "smoke", "--out", str(out), "--no-progress"]
    assert main([*argv, "--encoder-init", "imagenet"]) == 2  # no cache, no network
    err = capsys.readouterr().err
    assert err.startswith("error: no ImageNet weights") and len(err.strip().splitlines()) == 1
    assert "--encoder-init random" in err and "--key-encoder-weights PATH" in err
    assert not out.exists() and len(offline_hub) == 1
    offline_hub.clear()

    key_file = tmp_path / "key.pth"
    torch.save(fake_imagenet(seed=5), key_file)
    extra = ["--iterations", "1", "--set", "epoch_samples=4", "--key-encoder-weights"]
    assert main([*argv, "--encoder-init", "random", *extra, str(key_file)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["encoder_init"] == "random"
    assert config["model"]["key_encoder_weights"] == str(key_file)
    assert config["encoders"] == {
        "key_encoder": f"local file {key_file}",
        "value_encoder": "random",
    }
    assert offline_hub == []


def test_the_download_times_out_instead_of_hanging(monkeypatch):
    """torch.hub sets no timeout: the download runs under DOWNLOAD_TIMEOUT_S per socket
    operation (restored afterwards), and a timeout is the one clear error like any failure."""
    import socket

    from gsfm.model import pretrained

    seen = []

    def slow_network(url, dst, hash_prefix=None, progress=True):
        seen.append(socket.getdefaulttimeout())
        raise TimeoutError("timed out")

    monkeypatch.setattr(torch.hub, "download_url_to_file", slow_network)
    before = socket.getdefaulttimeout()
    with pytest.raises(PretrainedWeightsError, match=r"TimeoutError: timed out"):
        imagenet_state_dict("resnet18")
    assert seen == [pretrained.DOWNLOAD_TIMEOUT_S] and socket.getdefaulttimeout() == before
