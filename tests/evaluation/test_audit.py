"""Auditing a data set: records written per input, resumed after an interruption, refused when the settings
change, merged into tables and a verdict; and a real two-process ``torchrun`` audit equal to a one-process one."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import png_bytes
from xaiscope.evaluation import (
    AuditStore,
    EvaluationError,
    audit_settings,
    folder_inputs,
    merge_audit,
    run_audit,
    write_audit_report,
)
from xaiscope.evaluation.verdict import holm, paired_test, rank_biserial

METHODS = {"gradcam": {}, "random": {}}
METRICS = {"deletion": {"steps": 3}, "insertion": {"steps": 3}, "random_logit": {}, "sparseness": {}}


def _blob_folder(folder: Path, samples) -> Path:
    folder.mkdir(parents=True)
    for index, sample in enumerate(samples):
        (folder / f"case{index}.png").write_bytes(png_bytes((sample.image * 255).astype(np.uint8)))
    return folder


def _open(model, source, folder: Path, seed: int = 0, restart: bool = False, metrics=None) -> AuditStore:
    store = AuditStore(folder)
    store.open(audit_settings(model, source, METHODS, metrics or METRICS, seed=seed, target=None), restart=restart)
    return store


def test_an_interrupted_audit_resumes_where_it_stopped_and_equals_an_uninterrupted_one(
        trained_blob_model, blob_samples, tmp_path):
    source = folder_inputs(_blob_folder(tmp_path / "data", blob_samples))
    assert len(source.inputs) == 4
    store = _open(trained_blob_model, source, tmp_path / "audit")
    with pytest.raises(KeyboardInterrupt):
        run_audit(trained_blob_model, source, METHODS, METRICS, store, stop_after=2)
    assert store.done() == {0, 1}
    (store.records / ".0000002.json.999.tmp").write_text('{"half a rec')  # a write cut short by the crash
    store = _open(trained_blob_model, source, tmp_path / "audit")
    assert not list(store.records.glob(".*.tmp"))
    seen = []
    run = run_audit(trained_blob_model, source, METHODS, METRICS, store,
                    progress=lambda done, total, calls: seen.append((done, total)))
    assert (run.scored, run.already_done, seen[-1]) == (2, 2, (2, 2))
    again = run_audit(trained_blob_model, source, METHODS, METRICS, store)
    assert (again.scored, again.already_done) == (0, 4)  # nothing left to do

    clean = _open(trained_blob_model, source, tmp_path / "clean")
    run_audit(trained_blob_model, source, METHODS, METRICS, clean)
    resumed, uninterrupted = merge_audit(store), merge_audit(clean)
    assert resumed.columns.keys() == uninterrupted.columns.keys()
    for key, values in resumed.columns.items():
        np.testing.assert_array_equal(values, uninterrupted.columns[key])
    assert resumed.paragraph == uninterrupted.paragraph


def test_changed_settings_are_refused_with_what_changed_and_restart_starts_over(
        trained_blob_model, blob_samples, tmp_path):
    source = folder_inputs(_blob_folder(tmp_path / "data", blob_samples))
    store = _open(trained_blob_model, source, tmp_path / "audit")
    store.write(0, {"index": 0, "input": "case0.png", "label": None, "error": "x"})
    with pytest.raises(EvaluationError, match=r"seed: 0 -> 1"):
        _open(trained_blob_model, source, tmp_path / "audit", seed=1)
    assert store.done() == {0}
    _open(trained_blob_model, source, tmp_path / "audit", seed=1, restart=True)
    assert store.done() == set() and store.settings()["seed"] == 1


def test_the_merged_audit_counts_not_applicable_scores_and_writes_every_report(
        trained_blob_model, blob_samples, tmp_path):
    source = folder_inputs(_blob_folder(tmp_path / "data", blob_samples))
    metrics = {**METRICS, "pointing_game": {}}
    store = _open(trained_blob_model, source, tmp_path / "audit", metrics=metrics)
    run_audit(trained_blob_model, source, METHODS, metrics, store)
    summary = merge_audit(store)
    rows = {(row.method, row.metric, row.output): row for row in summary.rows}
    assert rows[("gradcam", "deletion", "auc")].n == 4
    pointing = rows[("gradcam", "pointing_game", "score")]
    assert (pointing.n, pointing.not_applicable) == (0, 4)  # no ground truth: counted, not a number
    assert {c.metric for c in summary.comparisons} >= {"deletion", "insertion", "random_logit"}
    assert "Grad-CAM" in summary.paragraph and "gradcam" in summary.verdicts
    written = {path.name for path in write_audit_report(summary, store, tmp_path / "audit")}
    assert {"audit.html", "audit.md", "audit.json", "summary.csv", "comparisons.csv", "scores.csv",
            "curves_deletion.png"} <= written
    page = (tmp_path / "audit" / "audit.html").read_text()
    assert "data:image/png;base64," in page and "Against the random control" in page and "<script" not in page
    record = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert record["equivalences"] and record["comparisons"][0]["outcome"]


def test_paired_test_effect_size_and_holm():
    better = np.linspace(0.1, 0.5, 12)
    control = better + 0.3
    n, nonzero, p, effect = paired_test(better, control, "lower")
    assert (n, nonzero, effect) == (12, 12, 1.0) and p < 0.001
    assert paired_test(control, better, "lower")[3] == -1.0
    assert np.isnan(paired_test(better, better, "lower")[2])  # nothing to test: not a p-value of 1
    with_nan = control.copy()
    with_nan[:3] = np.nan
    assert paired_test(better, with_nan, "lower")[0] == 9  # undefined scores are dropped pairwise
    assert rank_biserial(np.array([1.0, 2.0, -3.0])) == pytest.approx((3 - 3) / 6)
    assert holm([0.01, 0.04, float("nan"), 0.03]) == pytest.approx([0.03, 0.06, float("nan"), 0.06], nan_ok=True)


def _tiny_model(folder: Path) -> Path:
    from xaiscope.models import Model, ModelCard, build_network, save_checkpoint
    from xaiscope.preprocessing import XraySpec

    card = ModelCard(name="tiny_xray", modality="xray", architecture="mobilenet_v3_small",
                     classes=("no_opacity", "opacity"), num_outputs=1, preprocessing=XraySpec(image_size=64),
                     alert_class="opacity", cam_target_layer="features.12")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        network = build_network(card.architecture, card.num_outputs)
    return save_checkpoint(Model(card, network.eval()), folder)


def test_torchrun_two_processes_shard_the_audit_and_merge_the_scores_of_one_process(blob_samples, tmp_path):
    from xaiscope.cli import main

    weights = _tiny_model(tmp_path / "model")
    data = _blob_folder(tmp_path / "data", [*blob_samples, *blob_samples[:1]])  # 5 inputs: uneven shards
    flags = ["--model", str(weights), "--data", str(data), "--methods", "integrated_gradients,random",
             "--metrics", "deletion,random_logit,sparseness", "--param", "deletion.steps=3",
             "--param", "integrated_gradients.steps=4", "--worst-cases", "1",
             "--precision", "fp32"]  # numbers compared to 1e-5 across thread counts: bf16 rounding would differ
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "xaiscope", "evaluate", *flags, "--out", str(tmp_path / "two")],
        cwd=tmp_path, capture_output=True, text=True, env=environment, timeout=400)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert main(["evaluate", *flags, "--out", str(tmp_path / "one")]) == 0
    ranks = [json.loads(path.read_text())["rank"] for path in sorted((tmp_path / "two" / "records").glob("*.json"))]
    assert sorted(ranks) == [0, 0, 0, 1, 1]  # every input once, shared between the two processes

    def scores(folder: Path) -> list[list[str]]:
        with (folder / "scores.csv").open() as handle:
            return [row[:6] for row in csv.reader(handle)]  # seconds and model calls aside

    def close(a: object, b: object) -> bool:
        """Equal, numbers to 1e-5 relative: a process of torchrun runs torch on one thread, the lone run on two,
        so sums are added in another order (the last bits of float32 differ)."""
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a if k != "seconds")
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
        for value in (a, b):
            if isinstance(value, str):
                try:
                    float(value)
                except ValueError:
                    return a == b
        if isinstance(a, str | int | float) and isinstance(b, str | int | float) and not isinstance(a, bool):
            return float(a) == pytest.approx(float(b), rel=1e-5, abs=1e-9, nan_ok=True)
        return a == b

    assert close(scores(tmp_path / "two"), scores(tmp_path / "one")) and len(scores(tmp_path / "one")) > 5
    assert (tmp_path / "two" / "audit.html").is_file()
    merged_two = json.loads((tmp_path / "two" / "audit.json").read_text())
    merged_one = json.loads((tmp_path / "one" / "audit.json").read_text())
    assert close(merged_two["summary"], merged_one["summary"])
    assert close(merged_two["comparisons"], merged_one["comparisons"])
