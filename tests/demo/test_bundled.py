"""The shipped demo: models load with no configuration, classify the shipped samples, explain them sensibly, and
everything stays within its size budget and is listed in NOTICE.md. Needs none of the build-time sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import xaiscope
from tools.demo.models import AUDIO_MODEL, RAWNET2_MODEL, RAWNET2_OPTIONS, XRAY_MODEL, density_ratio, peak_in_mask
from xaiscope.explainers import explain
from xaiscope.inputs.bundled import SAMPLES_DIR, BundledSample, bundled_samples
from xaiscope.models.store import BUNDLED_DIR, discover
from xaiscope.views.audio import AudioView

ROOT = Path(__file__).resolve().parents[2]
MODEL_FOR = {"audio": AUDIO_MODEL, "xray": XRAY_MODEL}


def _sample(modality: str, key: str) -> BundledSample:
    matches = [s for s in bundled_samples(modality) if key in s.ground_truth]
    assert matches, f"no bundled {modality} sample with ground truth '{key}'"
    return matches[0]


def test_store_finds_bundled_models_without_configuration(workdir: Path) -> None:
    entries, problems = discover()
    present = {entry.card.name: entry for entry in entries if entry.present}
    assert {AUDIO_MODEL, XRAY_MODEL, RAWNET2_MODEL} <= set(present), problems
    assert present[AUDIO_MODEL].weights_path.parent == BUNDLED_DIR
    assert present[RAWNET2_MODEL].card.input_kind == "waveform" and present[RAWNET2_MODEL].card.modality == "audio"


@pytest.mark.parametrize("name", [AUDIO_MODEL, XRAY_MODEL, RAWNET2_MODEL])
def test_cards_say_what_the_demo_models_are(name: str) -> None:
    card = xaiscope.load_model(name).card
    assert "tiny offline corpus" in card.intended_use
    assert "Not for forensic or clinical decisions" in card.intended_use
    metrics = card.provenance["held_out_metrics"]
    for key in ("accuracy", "roc_auc") + (("eer",) if card.modality == "audio" else ()):
        assert metrics["overall"][key] is not None
    assert metrics["per_source"]


def test_every_labelled_sample_is_classified_right() -> None:
    labelled = [s for s in bundled_samples() if "label" in s.ground_truth]
    assert {s.modality for s in labelled} == {"audio", "xray"}
    for sample in labelled:
        model = xaiscope.load_model(MODEL_FOR[sample.modality])
        prediction = model.predict(xaiscope.load_input(sample.path))
        assert prediction.label == sample.ground_truth["label"], sample.title


def test_rawnet2_shares_the_speech_windows_and_suits_gradient_methods_only() -> None:
    from xaiscope.explainers import methods
    from xaiscope.preprocessing.spec import AudioSpec, WaveformSpec

    model = xaiscope.load_model(RAWNET2_MODEL)
    card, mel = model.card, xaiscope.load_model(AUDIO_MODEL).card
    assert isinstance(card.preprocessing, WaveformSpec) and isinstance(mel.preprocessing, AudioSpec)
    for key in ("sample_rate", "window_seconds", "hop_seconds", "pad", "aggregation"):
        assert getattr(card.preprocessing, key) == getattr(mel.preprocessing, key), key
    assert card.classes == mel.classes and card.provenance["data_splits"] == mel.provenance["data_splits"]
    assert card.source_options["network"] == {**card.source_options["network"], **RAWNET2_OPTIONS}
    assert card.calibration is not None and card.familiarity is not None
    assert (BUNDLED_DIR / card.familiarity["reference"]).is_file()
    choices = {choice.plugin.name: choice for choice in methods("audio", model)}
    assert not choices["gradcam"].available and "raw-waveform" in choices["gradcam"].reason
    assert choices["integrated_gradients"].available and choices["smoothgrad"].available
    for sample in bundled_samples("audio"):
        prediction = model.predict(xaiscope.load_input(sample.path))
        assert set(prediction.probabilities) == {"fake", "real"}


def test_real_dicom_sample_loads_and_is_classified() -> None:
    dicoms = [s for s in bundled_samples("xray") if s.path.suffix == ".dcm"]
    assert dicoms
    loaded = xaiscope.load_input(dicoms[0].path)
    assert loaded.modality == "xray"
    prediction = xaiscope.load_model(XRAY_MODEL).predict(loaded)
    assert set(prediction.probabilities) == {"no_opacity", "opacity"}


def test_gradcam_is_denser_inside_the_fake_interval() -> None:
    bundled = _sample("audio", "fake_interval")
    model = xaiscope.load_model(AUDIO_MODEL)
    sample = xaiscope.load_input(bundled.path)
    explanation = explain(model, sample, "gradcam", target="fake")
    view = AudioView.build(explanation)
    assert density_ratio(view, bundled.ground_truth["fake_interval"]) > 1.0


def test_gradcam_peak_falls_inside_the_lesion_mask() -> None:
    bundled = _sample("xray", "mask")
    model = xaiscope.load_model(XRAY_MODEL)
    explanation = explain(model, xaiscope.load_input(bundled.path), "gradcam", target="opacity")
    mask = np.asarray(Image.open(SAMPLES_DIR / bundled.ground_truth["mask"]).convert("L")) > 127
    assert peak_in_mask(explanation.attribution, mask)


def test_shipped_files_fit_their_budgets() -> None:
    for checkpoint in BUNDLED_DIR.glob("*.safetensors"):
        assert checkpoint.stat().st_size <= 10 * 1024 * 1024, checkpoint.name
    total = sum(path.stat().st_size for path in SAMPLES_DIR.rglob("*") if path.is_file())
    assert 0 < total <= 5 * 1024 * 1024


def test_every_shipped_file_is_listed_in_notice() -> None:
    notice = (ROOT / "NOTICE.md").read_text(encoding="utf-8")
    shipped = [path for folder in (BUNDLED_DIR, SAMPLES_DIR) for path in folder.rglob("*") if path.is_file()
               and "__pycache__" not in path.parts]
    assert shipped
    missing = [str(path.relative_to(ROOT / "src")) for path in shipped
               if f"`src/{path.relative_to(ROOT / 'src').as_posix()}`" not in notice]
    assert not missing, f"not in NOTICE.md: {missing}"


def test_user_weights_come_before_the_bundled_models(workdir: Path) -> None:
    import json
    import shutil

    from xaiscope.models.store import load_default_model

    folder = workdir / "weights"
    folder.mkdir()
    shutil.copyfile(BUNDLED_DIR / f"{XRAY_MODEL}.safetensors", folder / "zz_user_xray.safetensors")
    card = json.loads((BUNDLED_DIR / f"{XRAY_MODEL}.json").read_text(encoding="utf-8"))
    card["name"] = "zz_user_xray"
    (folder / "zz_user_xray.json").write_text(json.dumps(card), encoding="utf-8")
    assert load_default_model("xray").name == "zz_user_xray"  # sorts after demo_* by name, but its folder is first
    assert load_default_model("audio").name == AUDIO_MODEL
