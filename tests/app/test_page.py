"""Page logic with Streamlit's AppTest: inputs, method filtering, presets, errors, cache."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP_SCRIPT


def start(kind: str = "Speech", sample: str | None = "Test speech") -> AppTest:
    app = AppTest.from_file(str(APP_SCRIPT), default_timeout=240)
    app.run()
    if kind != "Speech":
        app.radio(key="kind").set_value(kind).run()
    if sample is not None:
        app.radio(key="source").set_value("Bundled sample").run()
        app.selectbox(key="bundled").set_value(sample).run()
    return app


def texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


@pytest.mark.usefixtures("app_environment")
def test_audio_sample_gives_verdict_timeline_and_default_gradcam():
    app = start()
    assert not app.exception
    assert "Verdict" in texts(app.subheader)
    assert {metric.label for metric in app.metric} == {"P(fake)", "P(real)"}
    assert "4 windows" in texts(app.caption)
    assert app.checkbox(key="use-gradcam").value is True
    app.button(key="explain").click().run()
    assert not app.exception
    assert [tab.label for tab in app.tabs] == ["Result", "Compare", "Downloads", "Trust"]
    assert "Grad-CAM explains" in texts(app.info)


@pytest.mark.usefixtures("app_environment")
def test_methods_that_do_not_suit_the_model_are_listed_with_the_reason():
    app = start("Chest X-ray", "Test chest")
    app.selectbox(key="model-xray").set_value("tiny_xray_nocam").run()
    captions = texts(app.caption)
    assert "Grad-CAM" in captions and "no convolutional target layer" in captions
    assert not any(box.key == "use-gradcam" for box in app.checkbox)
    assert app.checkbox(key="use-lime").value is False


@pytest.mark.usefixtures("app_environment")
def test_presets_fill_the_advanced_parameters():
    app = start()
    app.checkbox(key="use-lime").check().run()
    assert app.number_input(key="lime-samples-defaults").value == 1000
    assert app.selectbox(key="lime-segmentation-defaults").value == "quickshift"
    app.selectbox(key="lime-preset").set_value("earlier-tool").run()
    assert app.number_input(key="lime-batch_size-earlier-tool").value == 10
    assert "model calls" in texts(app.caption)


@pytest.mark.usefixtures("app_environment")
def test_bad_input_shows_a_message_and_the_app_keeps_working():
    app = start(sample="Broken recording")
    assert not app.exception
    assert "cannot be decoded" in texts(app.error)
    app.selectbox(key="bundled").set_value("Test speech").run()
    assert not app.error and "Verdict" in texts(app.subheader)


@pytest.mark.usefixtures("app_environment")
def test_second_request_comes_from_the_cache():
    from xaiscope.app.logic import EXPLANATIONS as cache

    app = start()
    app.checkbox(key="use-lime").check().run()
    app.number_input(key="lime-samples-defaults").set_value(20).run()
    app.button(key="explain").click().run()
    hits = cache.hits
    again = start()
    again.checkbox(key="use-lime").check().run()
    again.number_input(key="lime-samples-defaults").set_value(20).run()
    assert "LIME explains" in texts(again.info) or len(again.tabs) == 4  # shown without pressing Explain
    assert cache.hits > hits
    assert not again.exception


@pytest.mark.usefixtures("app_environment")
def test_xray_compare_and_downloads():
    app = start("Chest X-ray", "Test chest")
    app.checkbox(key="use-occlusion").check().run()
    app.number_input(key="occlusion-patch-defaults").set_value(56).run()
    app.number_input(key="occlusion-stride-defaults").set_value(56).run()
    app.button(key="explain").click().run()
    assert not app.exception
    assert "Agreement" in texts(app.markdown)
    labels = {button.label for button in app.get("download_button")}
    assert {"overlay.png", "attribution.npy", "record.json", "HTML report (everything above)"} <= labels


@pytest.mark.usefixtures("app_environment")
def test_trust_scores_with_meaning_and_direction(tmp_path):
    app = start("Chest X-ray", "Test chest")
    app.button(key="explain").click().run()
    metrics = app.multiselect(key="trust-metrics")
    assert "deletion" in metrics.value and "pointing_game" not in metrics.options  # no ground truth here
    assert "needs ground truth" in texts(app.caption)
    metrics.set_value(["sparseness", "deletion"]).run()
    app.button(key="trust-run").click().run()
    assert not app.exception
    table = app.dataframe[-1].value
    assert "Sparseness (Gini)" in set(table["metric"]) and set(table["better"]) <= {"↑ higher", "↓ lower"}
    assert table["what it means"].str.len().min() > 10
    (tmp_path / "audit.html").write_text("<html></html>")  # a data-set audit's report is one click away
    app.text_input(key="trust-audit-folder").set_value(str(tmp_path)).run()
    assert "Download audit.html" in {button.label for button in app.get("download_button")}


@pytest.mark.usefixtures("app_environment")
def test_widget_changes_do_not_decode_or_classify_again():
    from xaiscope.app.logic import PREDICTIONS, SAMPLES

    app = start()
    decoded, predicted = SAMPLES.hits, PREDICTIONS.hits
    app.number_input(key="seed").set_value(3).run()
    assert SAMPLES.hits > decoded and PREDICTIONS.hits > predicted
    assert "Verdict" in texts(app.subheader)


def test_compare_across_models_puts_both_models_maps_side_by_side(app_folders, demo_twin_models, monkeypatch):
    """The bundled audio demo model and a copy of it under another name: two verdicts, and the same map twice."""
    _, samples = app_folders
    monkeypatch.setenv("XAISCOPE_SAMPLES", str(samples))
    app = start()
    app.selectbox(key="model-audio").set_value("demo_audio_mobilenet_v2").run()
    app.checkbox(key="use-gradcam").uncheck().run()
    app.checkbox(key="use-tile_occlusion").check().run()
    app.number_input(key="tile_occlusion-time_tiles-defaults").set_value(4).run()
    app.number_input(key="tile_occlusion-band_tiles-defaults").set_value(2).run()
    options = app.selectbox(key="compare-audio").options
    assert options[0] == "(none)" and "demo_twin" in options and "demo_audio_mobilenet_v2" not in options
    app.selectbox(key="compare-audio").set_value("demo_twin").run()
    assert "demo_twin" in texts(app.markdown).replace("\\", "")  # the second verdict, before explaining
    assert "18 model calls" in texts(app.caption)  # 9 per model: the cost covers both
    app.button(key="explain").click().run()
    assert not app.exception
    assert "Across models: demo_audio_mobilenet_v2 and demo_twin" in texts(app.subheader).replace("\\", "")
    agreement = app.dataframe[-1].value
    pair = agreement[(agreement["map A"] == "demo_audio_mobilenet_v2 · Occlusion (time-frequency tiles)")
                     & (agreement["map B"] == "demo_twin · Occlusion (time-frequency tiles)")]
    assert pair["rho"].tolist() == ["1.000"]  # the same weights under two names: the same map on the plane
