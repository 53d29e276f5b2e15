"""`xaiscope explain --model A,B`: two models explain one recording, and compare.png puts every map on one plane."""

from __future__ import annotations

import json

import numpy as np

from xaiscope.cli import main
from xaiscope.models.store import BUNDLED_DIR

SAMPLE = BUNDLED_DIR.parent / "bundled_samples" / "audio" / "partially_fake.wav"


def test_two_models_explain_one_recording_on_one_plane(demo_twin_models, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["explain", str(SAMPLE), "--model", "demo_audio_mobilenet_v2,demo_twin", "--method",
                 "tile_occlusion,gradcam", "--param", "tile_occlusion.time_tiles=4", "--param",
                 "tile_occlusion.band_tiles=2", "--out", str(out), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["model"], r["method"]) for r in records] == [
        ("demo_audio_mobilenet_v2", "tile_occlusion"), ("demo_audio_mobilenet_v2", "gradcam"),
        ("demo_twin", "tile_occlusion"), ("demo_twin", "gradcam")]
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert all(r["comparison"] == str(out / "compare.png") for r in records)
    for name in ("demo_audio_mobilenet_v2", "demo_twin"):
        assert (out / name / "gradcam" / "plane.npy").is_file()
    first, second = (np.load(out / name / "tile_occlusion" / "plane.npy") for name in ("demo_audio_mobilenet_v2",
                                                                                       "demo_twin"))
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-7)  # the same weights: the same map
    assert records[0]["plane"]["n_bands"] == 64 and records[0]["space"] == "plane"
    assert records[1]["plane"]["origin"] == "mel picture" and records[1]["space"] == "input"


def test_the_same_model_named_twice_is_refused_before_anything_runs(demo_twin_models, tmp_path, capsys):
    assert main(["explain", str(SAMPLE), "--model", "demo_audio_mobilenet_v2,demo_audio_mobilenet_v2", "--method",
                 "gradcam", "--out", str(tmp_path / "x")]) == 2
    assert "named twice" in capsys.readouterr().err
