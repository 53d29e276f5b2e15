"""The warnings of a verdict are visible in the page: above the verdict and above every explanation view."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP_SCRIPT


def warnings_text(app: AppTest) -> list[str]:
    return [str(element.value) for element in app.warning]


@pytest.mark.usefixtures("app_environment")
def test_non_speech_recording_gets_a_banner_above_the_verdict_and_every_explanation_tab():
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=240)
    app.run()
    app.radio(key="source").set_value("Bundled sample").run()
    app.selectbox(key="bundled").set_value("Test speech").run()  # two steady tones, no speech
    assert not app.exception
    banners = [text for text in warnings_text(app) if "Read before trusting this verdict" in text]
    assert len(banners) == 1 and "sounds like speech" in banners[0]
    assert "Verdict" in " ".join(str(s.value) for s in app.subheader)  # the verdict is still given
    captions = " ".join(str(c.value) for c in app.caption)
    assert "familiarity: not assessed" in captions and "not calibrated" in captions
    app.button(key="explain").click().run()
    assert not app.exception
    per_tab = [text for text in warnings_text(app) if "comes with warnings" in text]
    assert len(per_tab) == 4  # Result, Compare, Downloads, Trust
    assert all("sounds like speech" in text for text in per_tab)


@pytest.mark.usefixtures("app_environment")
def test_a_clean_radiograph_has_no_banner():
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=240)
    app.run()
    app.radio(key="kind").set_value("Chest X-ray").run()
    app.radio(key="source").set_value("Bundled sample").run()
    app.selectbox(key="bundled").set_value("Test chest").run()
    assert not app.exception
    assert not [text for text in warnings_text(app) if "Read before trusting" in text]
    assert "Verdict" in " ".join(str(s.value) for s in app.subheader)
