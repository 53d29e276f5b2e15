"""End to end: the real Streamlit server driven by Playwright in Debian's Chromium.

The server runs as a user would start it: no configuration, so it serves the bundled demo models. The test uploads
the bundled partially fake recording, runs Grad-CAM and LIME, opens Compare and checks both images and the audio
player; uploads a corrupt file and sees the error; then the same for the bundled synthetic opacity X-ray.
Screenshots are saved in the test's temporary folder (and the Compare views are copied to docs/ when
XAISCOPE_SCREENSHOTS=1).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import chest_image, png_bytes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
DOCS = Path(__file__).resolve().parents[2] / "docs"
SAMPLES = Path(__file__).resolve().parents[2] / "src" / "xaiscope" / "bundled_samples"


def ensure_chromium() -> None:
    """Install Debian's chromium when it is missing (the tests run as root on a Debian machine)."""
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.fail("Debian's chromium is missing: run `apt-get install -y chromium` (as root), then the tests.")
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A real `xaiscope app` server on a free local port, started from an empty folder (bundled models only)."""
    ensure_chromium()
    port = free_port()
    folder = tmp_path_factory.mktemp("server")
    log = folder / "server.log"
    environment = {k: v for k, v in os.environ.items() if k not in ("XAISCOPE_MODELS", "XAISCOPE_SAMPLES")}
    with log.open("w") as handle:
        process = subprocess.Popen([sys.executable, "-m", "xaiscope", "app", "--port", str(port)], env=environment,
                                   stdout=handle, stderr=subprocess.STDOUT, cwd=folder)
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail(f"the app did not start: {log.read_text()[-2000:]}")
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield instance
        instance.close()


def explain_grad_cam_and_lime(page) -> None:
    page.get_by_text("Verdict", exact=False).first.wait_for(timeout=90_000)
    page.get_by_label("LIME", exact=True).check(force=True)
    page.get_by_text("Advanced: LIME").click()
    samples = page.get_by_role("spinbutton", name="LIME · samples")
    samples.fill("40")
    samples.press("Enter")
    page.get_by_text("Cost: 41 model calls").wait_for(timeout=60_000)
    page.get_by_role("button", name="Explain", exact=True).click()
    page.get_by_role("tab", name="Compare").wait_for(timeout=180_000)
    page.get_by_role("tab", name="Compare").click()


def visible_images(page) -> int:
    return page.locator("[data-testid='stTabContent']:visible img, [role='tabpanel']:visible img").count()


def test_audio_then_xray_in_the_browser(server, browser, tmp_path: Path):
    recording = SAMPLES / "audio" / "partially_fake.wav"
    corrupt_recording = tmp_path / "corrupt.wav"
    corrupt_recording.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt this is not audio at all")
    radiograph = SAMPLES / "xray" / "synthetic_opacity.png"
    corrupt_radiograph = tmp_path / "corrupt.png"
    corrupt_radiograph.write_bytes(png_bytes((chest_image() * 255).astype(np.uint8))[:300])

    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server)
    page.get_by_text("Kind of input").wait_for(timeout=60_000)

    # --- speech ---
    page.locator("input[type='file']").set_input_files(str(recording))
    explain_grad_cam_and_lime(page)
    page.get_by_text("Agreement").wait_for(timeout=30_000)
    compare = page.get_by_role("tabpanel").filter(has_text="Agreement")
    assert compare.get_by_text(re.compile(r"^Grad-CAM: .* model calls")).count() >= 1  # one plane figure, then costs
    assert compare.get_by_text(re.compile(r"LIME: .* model calls")).count() >= 1
    assert compare.locator("img").count() >= 1
    assert page.locator("audio").count() >= 1  # the input's player (and listen.wav in Result)
    page.screenshot(path=str(tmp_path / "audio_compare.png"), full_page=True)
    compare.screenshot(path=str(tmp_path / "audio_compare_view.png"))

    page.locator("input[type='file']").set_input_files(str(corrupt_recording))
    page.get_by_text("cannot be decoded").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "audio_error.png"), full_page=True)
    assert page.get_by_text("Kind of input").is_visible()  # the app keeps working

    # --- chest X-ray ---
    page.get_by_text("Chest X-ray", exact=True).click()
    page.get_by_text("Upload a radiograph").wait_for(timeout=30_000)
    page.locator("input[type='file']").set_input_files(str(radiograph))
    explain_grad_cam_and_lime(page)
    page.get_by_text("Agreement").wait_for(timeout=30_000)
    compare = page.get_by_role("tabpanel").filter(has_text="Agreement")
    assert compare.locator("img").count() >= 2
    page.screenshot(path=str(tmp_path / "xray_compare.png"), full_page=True)
    compare.screenshot(path=str(tmp_path / "xray_compare_view.png"))
    if os.environ.get("XAISCOPE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copy(tmp_path / "audio_compare_view.png", DOCS / "compare-audio.png")
        shutil.copy(tmp_path / "xray_compare_view.png", DOCS / "compare-xray.png")

    page.locator("input[type='file']").set_input_files(str(corrupt_radiograph))
    page.get_by_text("cannot be decoded").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "xray_error.png"), full_page=True)
    page.close()


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``, as a user does: open the list, click."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_two_audio_models_side_by_side_on_one_plane(server, browser, tmp_path: Path):
    """The bundled partially fake clip, chosen in the list; the mel-CNN and the waveform demo model explained with
    tile occlusion (any audio model) and Integrated Gradients, side by side in Compare on one plane. The screenshot
    of that view is the README's (docs/compare-models-audio.png with XAISCOPE_SCREENSHOTS=1)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server)
    page.get_by_text("Kind of input").wait_for(timeout=60_000)
    page.get_by_text("Bundled sample", exact=True).click()
    choose(page, "Sample", "Partially fake speech")
    page.get_by_text("Verdict", exact=False).first.wait_for(timeout=120_000)
    page.get_by_label("Grad-CAM", exact=True).uncheck(force=True)
    page.get_by_label("Occlusion (time-frequency tiles)", exact=True).check(force=True)
    page.get_by_label("Integrated Gradients", exact=True).check(force=True)
    choose(page, "Compare across models", "demo_audio_rawnet2")
    page.get_by_text(re.compile(r"demo_audio_rawnet2: (real|fake) \(P = ")).wait_for(timeout=180_000)
    page.get_by_role("button", name="Explain", exact=True).click(timeout=60_000)
    page.get_by_role("tab", name="Compare").wait_for(timeout=300_000)
    page.get_by_role("tab", name="Compare").click()
    page.get_by_text("Across models", exact=False).first.wait_for(timeout=60_000)
    compare = page.get_by_role("tabpanel").filter(has_text="Across models")
    compare.locator("img").nth(1).wait_for(timeout=60_000)  # this model's methods on the plane, then both models'
    page.get_by_text("Agreement", exact=False).last.wait_for(timeout=60_000)
    across = compare.locator("img").last
    across.scroll_into_view_if_needed()
    assert across.evaluate("image => image.naturalWidth") >= 1000  # drawn at its own size, with axes
    page.get_by_role("tab", name="Result").click()
    page.get_by_text("on the time-frequency plane", exact=False).first.wait_for(timeout=60_000)
    assert page.locator("audio").count() >= 2  # the input and listen.wav
    page.get_by_role("tab", name="Compare").click()
    compare.screenshot(path=str(tmp_path / "audio_models_compare_view.png"))
    if os.environ.get("XAISCOPE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copy(tmp_path / "audio_models_compare_view.png", DOCS / "compare-models-audio.png")
    page.close()


def test_white_noise_shows_the_warning_banner_in_the_browser(server, browser, tmp_path: Path):
    """Issue 12: a recording with no speech in it keeps its verdict, under a visible warning."""
    import soundfile

    noise = tmp_path / "white_noise.wav"
    soundfile.write(noise, np.random.default_rng(0).normal(0, 0.1, 48000).astype(np.float32), 16000)
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server)
    page.get_by_text("Kind of input").wait_for(timeout=60_000)
    page.locator("input[type='file']").set_input_files(str(noise))
    page.get_by_text("Verdict", exact=False).first.wait_for(timeout=90_000)
    banner = page.get_by_text("Read before trusting this verdict", exact=False)
    banner.wait_for(timeout=30_000)
    assert banner.is_visible()
    assert page.get_by_text("sounds like speech", exact=False).first.is_visible()
    page.screenshot(path=str(tmp_path / "noise_warning.png"), full_page=True)
