"""Every bundled sample, *chosen* in the app's list (not uploaded), shows its verdict and runs the default explanation.

The app runs as a user starts it: no ``XAISCOPE_MODELS`` or ``XAISCOPE_SAMPLES``, an empty current folder, so it
offers the package's own samples and demo models.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP_SCRIPT
from xaiscope.inputs.bundled import SAMPLES_DIR, bundled_samples

KIND = {"audio": "Speech", "xray": "Chest X-ray"}


@pytest.fixture
def plain_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XAISCOPE_MODELS", raising=False)
    monkeypatch.delenv("XAISCOPE_SAMPLES", raising=False)


def shipped() -> list:
    return [sample for sample in bundled_samples() if sample.path.is_relative_to(SAMPLES_DIR)]


def test_every_shipped_sample_has_its_ground_truth_files():
    samples = shipped()
    assert len(samples) >= 8
    for sample in samples:
        sample.truth()  # a mask named in the manifest must be found (it is relative to the manifest's folder)
    masks = [s for s in samples if "mask" in s.ground_truth]
    assert masks and all(s.truth().any() for s in masks)


@pytest.mark.usefixtures("plain_server")
@pytest.mark.parametrize("modality", ["audio", "xray"])
def test_choosing_each_bundled_sample_shows_a_verdict_and_explains(modality: str):
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=240)
    app.run()
    if modality != "audio":
        app.radio(key="kind").set_value(KIND[modality]).run()
    app.radio(key="source").set_value("Bundled sample").run()
    titles = app.selectbox(key="bundled").options
    expected = [s.title for s in shipped() if s.modality == modality]
    assert set(expected) <= set(titles)
    for title in expected:
        app.selectbox(key="bundled").set_value(title).run()
        assert not app.exception, f"{title}: {app.exception}"
        assert not app.error, f"{title}: {[e.value for e in app.error]}"
        assert any("Verdict" in str(h.value) for h in app.subheader), title
        assert app.checkbox(key="use-gradcam").value is True
        app.button(key="explain").click().run()
        assert not app.exception, f"{title}: {app.exception}"
        assert [tab.label for tab in app.tabs] == ["Result", "Compare", "Downloads", "Trust"], title
        assert any("Grad-CAM" in str(i.value) for i in app.info), title
