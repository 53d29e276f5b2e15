"""Every hostile input ends in a verdict or a clear message, never a traceback, in the CLI and in the app page.

The cases are in :mod:`tests.reliability.hostile`. The CLI is run in-process through its entry point (the function
the ``xaiscope`` command calls), plus one real ``xaiscope`` process for the decompression bomb. The page is the
real app script under Streamlit's AppTest: every case is offered as a sample file of the server (the page reads
its bytes and decodes them through the same call as an upload), chosen one after the other in *one* session,
and after each the session must still classify a good file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP_SCRIPT
from tests.reliability.hostile import CASES, Case
from xaiscope.cli import main as cli_main

LEAKS = re.compile(r"Traceback|site-packages|File \"/|/work/|/tmp/|\.py\b", re.IGNORECASE)
KIND = {"audio": "Speech", "xray": "Chest X-ray"}
GOOD = {"audio": "Test speech", "xray": "Test chest"}


def test_the_catalogue_is_large_and_varied():
    assert len(CASES) >= 40
    assert len({case.key for case in CASES}) == len(CASES)
    assert {case.outcome for case in CASES} == {"verdict", "refused"}
    assert {case.modality for case in CASES} == {"audio", "xray"}


@pytest.fixture(scope="module")
def case_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each case written under its own folder with its exact (possibly hostile) name."""
    root = tmp_path_factory.mktemp("hostile")
    paths = {}
    for index, case in enumerate(CASES):
        folder = root / f"{index:02d}"
        folder.mkdir()
        path = folder / case.filename
        path.write_bytes(case.build())
        paths[case.key] = path
    return paths


@pytest.mark.usefixtures("app_environment")
@pytest.mark.parametrize("case", CASES, ids=[case.key for case in CASES])
def test_the_cli_gives_a_verdict_or_a_clear_message(case: Case, case_files: dict[str, Path], capsys):
    model = "tiny_audio" if case.modality == "audio" else "tiny_xray"
    status = cli_main(["predict", str(case_files[case.key]), "--model", model])
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert "Traceback" not in both
    if case.outcome == "verdict":
        assert status == 0, both
        assert "verdict:" in captured.out
        if case.key == "quarter-second":  # classified, with the stated warning beside the verdict
            assert "WARNING:" in captured.out and "shorter than" in captured.out
    else:
        assert status == 2, both
        assert "Error:" in captured.err and "What to do:" in captured.err
        assert re.search(case.expect, captured.err, re.IGNORECASE), captured.err


def test_the_real_command_refuses_a_decompression_bomb(case_files: dict[str, Path]):
    environment = {k: v for k, v in os.environ.items() if k not in ("XAISCOPE_MODELS", "XAISCOPE_SAMPLES")}
    done = subprocess.run([sys.executable, "-m", "xaiscope", "predict", str(case_files["bomb-30000"])],
                          capture_output=True, text=True, env=environment, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "megapixels" in done.stderr


def _page_text(app: AppTest) -> str:
    parts = []
    for kind in ("error", "warning", "info", "caption", "markdown", "subheader", "exception", "text"):
        parts += [str(getattr(element, "value", element)) for element in getattr(app, kind)]
    return "\n".join(parts)


def test_the_page_gives_a_verdict_or_a_clear_message_and_stays_usable(case_files, app_folders, monkeypatch,
                                                                      tmp_path):
    models, good_samples = app_folders
    manifest = [{"file": str(case_files[c.key]), "modality": c.modality, "title": c.key} for c in CASES]
    for entry in json.loads((good_samples / "samples.json").read_text()):
        manifest.append({**entry, "file": str(good_samples / entry["file"])})
    (tmp_path / "samples.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("XAISCOPE_MODELS", str(models))
    monkeypatch.setenv("XAISCOPE_SAMPLES", str(tmp_path))
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=240)
    app.run()
    app.radio(key="source").set_value("Bundled sample").run()
    failures = []
    for case in sorted(CASES, key=lambda c: c.modality):
        if app.radio(key="kind").value != KIND[case.modality]:
            app.radio(key="kind").set_value(KIND[case.modality]).run()
            app.radio(key="source").set_value("Bundled sample").run()
        app.selectbox(key="bundled").set_value(case.key).run()
        text = _page_text(app)
        errors = " ".join(str(e.value) for e in app.error)
        verdict = any("Verdict" in str(h.value) for h in app.subheader)
        if app.exception:
            failures.append(f"{case.key}: exception {app.exception}")
        elif LEAKS.search(text.replace(case.filename, "")):
            failures.append(f"{case.key}: leaks {LEAKS.search(text.replace(case.filename, ''))!r}")
        elif case.outcome == "verdict" and not (verdict and not errors):
            failures.append(f"{case.key}: no verdict ({errors})")
        elif case.outcome == "refused" and (verdict or not re.search(case.expect, _unescape(errors), re.I)):
            failures.append(f"{case.key}: expected a refusal matching {case.expect!r}, got {errors!r}")
        elif case.key == "quarter-second" and not any("shorter than" in str(w.value) for w in app.warning):
            failures.append(f"{case.key}: no warning beside the verdict of a clip shorter than the window")
        elif case.outcome == "refused" and "What to do" not in errors:
            failures.append(f"{case.key}: the message says no remedy: {errors!r}")
        app.selectbox(key="bundled").set_value(GOOD[case.modality]).run()  # the session still works
        if app.exception or not any("Verdict" in str(h.value) for h in app.subheader):
            failures.append(f"{case.key}: the session did not recover")
    assert not failures, "\n".join(failures)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
