"""Three browser sessions at once against one real `xaiscope app` server (Debian's Chromium, Playwright).

Session A chooses the bundled real speech sample (in the app's list) and explains it with Grad-CAM and SHAP;
session B uploads the bundled opacity radiograph and explains it with Grad-CAM; session C uploads a 45-second
recording and has it classified window by window. The three are started one right after the other, so the server
works on them at the same time (they share the demo models). Each page must end showing its own results, no page
may go blank or log a browser error, and the maps (the downloaded ``attribution.npy``) and model-call counts must
equal a lone run's, computed here in-process with the same public API.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_browser import SAMPLES, browser, server  # noqa: F401 - fixtures: the real server, Chromium
from tests.conftest import audio_bytes, tone

SHAP_EVALS = 120


def long_recording(path: Path, seconds: float = 45.0) -> Path:
    rng = np.random.default_rng(7)
    signal = tone(seconds, 16000, 220, seed=1) + tone(seconds, 16000, 1300, seed=2) * (rng.random() > 0.5)
    path.write_bytes(audio_bytes(signal.astype(np.float32), 16000))
    return path


def lone_runs(recording: Path, radiograph: Path, long_file: Path) -> dict[str, object]:
    """What each request gives when nothing else runs (same API, same defaults as the page)."""
    from xaiscope.explainers import explain
    from xaiscope.inputs import load_input
    from xaiscope.models import load_model

    audio_model, xray_model = load_model("demo_audio_mobilenet_v2"), load_model("demo_xray_mobilenet_v2")
    for model in (audio_model, xray_model):
        model.set_precision("auto")  # the page's default precision (the conftest puts fp32 back afterwards)
    speech, chest = load_input(recording), load_input(radiograph)
    return {"a-gradcam": explain(audio_model, speech, "gradcam"),
            "a-shap": explain(audio_model, speech, "shap", max_evals=SHAP_EVALS),
            "b-gradcam": explain(xray_model, chest, "gradcam"),
            "c-predict": audio_model.predict(load_input(long_file))}


def watch(page, problems: list[str], name: str) -> None:
    page.on("pageerror", lambda error: problems.append(f"{name}: page error {error}"))
    page.on("console", lambda message: problems.append(f"{name}: console {message.text}")
            if message.type == "error" and "Bad delta" in message.text else None)


def download_map(page, index: int, folder: Path, name: str) -> np.ndarray:
    """The ``index``-th ``attribution.npy`` of the Downloads tab, loaded."""
    page.get_by_role("tab", name="Downloads").click()
    buttons = page.get_by_role("button", name="attribution.npy")
    buttons.nth(index).wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        buttons.nth(index).click()
    target = folder / f"{name}.npy"
    download.value.save_as(target)
    return np.load(io.BytesIO(target.read_bytes()))


def compare_calls(page) -> list[int]:
    page.get_by_role("tab", name="Compare").click()
    panel = page.get_by_role("tabpanel").filter(has_text="model calls")
    text = panel.first.inner_text(timeout=30_000)
    return [int(n) for n in re.findall(r"·\s*(\d+) model calls", text)]


def test_three_sessions_at_once_each_see_their_own_results(server, browser, tmp_path: Path):  # noqa: F811
    recording = SAMPLES / "audio" / "real_speech.wav"
    radiograph = SAMPLES / "xray" / "synthetic_opacity.png"
    long_file = long_recording(tmp_path / "long_meeting.wav")
    problems: list[str] = []
    pages = {}
    for name in ("A", "B", "C"):
        page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
        watch(page, problems, name)
        page.goto(server)
        page.get_by_text("Kind of input").wait_for(timeout=90_000)
        pages[name] = page
    a, b, c = pages["A"], pages["B"], pages["C"]

    # A: choose the bundled recording, tick SHAP with fewer evaluations, explain.
    a.get_by_text("Bundled sample", exact=True).click()
    a.get_by_text("Verdict", exact=False).first.wait_for(timeout=120_000)
    a.get_by_text("A held-out real recording").wait_for(timeout=60_000)  # the first sample: "Real speech"
    a.get_by_label("SHAP (Partition)", exact=True).check(force=True)
    a.get_by_text("Advanced: SHAP (Partition)").click()
    evals = a.get_by_role("spinbutton", name="SHAP (Partition) · max_evals")
    evals.fill(str(SHAP_EVALS))
    evals.press("Enter")
    a.get_by_text(f"Cost: {SHAP_EVALS + 1} model calls").wait_for(timeout=60_000)
    # B: upload the radiograph; C: upload the long recording; then A and B press Explain while C classifies.
    b.get_by_text("Chest X-ray", exact=True).click()
    b.get_by_text("Upload a radiograph").wait_for(timeout=30_000)
    a.get_by_role("button", name="Explain", exact=True).click()
    b.locator("input[type='file']").set_input_files(str(radiograph))
    c.locator("input[type='file']").set_input_files(str(long_file))
    b.get_by_text("Verdict", exact=False).first.wait_for(timeout=180_000)
    b.get_by_role("button", name="Explain", exact=True).click()

    for page in (a, b):
        page.get_by_role("tab", name="Compare").wait_for(timeout=300_000)
    c.get_by_text("Verdict", exact=False).first.wait_for(timeout=300_000)
    c.get_by_text(re.compile(r"\d+ windows; combined by")).wait_for(timeout=60_000)

    lone = lone_runs(recording, radiograph, long_file)
    assert compare_calls(a) == [lone["a-gradcam"].model_calls, lone["a-shap"].model_calls]
    assert compare_calls(b) == [lone["b-gradcam"].model_calls]
    for page, index, key in ((a, 0, "a-gradcam"), (a, 1, "a-shap"), (b, 0, "b-gradcam")):
        shown = download_map(page, index, tmp_path, key)
        expected = lone[key].attribution
        np.testing.assert_allclose(shown, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()),
                                   err_msg=key)
        assert np.ptp(shown) > 0, f"{key}: empty map"
    windows = int(re.search(r"(\d+) windows", c.get_by_text(re.compile(r"\d+ windows; combined by")).inner_text())
                  .group(1))
    alone = lone["c-predict"]
    assert windows == len(alone.windows) >= 40
    assert c.get_by_text(f"P = {alone.confidence:.3f}", exact=False).first.is_visible()
    for name, page in pages.items():  # no page went blank: the first widget and the verdict are still there
        assert page.get_by_text("Kind of input").is_visible(), name
        assert page.get_by_text("Verdict", exact=False).first.is_visible(), name
        page.screenshot(path=str(tmp_path / f"session_{name}.png"), full_page=True)
    assert not problems, problems
    for page in pages.values():
        page.close()


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
