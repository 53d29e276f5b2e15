"""RawNet2: the ASVspoof 2021 baseline's layout and sizes, a plain differentiable module, imported from a plain
PyTorch state_dict and explained by the methods that suit a waveform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from xaiscope.cli import main
from xaiscope.errors import ConfigError, WeightsMismatchError
from xaiscope.explainers import methods
from xaiscope.models import load_model
from xaiscope.models.architectures import (
    architecture_info,
    architecture_options,
    build_network,
    canonical_architecture,
    classification_architectures,
    default_preprocessing,
)
from xaiscope.models.store import import_state_dict
from xaiscope.models.waveform import RawNet2, RawNet2Config, sinc_filters
from xaiscope.preprocessing.spec import WaveformSpec

SMALL = {"sinc_filters": 6, "first_conv": 64, "block_filters": [6, 12], "gru_node": 16, "nb_gru_layer": 2,
         "nb_fc_node": 16}


def _baseline_keys() -> dict[str, tuple[int, ...]]:
    """The state_dict of the baseline's model.py with its published config (filts [20, [20, 20], [20, 128],
    [128, 128]], first_conv 1024, gru_node 1024, nb_gru_layer 3, nb_fc_node 1024, nb_classes 2), written out."""
    keys: dict[str, tuple[int, ...]] = {}

    def batch_norm(prefix: str, size: int) -> None:
        keys.update({f"{prefix}.weight": (size,), f"{prefix}.bias": (size,), f"{prefix}.running_mean": (size,),
                     f"{prefix}.running_var": (size,), f"{prefix}.num_batches_tracked": ()})

    batch_norm("first_bn", 20)
    for index, (c_in, c_out) in enumerate([(20, 20), (20, 20), (20, 128), (128, 128), (128, 128), (128, 128)]):
        prefix = f"block{index}.0"
        if index:
            batch_norm(f"{prefix}.bn1", c_in)
        keys.update({f"{prefix}.conv1.weight": (c_out, c_in, 3), f"{prefix}.conv1.bias": (c_out,)})
        batch_norm(f"{prefix}.bn2", c_out)
        keys.update({f"{prefix}.conv2.weight": (c_out, c_out, 3), f"{prefix}.conv2.bias": (c_out,)})
        if c_in != c_out:
            keys.update({f"{prefix}.conv_downsample.weight": (c_out, c_in, 1),
                         f"{prefix}.conv_downsample.bias": (c_out,)})
    for index, size in enumerate([20, 20, 128, 128, 128, 128]):
        keys.update({f"fc_attention{index}.0.weight": (size, size), f"fc_attention{index}.0.bias": (size,)})
    batch_norm("bn_before_gru", 128)
    for layer in range(3):
        keys.update({f"gru.weight_ih_l{layer}": (3072, 128 if layer == 0 else 1024),
                     f"gru.weight_hh_l{layer}": (3072, 1024), f"gru.bias_ih_l{layer}": (3072,),
                     f"gru.bias_hh_l{layer}": (3072,)})
    keys.update({"fc1_gru.weight": (1024, 1024), "fc1_gru.bias": (1024,), "fc2_gru.weight": (2, 1024),
                 "fc2_gru.bias": (2,)})
    return keys


def test_default_rawnet2_has_the_baselines_state_dict():
    network = build_network("RawNet2", 2)
    state = network.state_dict()
    assert {key: tuple(value.shape) for key, value in state.items()} == _baseline_keys()
    assert network.Sinc_conv.filters.shape == (20, 1, 1025)  # 1024 taps made odd, not in the state_dict
    assert not network.training


def test_registry_knows_the_waveform_family():
    assert "rawnet2" in classification_architectures() and canonical_architecture("RawNet") == "rawnet2"
    info = architecture_info("rawnet2")
    assert info.input_kind == "waveform" and info.head == "fc2_gru" and info.cam_target_layer is None
    assert architecture_options("rawnet2", {"gru_node": 64})["gru_node"] == 64
    assert architecture_options("rawnet2")["first_conv"] == 1024
    assert default_preprocessing("rawnet2", "audio") == WaveformSpec(
        sample_rate=16000, window_seconds=4.0375, hop_seconds=2.01875, pad="repeat", normalize=False)
    with pytest.raises(ConfigError, match="no options"):
        build_network("mobilenet_v2", 1, {"gru_node": 8})
    with pytest.raises(ConfigError, match="gru_units"):
        build_network("rawnet2", 1, {"gru_units": 8})


def test_sinc_filters_pass_their_mel_band():
    filters = sinc_filters(8, 257, 16000)[:, 0].double().numpy()
    response = np.abs(np.fft.rfft(filters, n=4096, axis=1))
    frequencies = np.fft.rfftfreq(4096, 1 / 16000)
    mel = np.linspace(0, 2595 * np.log10(1 + 8000 / 700), 9)
    edges = 700 * (10 ** (mel / 2595) - 1)
    for band in range(1, 8):  # the lowest band's edge at 0 Hz is narrower than the window's resolution
        peak = frequencies[np.argmax(response[band])]
        assert edges[band] <= peak <= edges[band + 1]


def test_rawnet2_is_a_plain_differentiable_module_without_in_place_steps():
    torch.manual_seed(0)
    network = build_network("rawnet2", 3, SMALL)
    assert isinstance(network, RawNet2) and network.min_samples == 65 + 3 ** 7 - 1
    assert not any(getattr(module, "inplace", False) for module in network.modules())
    seen: list[str] = []
    handles = [module.register_full_backward_hook(lambda m, gi, go, name=name: seen.append(name))
               for name, module in network.named_modules() if name and not list(module.children())
               and not isinstance(module, nn.GRU)]
    inputs = torch.randn(2, 8000, requires_grad=True)
    try:
        logits = network(inputs)  # a hook on an output that is later modified in place raises here or below
        logits[:, 1].sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    assert logits.shape == (2, 3) and logits.dtype == torch.float32
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all() and inputs.grad.abs().sum() > 0
    assert "Sinc_conv" in seen and "fc2_gru" in seen


def test_plain_state_dict_imports_and_predicts_the_same(workdir: Path, speech_sample):
    torch.manual_seed(1)
    reference = build_network("rawnet2", 2, SMALL)
    torch.save(reference.state_dict(), workdir / "rawnet2_asvspoof.pth")  # as the baseline's main.py saves it
    assert main(["import", str(workdir / "rawnet2_asvspoof.pth"), "--arch", "rawnet2", "--modality", "audio",
                 "--classes", "spoof,bonafide", "--arch-options",
                 '{"sinc_filters": 6, "first_conv": 64, "block_filters": [6, 12], "gru_node": 16, '
                 '"nb_gru_layer": 2, "nb_fc_node": 16}']) == 0
    model = load_model("rawnet2_asvspoof")
    card = model.card
    assert card.input_kind == "waveform" and card.num_outputs == 2 and card.classes == ("spoof", "bonafide")
    assert card.alert_class == "spoof" and card.cam_target_layer is None and card.source == "xaiscope"
    assert card.source_options["network"] == RawNet2Config.from_dict(SMALL).to_dict()
    assert card.preprocessing == default_preprocessing("rawnet2", "audio")
    rows = torch.randn(3, 64600)
    with torch.no_grad():
        assert torch.equal(model.network(rows), reference.eval()(rows))
    prediction = model.predict(speech_sample)
    assert set(prediction.probabilities) == {"spoof", "bonafide"}
    choices = {choice.plugin.name: choice for choice in methods("audio", model)}
    assert not choices["gradcam"].available and "raw-waveform" in choices["gradcam"].reason
    assert choices["integrated_gradients"].available and choices["smoothgrad"].available


def test_state_dict_of_another_size_is_refused_with_the_keys(tmp_path: Path):
    torch.save(build_network("rawnet2", 2, SMALL).state_dict(), tmp_path / "small.pth")
    with pytest.raises(WeightsMismatchError):
        import_state_dict(tmp_path / "small.pth", architecture="rawnet2", modality="audio",
                          classes=["spoof", "bonafide"], output_dir=tmp_path / "out")
