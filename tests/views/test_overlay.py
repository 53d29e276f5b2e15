"""Overlays at the input's own resolution, the shared scale, LIME/SHAP displays, summaries and exported files."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from tests.conftest import chest_image, png_bytes
from xaiscope.explainers import explain
from xaiscope.inputs import load_input
from xaiscope.views import concentration, normalise, overlay, shap_view, summarise
from xaiscope.views.export import explanation_files


def test_normalise_is_a_shared_signed_scale():
    attribution = np.linspace(-2, 4, 100).reshape(10, 10)
    scaled = normalise(attribution, percentile=100)
    assert scaled.max() == 1.0 and scaled.min() == -0.5
    assert not normalise(np.zeros((4, 4))).any()


def test_overlay_keeps_original_resolution_and_aspect():
    base = (chest_image(600, 400) * 255).astype(np.uint8)
    attribution = np.zeros((224, 224))
    attribution[:, :112] = 1.0  # left half of the stretched model input = left half of the original
    shown = overlay(base, attribution, opacity=0.8)
    assert shown.shape == (600, 400, 3)
    left, right = shown[:, :190].astype(int), shown[:, 210:].astype(int)
    assert (left[..., 0] - left[..., 2]).mean() > 50  # tinted red where the attribution is
    np.testing.assert_array_equal(right[..., 0], base[:, 210:])  # untouched where it is zero


def test_opacity_zero_shows_only_the_image():
    base = (chest_image() * 255).astype(np.uint8)
    np.testing.assert_array_equal(overlay(base, np.ones((224, 224)), opacity=0.0)[..., 1], base)


def test_shap_view_red_for_and_green_against():
    picture = np.full((224, 224, 3), 128, np.uint8)
    attribution = np.zeros((224, 224))
    attribution[:, :100] = 1.0
    attribution[:, 124:] = -1.0
    shown = shap_view(picture, attribution).astype(int)
    assert shown[112, 20, 0] > shown[112, 20, 1]  # red on the left
    assert shown[112, 200, 1] > shown[112, 200, 0]  # green on the right


def test_concentration():
    spread = np.ones((10, 10))
    peaked = np.zeros((10, 10))
    peaked[0, :5] = 1
    assert concentration(spread) == 0.1 and concentration(peaked) == 1.0


def test_summary_and_files_for_an_xray(xray_region_model, xray_sample):
    explanation = explain(xray_region_model, xray_sample, "gradcam", target=1)
    text = summarise(explanation)
    assert "Grad-CAM explains 'opacity'" in text and "concentrated" in text and "middle right" in text
    files = explanation_files(explanation, xray_sample, xray_region_model.card.preprocessing)
    assert set(files) == {"overlay.png", "attribution.npy", "record.json"}
    overlay_image = Image.open(io.BytesIO(files["overlay.png"]))
    assert overlay_image.size == xray_sample.size  # full resolution, original aspect ratio
    assert np.array_equal(np.load(io.BytesIO(files["attribution.npy"])), explanation.attribution)
    record = json.loads(files["record.json"])
    assert record["method"] == "gradcam" and record["model_calls"] == 1 and record["target_class"] == "opacity"


def test_files_for_audio_lime(audio_region_model, speech_sample):
    explanation = explain(audio_region_model, speech_sample, "lime", target=1, samples=60, segmentation="grid",
                          segments=64)
    files = explanation_files(explanation, speech_sample, audio_region_model.card.preprocessing)
    assert {"timefreq.png", "listen.wav", "lime.png"} <= set(files)
    assert load_input(files["listen.wav"], name="listen.wav").sample_rate == 16000
    record = json.loads(files["record.json"])
    assert "top_time_ranges_s" in record and record["summary"]


def test_png_roundtrip_of_overlay_is_rgb():
    data = png_bytes((chest_image() * 255).astype(np.uint8))
    assert Image.open(io.BytesIO(data)).mode == "L"
