"""The model store: seed weights with true labels, discovery order, checkpoints, import, and every model error."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import audio_bytes, chest_image, png_bytes, tone
from xaiscope.errors import (
    CardError,
    ModalityMismatchError,
    NotACheckpointError,
    UnknownModelError,
    UnsafeCheckpointError,
    WeightsMismatchError,
    WeightsNotFoundError,
)
from xaiscope.inputs import load_input
from xaiscope.models import (
    SEED_KEYS,
    ModelCard,
    TwoLogitView,
    discover,
    import_state_dict,
    load_model,
    seed_card,
)
from xaiscope.models.checkpoint import read_state_dict


def _biased(state: dict[str, torch.Tensor], bias: float, head: str = "classifier.1") -> dict[str, torch.Tensor]:
    """A copy whose head ignores its input and outputs ``bias`` as the logit."""
    state = {key: value.clone() for key, value in state.items()}
    state[f"{head}.weight"].zero_()
    state[f"{head}.bias"].fill_(bias)
    return state


def test_seed_audio_weights_give_true_labels(workdir: Path, seed_mobilenet_state):
    (workdir / "weights").mkdir()
    torch.save(_biased(seed_mobilenet_state, 4.0), workdir / "weights" / "audio_mobilenetv2.pt")
    model = load_model("audio_mobilenetv2")
    assert model.classes == ("fake", "real")
    prediction = model.predict(load_input(audio_bytes(tone(1.0), 16000)))
    # sigmoid(4) = 0.982 = P(real): index 1 is "real" (ImageFolder's alphabetical order), not "fake".
    assert prediction.label == "real"
    assert prediction.probabilities["real"] == pytest.approx(1 / (1 + np.exp(-4.0)), abs=1e-5)
    assert prediction.probabilities["fake"] == pytest.approx(1 - prediction.probabilities["real"], abs=1e-6)


def test_seed_xray_weights_give_true_labels(workdir: Path):
    import torchvision

    torch.manual_seed(0)
    state = torchvision.models.densenet121(num_classes=1).state_dict()
    folder = workdir / "elsewhere"
    folder.mkdir()
    torch.save(_biased(state, -3.0, head="classifier"), folder / "xray_densenet121.pt")
    os.environ["XAISCOPE_MODELS"] = str(folder)
    try:
        model = load_model("xray_densenet121")
        prediction = model.predict(load_input(png_bytes((chest_image() * 255).astype(np.uint8))))
    finally:
        del os.environ["XAISCOPE_MODELS"]
    assert model.classes == ("no_opacity", "opacity")
    assert prediction.label == "no_opacity" and prediction.windows == []
    assert prediction.probabilities["opacity"] == pytest.approx(1 / (1 + np.exp(3.0)), abs=1e-5)


def test_seed_models_are_always_listed_with_missing_weights(workdir: Path):
    entries, problems = discover()
    names = {entry.card.name: entry for entry in entries}
    assert set(SEED_KEYS) <= set(names) and problems == []
    assert not names["audio_vgg16"].present
    with pytest.raises(WeightsNotFoundError) as caught:
        load_model("audio_vgg16")
    assert str(workdir / "weights") in caught.value.problem
    assert "XAISCOPE_MODELS" in caught.value.hint


def test_environment_folder_comes_before_weights(workdir: Path, monkeypatch, seed_mobilenet_state):
    first, second = workdir / "first", workdir / "weights"
    first.mkdir()
    second.mkdir()
    torch.save(seed_mobilenet_state, first / "audio_mobilenetv2.pt")
    torch.save(seed_mobilenet_state, second / "audio_mobilenetv2.pt")
    monkeypatch.setenv("XAISCOPE_MODELS", str(first))
    entry = next(entry for entry in discover()[0] if entry.card.name == "audio_mobilenetv2")
    assert entry.weights_path == first / "audio_mobilenetv2.pt"


def test_model_loads_once_per_process(workdir: Path, seed_mobilenet_state):
    (workdir / "weights").mkdir()
    torch.save(seed_mobilenet_state, workdir / "weights" / "audio_mobilenetv2.pt")
    assert load_model("audio_mobilenetv2") is load_model("audio_mobilenetv2")


def test_unknown_model_name(workdir: Path):
    with pytest.raises(UnknownModelError, match="no model called 'nope'"):
        load_model("nope")


def test_wrong_architecture_names_the_keys(workdir: Path, seed_mobilenet_state):
    (workdir / "weights").mkdir()
    state = dict(seed_mobilenet_state)
    state["classifier.1.weight"] = torch.zeros(2, 1280)
    state["classifier.1.bias"] = torch.zeros(2)
    torch.save(state, workdir / "weights" / "audio_mobilenetv2.pt")
    with pytest.raises(WeightsMismatchError) as caught:
        load_model("audio_mobilenetv2")
    assert "classifier.1.weight (2, 1280) != (1, 1280)" in caught.value.problem


def test_weights_of_another_architecture(workdir: Path, seed_mobilenet_state):
    (workdir / "weights").mkdir()
    torch.save(seed_mobilenet_state, workdir / "weights" / "audio_resnet50.pt")
    with pytest.raises(WeightsMismatchError) as caught:
        load_model("audio_resnet50")
    assert "missing: conv1.weight" in caught.value.problem and "unexpected: features.0.0.weight" in caught.value.problem


def test_file_that_is_not_a_checkpoint(workdir: Path):
    (workdir / "weights").mkdir()
    (workdir / "weights" / "audio_vgg16.pt").write_text("these are not weights")
    with pytest.raises(NotACheckpointError, match="not a PyTorch checkpoint"):
        load_model("audio_vgg16")


def test_pickle_of_something_else_is_not_a_checkpoint(tmp_path: Path):
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(NotACheckpointError, match="state_dict"):
        read_state_dict(path)


class _Exploit:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", [2, 4])
def test_code_executing_pickle_is_refused_and_never_run(tmp_path: Path, protocol: int):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    with path.open("wb") as handle:
        pickle.dump({"weight": _Exploit(marker)}, handle, protocol=protocol)
    with pytest.raises(UnsafeCheckpointError) as caught:
        read_state_dict(path)
    assert "nothing in it was executed" in caught.value.problem
    assert "system" in caught.value.problem
    assert not marker.exists()


def test_code_executing_torch_save_is_refused(tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_zip.pt"
    torch.save({"weight": torch.zeros(2), "extra": _Exploit(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match="system"):
        read_state_dict(path)
    assert not marker.exists()


def test_safetensors_that_is_not_one(tmp_path: Path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(NotACheckpointError, match="safetensors"):
        read_state_dict(path)


def test_wrapped_and_data_parallel_state_dicts_are_unwrapped(tmp_path: Path, seed_mobilenet_state):
    path = tmp_path / "wrapped.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in seed_mobilenet_state.items()}}, path)
    assert set(read_state_dict(path)) == set(seed_mobilenet_state)


def test_import_writes_a_checkpoint_that_predicts_the_same(workdir: Path, seed_mobilenet_state):
    source = workdir / "my_detector.pt"
    torch.save(_biased(seed_mobilenet_state, 1.5), source)
    weights = import_state_dict(source, architecture="MobileNetV2", modality="audio", classes=["fake", "real"],
                                output_dir=workdir / "weights")
    assert weights.suffix == ".safetensors" and weights.with_suffix(".json").exists()
    card = ModelCard.load(weights.with_suffix(".json"))
    assert card.classes == ("fake", "real") and card.num_outputs == 1 and card.alert_class == "fake"
    assert card.preprocessing.renderer == "direct"
    model = load_model("my_detector")
    assert model.predict(load_input(audio_bytes(tone(1.0), 16000))).probabilities["real"] == pytest.approx(
        1 / (1 + np.exp(-1.5)), abs=1e-5)


def test_import_of_a_seed_file_keeps_its_card(workdir: Path, seed_mobilenet_state):
    source = workdir / "audio_mobilenetv2.pt"
    torch.save(seed_mobilenet_state, source)
    weights = import_state_dict(source, architecture="mobilenet_v2", modality="audio", classes=["fake", "real"],
                                output_dir=workdir / "converted")
    card = ModelCard.load(weights.with_suffix(".json"))
    assert card.preprocessing == seed_card("audio_mobilenetv2").preprocessing


def test_multi_class_import_and_generic_architecture(workdir: Path):
    import torchvision

    source = workdir / "three.pt"
    torch.save(torchvision.models.squeezenet1_1(num_classes=3).state_dict(), source)
    weights = import_state_dict(source, architecture="squeezenet1_1", modality="xray",
                                classes=["normal", "opacity", "effusion"], output_dir=workdir / "weights")
    model = load_model(weights)
    assert model.card.num_outputs == 3 and model.card.alert_class == "opacity"
    assert model.card.cam_target_layer
    prediction = model.predict(load_input(png_bytes((chest_image() * 255).astype(np.uint8))))
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_broken_card_is_reported_not_fatal(workdir: Path, seed_mobilenet_state):
    source = workdir / "mine.pt"
    torch.save(seed_mobilenet_state, source)
    weights = import_state_dict(source, architecture="mobilenet_v2", modality="audio", classes=["fake", "real"],
                                output_dir=workdir / "weights")
    weights.with_suffix(".json").write_text("{ not json")
    entries, problems = discover()
    assert "mine" not in {entry.card.name for entry in entries}
    assert any("mine.json" in problem for problem in problems)
    with pytest.raises(CardError):
        load_model(weights)


def test_card_validation():
    with pytest.raises(CardError, match="alert_class"):
        seed_card("audio_vgg16").with_updates(alert_class="bonafide")
    with pytest.raises(CardError, match="num_outputs"):
        seed_card("audio_vgg16").with_updates(classes=("a", "b", "c"))
    card = seed_card("xray_alexnet")
    assert ModelCard.from_dict(card.to_dict()) == card


def test_two_logit_view_softmax_is_sigmoid():
    network = torch.nn.Linear(4, 1)
    inputs = torch.randn(5, 4)
    probabilities = torch.softmax(TwoLogitView(network)(inputs), dim=1)
    sigmoid = torch.sigmoid(network(inputs))[:, 0]
    assert torch.allclose(probabilities[:, 1], sigmoid, atol=1e-6)
    assert torch.allclose(probabilities[:, 0], 1 - sigmoid, atol=1e-6)


def test_wrong_modality_for_model(workdir: Path, seed_mobilenet_state):
    (workdir / "weights").mkdir()
    torch.save(seed_mobilenet_state, workdir / "weights" / "audio_mobilenetv2.pt")
    with pytest.raises(ModalityMismatchError, match="classifies recordings"):
        load_model("audio_mobilenetv2").predict(load_input(png_bytes((chest_image() * 255).astype(np.uint8))))


def test_long_recording_timeline_and_max_aggregation(workdir: Path, seed_mobilenet_state):
    (workdir / "weights").mkdir()
    torch.save(seed_mobilenet_state, workdir / "weights" / "audio_mobilenetv2.pt")
    model = load_model("audio_mobilenetv2")
    calls: list[tuple[int, int]] = []
    prediction = model.predict(load_input(audio_bytes(tone(10.0), 16000)), batch_size=2,
                               progress=lambda done, total: calls.append((done, total)))
    assert len(prediction.windows) == 6  # 3 s windows every 1.5 s over 10 s, the last flush with the end
    assert calls[-1] == (6, 6)
    decisive = prediction.windows[prediction.decisive_window]
    assert decisive.probabilities["fake"] == max(w.probabilities["fake"] for w in prediction.windows)
    assert prediction.probabilities["fake"] == pytest.approx(decisive.probabilities["fake"], abs=1e-6)
    assert "most suspicious" in prediction.combined_by
