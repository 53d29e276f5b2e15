"""The builder end to end on a small subset (installs what it needs). Slow and needs apt-get and PyPI, so it runs
only with XAISCOPE_DEMO_BUILD_TEST=1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.environ.get("XAISCOPE_DEMO_BUILD_TEST") != "1",
                                reason="set XAISCOPE_DEMO_BUILD_TEST=1 to run the demo builder on a subset")


def test_subset_build_exports_models_and_samples(tmp_path: Path) -> None:
    from tools.demo.__main__ import main

    assert main(["build", "--subset", "--install", "--out", str(tmp_path / "demo")]) == 0
    export = tmp_path / "demo" / "export"
    for name in ("demo_audio_mobilenet_v2", "demo_xray_mobilenet_v2", "demo_audio_rawnet2"):
        assert (export / "bundled_models" / f"{name}.safetensors").is_file()
        card = json.loads((export / "bundled_models" / f"{name}.json").read_text())
        assert "tiny offline corpus" in card["intended_use"]
        assert card["provenance"]["held_out_metrics"]["per_source"]
    entries = json.loads((export / "bundled_samples" / "samples.json").read_text())
    assert any("fake_interval" in entry["ground_truth"] for entry in entries)
    assert any("mask" in entry["ground_truth"] for entry in entries)
    for entry in entries:
        assert (export / "bundled_samples" / entry["file"]).is_file()
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert set(report["metrics"]) == {"audio", "xray"}
    assert json.loads((tmp_path / "demo" / "report_rawnet2.json").read_text())["metrics"]["audio_rawnet2"]


def test_subset_build_of_rawnet2_alone_touches_nothing_else(tmp_path: Path) -> None:
    from tools.demo.__main__ import main

    assert main(["build", "--subset", "--install", "--only", "rawnet2", "--out", str(tmp_path / "demo")]) == 0
    export = tmp_path / "demo" / "export"
    assert sorted(path.name for path in (export / "bundled_models").iterdir()) == [
        "demo_audio_rawnet2.familiarity.npz", "demo_audio_rawnet2.json", "demo_audio_rawnet2.safetensors"]
    assert not (export / "bundled_samples").exists() and not (tmp_path / "demo" / "xray").exists()
    card = json.loads((export / "bundled_models" / "demo_audio_rawnet2.json").read_text())
    assert card["input_kind"] == "waveform" and card["source_options"]["network"]["gru_node"] == 256
