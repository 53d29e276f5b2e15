"""Each model source, built from a tiny random-weight configuration inside the test, imported through the CLI or the
API, loaded through the store, predicting, and explained by every method that declares it suits it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import audio_bytes, chest_image, png_bytes, tone
from tests.sources import builders
from xaiscope.cli import main
from xaiscope.explainers import explain, methods
from xaiscope.inputs import load_input
from xaiscope.models import load_model
from xaiscope.preprocessing import iter_model_inputs

#: Small settings so that every method runs in a second or two on tiny networks.
FAST = {"lime": {"samples": 20}, "shap": {"max_evals": 50, "masker": "blur(16,16)"}, "kernel_shap": {"samples": 20},
        "integrated_gradients": {"steps": 4}, "smoothgrad": {"samples": 2}, "scorecam": {"batch_size": 64},
        "occlusion": {"patch": 32, "stride": 32}, "tile_lime": {"samples": 20}, "tile_kernel_shap": {"samples": 20},
        "tile_occlusion": {"time_tiles": 4, "band_tiles": 2}}


@pytest.fixture(scope="module")
def xray_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "chest.png"
    path.write_bytes(png_bytes((chest_image(120, 100) * 255).astype(np.uint8)))
    return path


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "speech.wav"
    path.write_bytes(audio_bytes(tone(1.6, 16000, 300), 16000))
    return path


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh $XAISCOPE_MODELS (and working directory), so only what a test imports is found."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XAISCOPE_MODELS", str(folder))
    return folder


def explain_all(model, sample) -> dict[str, str]:
    """Run every method that suits ``model``; returns the reasons of those that do not."""
    unsuited = {}
    for choice in methods(model=model):
        name = choice.plugin.name
        if model.card.modality not in choice.plugin.modalities:  # e.g. the audio tile methods on an X-ray model
            continue
        if not choice.available:
            unsuited[name] = choice.reason
            continue
        explanation = explain(model, sample, name, **FAST.get(name, {}))
        assert np.isfinite(explanation.attribution).all(), name
        assert explanation.attribution.ndim == 2, name
        if name not in ("random", "kernel_shap"):  # kernel_shap enumerates fewer coalitions on tiny pictures
            assert explanation.model_calls == explanation.expected_model_calls, name
    return unsuited


def test_hugging_face_image_classifier_imported_by_cli(tmp_path, models_dir, xray_png, capsys):
    directory = builders.vit_directory(tmp_path / "vit-chest")
    assert main(["import", str(directory), "--out", str(models_dir), "--name", "vit_chest"]) == 0
    card = json.loads((models_dir / "vit_chest" / "xaiscope-card.json").read_text())
    assert (card["source"], card["input_kind"], card["output_kind"]) == ("huggingface", "picture", "softmax")
    assert card["classes"] == ["no_opacity", "opacity"]
    assert card["preprocessing"]["image_size"] == 32 and card["preprocessing"]["mean"] == [0.5, 0.5, 0.5]
    assert card["source_options"]["token_grid"] == {"skip": 1, "rows": 4, "cols": 4}
    assert card["cam_target_layer"].endswith("layernorm_before")

    model = load_model("vit_chest")
    sample = load_input(xray_png)
    prediction = model.predict(sample)
    with torch.inference_mode():  # the same answer as the transformers model on the same pixels
        from transformers import ViTForImageClassification

        reference = ViTForImageClassification.from_pretrained(directory).eval()
        pixels = next(iter(iter_model_inputs(sample, model.card.preprocessing)))
        expected = torch.softmax(reference(pixel_values=pixels.tensor).logits, dim=1)[0]
    assert prediction.probabilities["opacity"] == pytest.approx(float(expected[1]), abs=1e-5)
    assert explain_all(model, sample) == {}  # CAM through the token grid, gradients, perturbations: all suit

    capsys.readouterr()
    assert main(["models", "--json"]) == 0
    listed = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)["models"]}
    assert listed["vit_chest"]["input_kind"] == "picture" and listed["vit_chest"]["source"] == "huggingface"


def test_hugging_face_directory_dropped_into_the_models_folder(models_dir, speech_wav):
    builders.wav2vec2_directory(models_dir / "w2v_detector")
    model = load_model("w2v_detector")  # no import: the card is derived from config.json and the processor config
    assert (model.input_kind, model.output_kind, model.classes) == ("waveform", "softmax", ("real", "fake"))
    assert model.card.preprocessing.sample_rate == 16000
    sample = load_input(speech_wav)
    prediction = model.predict(sample)
    assert len(prediction.windows) == 1 and sum(prediction.probabilities.values()) == pytest.approx(1.0)

    unsuited = {}
    for choice in methods(model=model):
        if not choice.available:
            unsuited[choice.plugin.name] = choice.reason
            continue
        explanation = explain(model, sample, choice.plugin.name, **FAST.get(choice.plugin.name, {}))
        frames = 1 + round(model.card.preprocessing.window_seconds * 16000) // 160
        assert explanation.plane.values.shape == (64, frames)  # on the time-frequency plane: 64 bands, 10 ms frames
        assert explanation.model_calls == explanation.expected_model_calls
        # computed on the plane; only the random control is drawn over samples and carried there
        assert explanation.space == ("input" if choice.plugin.name == "random" else "plane")
    assert set(unsuited) == {"gradcam", "gradcampp", "xgradcam", "layercam", "eigencam", "scorecam", "lime",
                             "shap", "kernel_shap", "occlusion"}
    assert "no spatial or time-frequency feature grid" in unsuited["gradcam"]
    assert "not one" in unsuited["lime"]


def test_hugging_face_audio_spectrogram_transformer_features(tmp_path, models_dir, speech_wav):
    directory = builders.ast_directory(tmp_path / "ast")
    assert main(["import", str(directory), "--out", str(models_dir), "--name", "ast_detector",
                 "--window-seconds", "0.5", "--hop-seconds", "0.5"]) == 0
    model = load_model("ast_detector")
    spec = model.card.preprocessing
    assert (model.input_kind, spec.extractor, spec.input_name) == ("features", "ASTFeatureExtractor", "input_values")
    assert model.card.source_options["token_grid"] == {"skip": 2, "rows": 2, "cols": 3, "transpose": True}
    sample = load_input(speech_wav)
    assert len(model.predict(sample).windows) == 4  # 1.6 s in 0.5 s windows: 0, 0.5, 1.0, and one flush at the end
    unsuited = {}
    for choice in methods(model=model):
        if not choice.available:
            unsuited[choice.plugin.name] = choice.reason
            continue
        explanation = explain(model, sample, choice.plugin.name, **FAST.get(choice.plugin.name, {}))
        # (frames, mel bins), CAM through the token grid too; the tile methods on the plane
        assert explanation.attribution.shape == ((48, 32) if explanation.space == "input" else (64, 51))
        assert np.isfinite(explanation.attribution).all() and explanation.plane is not None
    assert set(unsuited) == {"scorecam", "lime", "shap", "kernel_shap"}


def test_timm_name_plus_weights(tmp_path, models_dir, xray_png):
    weights = builders.timm_weights(tmp_path / "tiny_vit.pt", "test_vit", 2)
    assert main(["import", "test_vit", "--source", "timm", "--weights", str(weights), "--modality", "xray",
                 "--classes", "clear,opacity", "--name", "timm_vit", "--out", str(models_dir)]) == 0
    model = load_model("timm_vit")
    assert model.card.source == "timm" and model.card.source_options["token_grid"]["skip"] >= 1
    sample = load_input(xray_png)
    assert set(model.predict(sample).probabilities) == {"clear", "opacity"}
    assert explain_all(model, sample) == {}


def test_torchxrayvision_densenet_is_multi_label_on_gray_input(tmp_path, models_dir, xray_png, capsys):
    import torchxrayvision as xrv

    torch.manual_seed(0)
    tiny = {"growth_rate": 4, "block_config": [1, 1, 1, 1], "num_init_features": 8}
    network = xrv.models.DenseNet(weights=None, num_classes=18, **{**tiny, "block_config": (1, 1, 1, 1)})
    torch.save(network.state_dict(), tmp_path / "xrv.pt")
    from xaiscope.models.sources import import_model

    import_model("torchxrayvision", "densenet121-res224-all", weights=tmp_path / "xrv.pt", output_dir=models_dir,
                 name="xrv_all", network_options=tiny)
    model = load_model("xrv_all")
    assert (model.input_kind, model.output_kind, len(model.classes)) == ("xray-gray", "multi-label", 18)
    sample = load_input(xray_png)
    inputs = next(iter(iter_model_inputs(sample, model.card.preprocessing)))
    assert inputs.tensor.shape == (1, 1, 224, 224)
    assert float(inputs.tensor.min()) >= -1024 and float(inputs.tensor.max()) <= 1024
    prediction = model.predict(sample)
    with torch.inference_mode():
        expected = torch.sigmoid(network.eval()(inputs.tensor))[0]
    np.testing.assert_allclose(list(prediction.probabilities.values()), expected.numpy(), atol=1e-5)
    assert explain_all(model, sample) == {}

    out = tmp_path / "explained"
    assert main(["explain", str(xray_png), "--model", "xrv_all", "--method", "gradcam,occlusion", "--target",
                 "Pneumonia", "--param", "occlusion.patch=64", "--param", "occlusion.stride=64", "--out", str(out),
                 "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {record["target_class"] for record in records} == {"Pneumonia"}
    assert (out / "gradcam" / "overlay.png").is_file()


def test_onnx_black_box(tmp_path, models_dir, xray_png, capsys):
    path = builders.onnx_file(tmp_path / "small.onnx", size=64)
    card = {"name": "onnx_cnn", "modality": "xray", "architecture": "onnx", "classes": ["clear", "opacity"],
            "num_outputs": 2, "alert_class": "opacity", "preprocessing": {"kind": "xray", "image_size": 64}}
    builders.write_card(tmp_path / "card.json", **card)
    assert main(["import", str(path), "--card", str(tmp_path / "card.json"), "--out", str(models_dir)]) == 0
    model = load_model("onnx_cnn")
    assert not model.differentiable and model.card.source == "onnx"
    sample = load_input(xray_png)
    prediction = model.predict(sample)
    torch.manual_seed(0)
    network = builders.SmallCnn(2).eval()
    with torch.inference_mode():
        inputs = next(iter(iter_model_inputs(sample, model.card.preprocessing)))
        expected = torch.softmax(network(inputs.tensor), dim=1)[0]
    assert prediction.probabilities["opacity"] == pytest.approx(float(expected[1]), abs=1e-5)
    unsuited = explain_all(model, sample)
    assert set(unsuited) == {"gradcam", "gradcampp", "xgradcam", "layercam", "eigencam", "scorecam",
                             "integrated_gradients", "smoothgrad", "guided_backprop", "gradient_x_input"}
    assert all("ONNX model, which runs as a black box: gradient and CAM methods need PyTorch" in reason
               for reason in unsuited.values())
    assert main(["methods", "--model", "onnx_cnn"]) == 0
    assert "black box" in capsys.readouterr().out


def test_multi_label_three_sigmoids_target_by_name(tmp_path, models_dir, xray_png, capsys):
    path = builders.onnx_file(tmp_path / "three.onnx", size=64, outputs=3, any_size=True)
    assert main(["import", str(path), "--modality", "xray", "--classes", "Edema,Pneumonia,Effusion", "--multi-label",
                 "--name", "three_labels", "--out", str(models_dir)]) == 0
    assert json.loads((models_dir / "three_labels.json").read_text())["output_kind"] == "multi-label"
    capsys.readouterr()
    assert main(["predict", str(xray_png), "--model", "three_labels", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    probabilities = (result[0] if isinstance(result, list) else result["results"][0])["probabilities"]
    model = load_model("three_labels")
    inputs = next(iter(iter_model_inputs(load_input(xray_png),
                                                                             model.card.preprocessing)))
    torch.manual_seed(0)
    with torch.inference_mode():
        expected = torch.sigmoid(builders.SmallCnn(3).eval()(inputs.tensor))[0]  # each label its own sigmoid
    assert list(probabilities) == ["Edema", "Pneumonia", "Effusion"]
    np.testing.assert_allclose(list(probabilities.values()), expected.numpy(), atol=1e-5)
    assert sum(probabilities.values()) != pytest.approx(1.0, abs=1e-3)  # not renormalised

    out = tmp_path / "explained"
    assert main(["explain", str(xray_png), "--model", "three_labels", "--method", "occlusion,lime", "--target",
                 "Pneumonia", "--param", "lime.samples=20", "--out", str(out), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [record["target_class"] for record in records] == ["Pneumonia", "Pneumonia"]
    assert records[0]["target_probability"] == pytest.approx(float(expected[1]), abs=1e-5)


def test_the_class_view_of_label_k_is_its_own_two_logit_view():
    """Explaining label k of a multi-label model is explaining class 1 of a single-logit model with logit z_k."""
    from xaiscope.models.card import ModelCard
    from xaiscope.models.model import Model
    from xaiscope.preprocessing.spec import XraySpec

    network = builders.SmallCnn(3).eval()
    multi = Model(ModelCard(name="m", modality="xray", architecture="small", classes=("a", "b", "c"), num_outputs=3,
                            preprocessing=XraySpec(image_size=32), alert_class="b", output_kind="multi-label"),
                  network)

    class Second(torch.nn.Module):
        def forward(self, inputs):
            return network(inputs)[:, 1:2]

    single = Model(ModelCard(name="s", modality="xray", architecture="small", classes=("not_b", "b"), num_outputs=1,
                             preprocessing=XraySpec(image_size=32), alert_class="b"), Second())
    inputs = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(multi.class_logits(inputs)[:, 1], single.class_logits(inputs)[:, 1])
    torch.testing.assert_close(multi.probabilities(inputs)[:, 1], torch.sigmoid(network(inputs)[:, 1]))
    assert single.output_kind == "single-logit" and multi.card.multi_label


def run_import(arguments: list[str], capsys) -> str:
    """Run ``xaiscope import``, expect exit status 2, return what it printed."""
    assert main(["import", *arguments]) == 2
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_import_errors_are_clear(tmp_path, capsys):
    out = str(tmp_path / "models")
    no_weights = builders.vit_directory(tmp_path / "no-weights", with_weights=False)
    message = run_import([str(no_weights), "--out", out], capsys)
    assert "has no weights" in message and "model.safetensors" in message and str(no_weights) in message

    headless = builders.not_a_classifier_directory(tmp_path / "headless")
    message = run_import([str(headless), "--out", out], capsys)
    assert "Wav2Vec2Model" in message and "not an audio or image classifier" in message

    fixed = builders.onnx_file(tmp_path / "fixed.onnx", size=64)  # the card's default X-ray input is 224 px
    message = run_import([str(fixed), "--modality", "xray", "--classes", "a,b", "--out", out], capsys)
    assert "(N, 3, 64, 64)" in message and "(N, 3, 224, 224)" in message

    weights = tmp_path / "w.pt"
    torch.save({"w": torch.zeros(1)}, weights)
    message = run_import(["not_a_timm_net", "--source", "timm", "--weights", str(weights), "--modality", "xray",
                          "--classes", "a,b", "--out", out], capsys)
    assert "timm has no model called 'not_a_timm_net'" in message

    message = run_import(["densenet121-res224-all", "--source", "torchxrayvision", "--weights",
                          str(tmp_path / "missing.pt"), "--out", out], capsys)
    assert "missing.pt" in message and "does not exist" in message
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_cards_store_kinds_and_older_cards_load_unchanged():
    from xaiscope.models.card import ModelCard
    from xaiscope.models.seed import seed_card
    from xaiscope.preprocessing.spec import FeaturesSpec

    old = seed_card("audio_vgg16").to_dict()
    for key in ("source", "source_options", "output_kind", "input_kind"):
        old.pop(key)
    card = ModelCard.from_dict(old)
    assert (card.source, card.input_kind, card.output_kind) == ("torchvision", "picture", "single-logit")
    features = ModelCard(name="ast", modality="audio", architecture="ASTForAudioClassification",
                         classes=("real", "fake"), num_outputs=2, alert_class="fake", input_kind="features",
                         preprocessing=FeaturesSpec(extractor="ASTFeatureExtractor",
                                                    extractor_config={"max_length": 40}, input_name="input_values"),
                         source="huggingface", source_options={"token_grid": {"skip": 2, "rows": 1, "cols": 3}})
    assert ModelCard.from_dict(json.loads(json.dumps(features.to_dict()))) == features
    with pytest.raises(Exception, match="does not fit its 'picture' preprocessing"):
        card.with_updates(input_kind="waveform")


def test_official_torchxrayvision_pickles_load_with_only_their_module_classes(tmp_path):
    import torchxrayvision as xrv

    from xaiscope.models.sources.xrv import read_xrv_weights

    torch.manual_seed(0)
    whole = xrv.models.DenseNet(weights=None, num_classes=18, growth_rate=4, block_config=(1, 1, 1, 1),
                                num_init_features=8)
    torch.save(whole, tmp_path / "whole.pt")  # how the library's downloads are stored: a pickled module
    state = read_xrv_weights(tmp_path / "whole.pt")
    torch.testing.assert_close(state["classifier.weight"], whole.classifier.weight.detach())


def test_timm_swin_is_explained_through_its_channels_last_stage(tmp_path, models_dir, xray_png):
    weights = builders.timm_weights(tmp_path / "swin.pt", "swin_tiny_patch4_window7_224", 2)
    assert main(["import", "swin_tiny_patch4_window7_224", "--source", "timm", "--weights", str(weights),
                 "--modality", "xray", "--classes", "clear,opacity", "--name", "timm_swin", "--out",
                 str(models_dir)]) == 0
    model = load_model("timm_swin")
    assert model.card.cam_target_layer == "layers.3" and model.card.source_options["token_grid"] == {"layout": "NHWC"}
    sample = load_input(xray_png)
    for method in ("gradcam", "eigencam"):
        explanation = explain(model, sample, method)
        assert explanation.attribution.shape == (224, 224) and np.ptp(explanation.attribution) > 0, method
        assert explanation.model_calls == 1
