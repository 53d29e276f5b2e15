"""The xaiscope command line, run as a real process where exit codes and tracebacks matter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import (
    SECRET_PATIENT_ID,
    SECRET_PATIENT_NAME,
    audio_bytes,
    chest_image,
    dicom_bytes,
    png_bytes,
    tone,
)
from xaiscope.cli import main


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "XAISCOPE_MODELS"}
    return subprocess.run([sys.executable, "-m", "xaiscope", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment, timeout=300)


@pytest.fixture
def with_seed_weights(workdir: Path, seed_mobilenet_state) -> Path:
    import torchvision

    (workdir / "weights").mkdir()
    torch.save(seed_mobilenet_state, workdir / "weights" / "audio_mobilenetv2.pt")
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(num_classes=1).state_dict(), workdir / "weights" / "xray_alexnet.pt")
    return workdir


def test_models_json_lists_seed_models(workdir: Path, capsys):
    assert main(["models", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    by_name = {model["name"]: model for model in listing["models"]}
    assert by_name["audio_vgg16"]["classes"] == ["fake", "real"]
    assert by_name["audio_vgg16"]["present"] is False
    assert by_name["xray_densenet121"]["architecture"] == "densenet121"
    assert str(workdir / "weights") in by_name["audio_vgg16"]["searched"]


def test_models_table(with_seed_weights: Path, capsys):
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "audio_mobilenetv2" in text and "missing" in text and "fake, real" in text


def test_predict_json_with_timeline_and_xray(with_seed_weights: Path, capsys):
    (with_seed_weights / "long.flac").write_bytes(audio_bytes(tone(7.0, 22050), 22050, "FLAC"))
    (with_seed_weights / "chest.png").write_bytes(png_bytes((chest_image() * 255).astype(np.uint8)))
    assert main(["predict", "long.flac", "chest.png", "--json"]) == 0
    audio_result, xray_result = json.loads(capsys.readouterr().out)
    assert audio_result["model"] == "audio_mobilenetv2" and len(audio_result["windows"]) == 4
    assert set(audio_result["windows"][0]["probabilities"]) == {"fake", "real"}
    assert audio_result["label"] in ("fake", "real") and "windows" in audio_result["combined_by"]
    assert xray_result["model"] == "xray_alexnet" and xray_result["windows"] == []
    assert set(xray_result["probabilities"]) == {"no_opacity", "opacity"}


def test_predict_text_prints_verdict_and_timeline(with_seed_weights: Path):
    (with_seed_weights / "speech.wav").write_bytes(audio_bytes(tone(5.0), 16000))
    result = run_cli("predict", "speech.wav", cwd=with_seed_weights)
    assert result.returncode == 0, result.stderr
    assert "verdict:" in result.stdout and "P(fake)=" in result.stdout and "per-window timeline" in result.stdout
    assert "not validated for forensic or clinical decisions" in result.stdout


def test_bad_files_exit_2_without_traceback_and_others_still_run(with_seed_weights: Path):
    (with_seed_weights / "good.wav").write_bytes(audio_bytes(tone(1.0), 16000))
    (with_seed_weights / "empty.wav").write_bytes(b"")
    (with_seed_weights / "notes.txt").write_text("hello")
    result = run_cli("predict", "empty.wav", "notes.txt", "good.wav", "missing.wav", cwd=with_seed_weights)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "empty.wav: 'empty.wav' is empty" in result.stderr
    assert "not in a supported format" in result.stderr and "does not exist" in result.stderr
    assert "What to do:" in result.stderr
    assert "good.wav" in result.stdout and "verdict:" in result.stdout


def test_missing_weights_exit_2(workdir: Path):
    result = run_cli("predict", "x.wav", "--model", "audio_vgg16", cwd=workdir)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "were not found" in result.stderr and str(workdir / "weights") in result.stderr


def test_dicom_identifiers_never_reach_the_output(with_seed_weights: Path):
    (with_seed_weights / "chest.dcm").write_bytes(dicom_bytes((chest_image() * 4095).astype(np.uint16)))
    for extra in ([], ["--json"]):
        result = run_cli("predict", "chest.dcm", *extra, cwd=with_seed_weights)
        assert result.returncode == 0, result.stderr
        everything = result.stdout + result.stderr
        assert SECRET_PATIENT_NAME not in everything and SECRET_PATIENT_ID not in everything
        assert "Doe" not in everything


def test_import_command(workdir: Path, seed_mobilenet_state, capsys):
    torch.save(seed_mobilenet_state, workdir / "detector.pt")
    assert main(["import", "detector.pt", "--arch", "mobilenetv2", "--modality", "audio", "--classes",
                 "fake,real", "--renderer", "seed-notebook"]) == 0
    card = json.loads((workdir / "weights" / "detector.json").read_text())
    assert card["classes"] == ["fake", "real"] and card["preprocessing"]["renderer"] == "seed-notebook"
    assert (workdir / "weights" / "detector.safetensors").exists()
    assert main(["models", "--json"]) == 0
    names = [model["name"] for model in json.loads(capsys.readouterr().out.split("\n", 1)[1])["models"]]
    assert "detector" in names


def test_import_with_one_class_is_refused(workdir: Path, capsys):
    assert main(["import", "x.pt", "--arch", "vgg16", "--modality", "audio", "--classes", "fake"]) == 2
    assert "at least two class names" in capsys.readouterr().err


def test_app_command_serves_the_page_headless_with_the_upload_limit(workdir: Path, capsys):
    from xaiscope.cli.app import streamlit_command

    command = streamlit_command(8600)
    assert command[command.index("--server.port") + 1] == "8600"
    assert command[command.index("--server.maxUploadSize") + 1] == "200"
    assert command[command.index("--server.headless") + 1] == "true"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert Path(command[command.index("run") + 1]).name == "main.py"
    # a missing models folder is refused before anything starts (the real server is tested in tests/app)
    assert main(["app", "--models", "no-such-folder"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_methods_listing(workdir: Path, capsys):
    assert main(["methods", "--modality", "audio", "--json"]) == 0
    listing = {item["name"]: item for item in json.loads(capsys.readouterr().out)}
    assert {"gradcam", "lime", "shap", "scorecam", "integrated_gradients", "occlusion"} <= set(listing)
    assert listing["lime"]["presets"]["earlier-tool"]["samples"] == 1000
    assert main(["methods"]) == 0
    assert "pytorch-grad-cam" in capsys.readouterr().out


def test_explain_writes_every_file(with_seed_weights: Path):
    (with_seed_weights / "speech.wav").write_bytes(audio_bytes(tone(2.0), 16000))
    result = run_cli("explain", "speech.wav", "--method", "gradcam,lime", "--param", "lime.samples=40",
                     "--param", "lime.segmentation=grid", "--seed", "3", "--out", "explained", "--json",
                     cwd=with_seed_weights)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert [record["method"] for record in records] == ["gradcam", "lime"]
    assert records[1]["params"]["samples"] == 40 and records[1]["model_calls"] == 40 and records[1]["seed"] == 3
    for method, extra in (("gradcam", set()), ("lime", {"lime.png"})):
        names = {path.name for path in (with_seed_weights / "explained" / method).iterdir()}
        assert {"overlay.png", "attribution.npy", "record.json", "timefreq.png", "listen.wav"} | extra <= names
    assert np.load(with_seed_weights / "explained" / "gradcam" / "attribution.npy").shape == (224, 224)


def test_explain_bad_parameter_exit_2(with_seed_weights: Path):
    (with_seed_weights / "speech.wav").write_bytes(audio_bytes(tone(1.0), 16000))
    result = run_cli("explain", "speech.wav", "--method", "lime", "--param", "lime.samples=abc", "--out", "x",
                     cwd=with_seed_weights)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "lime.samples must be a whole number" in result.stderr
