"""End to end: ``calibrate`` a small model on a labelled folder, then ``predict`` reports trust (API, CLI, JSON)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from tests.conftest import chest_image, dicom_bytes, png_bytes
from xaiscope.cli import main
from xaiscope.inputs import load_input
from xaiscope.models import import_state_dict, load_model
from xaiscope.models.card import ModelCard
from xaiscope.preprocessing import XraySpec


def picture(seed: int, opacity: bool) -> np.ndarray:
    image = chest_image(128, 112, seed=seed)
    if opacity:
        y, x = np.mgrid[0:128, 0:112]
        image = np.clip(image + 0.4 * np.exp(-((x - 40) ** 2 + (y - 60) ** 2) / 150.0), 0, 1)
    return (image * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(checkpoint, data)``: a random mobilenet_v3_small X-ray model calibrated on a synthetic folder set."""
    root = tmp_path_factory.mktemp("calibrate")
    data = root / "data"
    seed = 0
    for split, count in (("training", 30), ("validation", 40), ("testing", 16)):
        for label in ("no_opacity", "opacity"):
            folder = data / split / label
            folder.mkdir(parents=True)
            for _ in range(count // 2):
                seed += 1
                (folder / f"{seed}.png").write_bytes(png_bytes(picture(seed, label == "opacity")))
    torch.manual_seed(0)
    state = root / "tiny.pt"
    torch.save(torchvision.models.mobilenet_v3_small(num_classes=1).state_dict(), state)
    checkpoint = import_state_dict(state, architecture="mobilenet_v3_small", modality="xray",
                                   classes=["no_opacity", "opacity"], output_dir=root / "models",
                                   preprocessing=XraySpec(image_size=64))
    torch.set_num_threads(1)
    assert main(["calibrate", str(checkpoint), str(data), "--max-testing-files", "16"]) == 0
    return checkpoint, data


def test_calibrate_writes_card_sidecar_and_diagram(calibrated):
    checkpoint, _ = calibrated
    card = ModelCard.load(checkpoint.with_suffix(".json"))
    assert card.calibration["temperature"] > 0
    assert set(card.familiarity["comparison"]) == {"knn", "mahalanobis"}
    assert card.familiarity["method"] in ("knn", "mahalanobis")
    assert (checkpoint.parent / card.familiarity["reference"]).is_file()
    assert (checkpoint.parent / f"{card.name}.validation.reliability.png").is_file()
    assert checkpoint.stat().st_size + (checkpoint.parent / card.familiarity["reference"]).stat().st_size < 10e6


def test_at_least_95_percent_of_the_validation_split_passes_as_familiar_through_predict(calibrated):
    checkpoint, data = calibrated
    model = load_model(str(checkpoint))
    statuses = [model.predict(load_input(path)).familiarity["status"]
                for path in sorted((data / "validation").rglob("*.png"))]
    assert statuses.count("familiar") / len(statuses) >= 0.95


def test_unfamiliar_inputs_keep_their_verdict_and_carry_warnings(calibrated):
    checkpoint, _ = calibrated
    model = load_model(str(checkpoint))
    noise = np.random.default_rng(0).integers(0, 256, (128, 112), dtype=np.uint8)
    y, x = np.mgrid[0:120, 0:160]
    photo = np.stack([x * 255 // 160, y * 255 // 120, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(dicom_bytes((chest_image() * 4095).astype(np.uint16))))
    dataset.Modality = "CT"
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    for name, data in (("noise.png", png_bytes(noise)), ("photo.png", png_bytes(photo)), ("ct.dcm", buffer.getvalue())):
        prediction = model.predict(load_input(data, name=name))
        assert prediction.label in model.classes, name
        assert prediction.warnings, name
        assert prediction.familiarity["status"] in ("familiar", "unusual", "unlike the training data")
        assert prediction.calibrated["temperature"] == pytest.approx(model.card.calibration["temperature"], abs=1e-4)
    ct = model.predict(load_input(buffer.getvalue(), name="ct.dcm"))
    assert any("CT (computed tomography)" in warning for warning in ct.warnings)


def test_calibration_keeps_the_verdict_and_states_the_uncalibrated_probabilities(calibrated):
    checkpoint, data = calibrated
    model = load_model(str(checkpoint))
    prediction = model.predict(load_input(next((data / "testing" / "opacity").glob("*.png"))))
    raw = prediction.calibrated["uncalibrated"]
    assert max(raw, key=raw.get) == prediction.label
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0)


def test_cli_text_and_json_carry_the_warning(calibrated, tmp_path, capsys):
    checkpoint, _ = calibrated
    photo = tmp_path / "holiday.png"
    y, x = np.mgrid[0:120, 0:160]
    Image.fromarray(np.stack([x * 255 // 160, y * 255 // 120, np.full_like(x, 90)], axis=-1).astype(np.uint8)).save(
        photo)
    assert main(["predict", str(photo), "--model", str(checkpoint)]) == 0
    text = capsys.readouterr().out
    assert "WARNING" in text and "photograph" in text and "familiarity:" in text
    assert "calibrated by temperature" in text
    assert main(["predict", str(photo), "--model", str(checkpoint), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)[0]
    assert any("photograph" in warning for warning in record["warnings"])
    assert record["familiarity"]["status"] in ("familiar", "unusual", "unlike the training data")
    assert {check["name"] for check in record["checks"]} >= {"colour", "smoothness", "DICOM modality"}


def test_eval_model_reports_ece_before_and_after(calibrated, tmp_path, capsys):
    checkpoint, data = calibrated
    assert main(["eval-model", str(checkpoint), str(data), "--split", "testing", "--out", str(tmp_path),
                 "--num-workers", "0", "--no-progress"]) == 0
    assert "ECE" in capsys.readouterr().out
    report = json.loads(next(tmp_path.glob("*.testing.metrics.json")).read_text())
    assert set(report["metrics"]["calibration"]["ece"]) == {"before", "after"}
    assert next(tmp_path.glob("*.testing.reliability.png")).stat().st_size > 1000


def test_cards_without_trust_fields_still_load(calibrated):
    checkpoint, _ = calibrated
    data = json.loads(checkpoint.with_suffix(".json").read_text())
    for key in ("input_range", "calibration", "familiarity"):
        data.pop(key)
    card = ModelCard.from_dict(data)
    assert card.calibration is None and card.familiarity is None and card.input_range is None
    assert ModelCard.from_dict(card.to_dict()) == card
