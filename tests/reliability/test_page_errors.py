"""No page shows a traceback or a server path; user-controlled text is shown literally, never as Markdown."""

from __future__ import annotations

import logging
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP_SCRIPT
from tests.conftest import audio_bytes, tone
from xaiscope.app.text import plain


def page_text(app: AppTest) -> str:
    parts = []
    for kind in ("error", "warning", "info", "caption", "markdown", "subheader", "exception"):
        parts += [str(getattr(element, "value", element)) for element in getattr(app, kind)]
    return "\n".join(parts)


@pytest.mark.usefixtures("app_environment")
def test_an_unexpected_error_shows_a_reference_and_is_logged_with_its_traceback(monkeypatch, caplog):
    from xaiscope.app import panels

    def broken(sample):
        raise RuntimeError("boom in /srv/secret/xaiscope/panels.py line 12")

    monkeypatch.setattr(panels, "show_input", broken)
    logger = logging.getLogger("xaiscope.app")
    logger.addHandler(caplog.handler)
    try:
        app = AppTest.from_file(str(APP_SCRIPT), default_timeout=120)
        app.run()
        app.radio(key="source").set_value("Bundled sample").run()
    finally:
        logger.removeHandler(caplog.handler)
    assert not app.exception
    shown = page_text(app)
    found = re.search(r"reference \*\*([0-9a-f]{8})\*\*", shown)
    assert found, shown
    assert "/srv/secret" not in shown and "Traceback" not in shown and "RuntimeError" not in shown
    logged = [record for record in caplog.records if found.group(1) in record.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the server's log, under the reference
    assert "xaiscope-ref " + found.group(1) in logged[0].getMessage()
    monkeypatch.undo()
    app.run()  # the same session works again
    assert not app.exception and "Verdict" in page_text(app)


@pytest.mark.usefixtures("app_environment")
def test_a_file_name_with_markdown_is_shown_literally(monkeypatch):
    """Uploads are simulated through the page's own decoding call, with a hostile name."""
    from xaiscope.app import logic

    name = "**x** [click](http://evil.example) <b>y</b> :red[z].wav"
    original = logic.cached_sample
    monkeypatch.setattr(logic, "cached_sample",
                        lambda data, _name, modality: original(data, name, modality))
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=120)
    app.run()
    app.radio(key="source").set_value("Bundled sample").run()
    shown = page_text(app)
    assert plain(name) in shown
    assert "[click](http" not in shown and "<b>" not in shown and ":red[z]" not in shown
    # a refusal quoting the name is escaped too
    monkeypatch.setattr(logic, "cached_sample",
                        lambda data, _name, modality: original(audio_bytes(tone(0.05), 16000), name, modality))
    app.run()
    assert "0.25 s" in page_text(app) and "[click](http" not in page_text(app)


def test_plain_escapes_every_live_construct():
    for hostile in ("[a](http://b)", "<script>x</script>", "**bold**", ":red[x]", "$x^2$", "`code`", "# head",
                    "www.example.com", "a@b.c", "![i](http://x/i.png)", "| a | b |"):
        escaped = plain(hostile)
        assert re.sub(r"\\(.)", r"\1", escaped) == hostile  # unescaping gives the text back
        assert not re.search(r"(?<!\\)[\[\]<>*`$#|@]", escaped), escaped
