"""The evaluate API end to end: every metric, the silence shortcut, writers, progress and stop, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import audio_bytes, png_bytes, tone
from xaiscope.evaluation import METRICS, bootstrap_ci, evaluate
from xaiscope.evaluation.report import write_report
from xaiscope.explainers import ExplanationStopped
from xaiscope.inputs import load_input

FAST_METRICS = {"deletion": {"steps": 5}, "insertion": {"steps": 5}, "randomisation": {"steps": 2},
                "random_logit": {}, "max_sensitivity": {"samples": 2}, "sparseness": {}, "silence_shortcut": {}}


def test_every_metric_declares_what_tools_need():
    for metric in METRICS.values():
        described = metric.describe()
        assert described["direction"] in ("higher", "lower") and described["category"] in (
            "faithfulness", "randomisation", "localisation", "robustness", "complexity", "shortcut")
        assert described["summary"] and described["outputs"] and set(described["modalities"]) <= {"audio", "xray"}


def test_audio_evaluation_with_every_metric_writes_tables_and_plots(audio_region_model, speech_sample, tmp_path):
    result = evaluate(audio_region_model, [speech_sample], ["gradcam", "random"],
                      {**FAST_METRICS, "pointing_game": {}}, ground_truth={"speech.wav": (1.0, 1.75)}, target=1)
    assert np.isfinite(result.mean("gradcam", "silence_shortcut", "trim_change"))
    assert result.mean("gradcam", "pointing_game") == 1.0
    written = {path.name for path in write_report(result, tmp_path)}
    assert {"scores.csv", "summary.csv", "evaluation.json", "evaluation.md", "curves_deletion.png",
            "curves_insertion.png"} <= written
    record = json.loads((tmp_path / "evaluation.json").read_text())
    assert record["metrics"]["deletion"]["params_used"]["replacement"] == "blur"
    assert "Grad-CAM" in (tmp_path / "evaluation.md").read_text()
    assert result.model_calls > 0 and not audio_region_model.network._forward_pre_hooks


def test_the_silence_shortcut_sees_a_verdict_that_rests_on_silence(audio_region_model):
    # speech in the first half, silence in the second: the region model looks at columns 112..196 (the silence),
    # whose dark cells push it towards "fake" (class 0)
    signal = np.concatenate([tone(1.0, 16000, 400), np.zeros(16000, np.float32)])
    sample = load_input(audio_bytes(signal, 16000), name="half.wav")
    result = evaluate(audio_region_model, [sample], {"integrated_gradients": {"baseline": "mean", "steps": 8}},
                      ["silence_shortcut"], target=0)
    details = next(d for d in result.details if d["metric"] == "silence_shortcut")
    assert details["trail_s"] > 0.8 and details["lead_s"] < 0.1
    assert result.mean("integrated_gradients", "silence_shortcut", "silence_share") > 0.9
    assert result.mean("integrated_gradients", "silence_shortcut", "trim_change") > 0.05


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    values = np.random.default_rng(0).normal(1.0, 0.5, 40)
    low, high = bootstrap_ci(values, seed=3)
    assert low < values.mean() < high and (low, high) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(np.array([2.0, np.nan])) == (2.0, 2.0)


def test_progress_reports_model_calls_and_can_stop(xray_region_model, xray_sample):
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if done > 20:
            raise ExplanationStopped("stopped", "")

    with pytest.raises(ExplanationStopped):
        evaluate(xray_region_model, [xray_sample], ["gradcam"], {"deletion": {"steps": 50}}, progress=progress)
    assert seen and seen[-1][0] > 20 and seen[-1][1] >= 50
    assert not xray_region_model.class_view._forward_pre_hooks


def test_cli_metrics_and_evaluate(xray_region_model, xray_sample, tmp_path, monkeypatch, capsys):
    from xaiscope.cli import main

    assert main(["metrics", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {m["name"] for m in listed} == set(METRICS)

    data = tmp_path / "data"
    (data / "masks").mkdir(parents=True)
    image = (xray_sample.image * 255).astype(np.uint8)
    (data / "chest.png").write_bytes(png_bytes(image))
    mask = np.zeros(image.shape, np.uint8)
    mask[75:150, 130:227] = 255
    (data / "masks" / "chest.png").write_bytes(png_bytes(mask))
    (data / "ground_truth.json").write_text(json.dumps({"chest.png": {"mask": "masks/chest.png"}}))
    import xaiscope.models

    monkeypatch.setattr(xaiscope.models, "load_model", lambda name: xray_region_model)
    out = tmp_path / "out"
    status = main(["evaluate", "--model", "region", "--data", str(data), "--methods", "gradcam,random",
                   "--metrics", "deletion,relevance_mass", "--param", "deletion.steps=4", "--target", "1",
                   "--out", str(out)])
    assert status == 0
    summary = (out / "summary.csv").read_text()
    assert "relevance_mass" in summary and (out / "curves_deletion.png").is_file()
    record = json.loads((out / "audit.json").read_text())
    assert record["inputs"] == 1  # the mask PNG is not taken for an input
    assert {row["metric"] for row in record["summary"]} == {"deletion", "relevance_mass"}
    assert (out / "audit.html").is_file() and (out / "records" / "0000000.json").is_file()
    assert main(["evaluate", "--model", "region", "--data", str(data), "--methods", "gradcam", "--metrics", "nope",
                 "--out", str(out)]) == 2


@pytest.mark.parametrize("modality", ["audio", "xray"])
def test_evaluate_makes_exactly_the_model_calls_it_declares(modality, request):
    model = request.getfixturevalue(f"{modality}_region_model")
    sample = request.getfixturevalue("speech_sample" if modality == "audio" else "xray_sample")
    metrics = {name: params for name, params in FAST_METRICS.items() if name != "silence_shortcut" or
               modality == "audio"}
    seen: list[tuple[int, int]] = []
    result = evaluate(model, [sample], {"gradcam": {}, "occlusion": {"patch": 56, "stride": 56}, "random": {}},
                      metrics, progress=lambda done, total: seen.append((done, total)))
    assert result.model_calls == result.expected_model_calls > 0
    assert seen[-1] == (result.model_calls, result.expected_model_calls)
