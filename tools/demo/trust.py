"""Calibration and familiarity of the bundled demo models, from the demo corpus's own splits.

``python -m tools.demo calibrate`` (and the last step of ``xaiscope demo build``) rebuilds the demo corpus when it is
missing (seeded: the same files the shipped models were trained on; checked against the split sizes in their
cards), fits each model's temperature and familiarity reference with :func:`xaiscope.trust.fit.calibrate`
(training split: reference; validation split: temperature and thresholds; testing split and probes: the
comparison of methods), and measures the familiarity of every held-out clip per source.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.demo import DemoBuildError
from xaiscope.models.store import BUNDLED_DIR

#: The bundled demo model calibrated per modality by default; ``calibrate_models(models=...)`` names others (the demo
#: RawNet2, ``demo_audio_rawnet2``, is calibrated on the same speech corpus).
MODELS = {"audio": "demo_audio_mobilenet_v2", "xray": "demo_xray_mobilenet_v2"}


def ensure_corpus(out: Path, seed: int = 0, log: Callable[[str], None] = print) -> tuple[Path, Path]:
    """The audio and X-ray corpora in ``out`` (built with the default plans when their manifests are missing)."""
    audio_dir, xray_dir = out / "audio", out / "xray"
    if not (audio_dir / "manifest.jsonl").is_file():
        from tools.demo.audio_corpus import AudioCorpusBuilder, AudioPlan
        from tools.demo.tools import ensure_tools

        ensure_tools(False, log)
        log("audio corpus (for calibration)")
        AudioCorpusBuilder(audio_dir, AudioPlan(), seed, log).build()
    if not (xray_dir / "manifest.jsonl").is_file():
        from tools.demo.xray_corpus import XrayPlan, build_xray_corpus

        log("x-ray corpus (for calibration)")
        build_xray_corpus(xray_dir, XrayPlan(), seed, log=log)
    return audio_dir, xray_dir


def _check_same_corpus(card: Any, corpus: Path) -> None:
    """Refuse to calibrate on a corpus whose split sizes differ from those the model was trained on."""
    from xaiscope.data import open_split

    stored = card.provenance.get("data_splits", {})
    for split, summary in stored.items():
        found = open_split(corpus, split, require_samples=False).class_counts()
        if dict(found) != dict(summary.get("per_class", {})):
            raise DemoBuildError(
                f"The corpus in {corpus} does not match the one {card.name} was trained on ({split}: {dict(found)} "
                f"files per class, the card says {summary.get('per_class')}).",
                "Rebuild the corpus and the models together with `make demo`.")


def familiarity_by_source(model: Any, corpus: Path, split: str = "testing") -> dict[str, dict[str, Any]]:
    """Per source of the corpus manifest: the share of ``split`` files ``predict`` calls familiar, unusual, unlike;
    the share with any warning (input checks or familiarity); the verdicts; the wrong ones and how many of them
    carried a warning."""
    from xaiscope.inputs import load_input

    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    counts: dict[str, Counter[str]] = {}
    for row in rows:
        if row["split"] != split:
            continue
        source = f"{row['label']}/{row.get('source', row.get('engine', 'all'))}"
        prediction = model.predict(load_input(corpus / row["file"]))
        counter = counts.setdefault(source, Counter())
        counter[prediction.familiarity["status"]] += 1
        counter["called " + prediction.label] += 1
        if prediction.label != row["label"]:
            counter["wrong"] += 1
            counter["wrong, with a warning"] += bool(prediction.warnings)
        counter["with a warning"] += bool(prediction.warnings)
    table = {}
    for source, counter in sorted(counts.items()):
        total = sum(counter[s] for s in ("familiar", "unusual", "unlike the training data"))
        table[source] = {"files": total, **{status: round(counter[status] / total, 4) for status in
                                            ("familiar", "unusual", "unlike the training data")},
                         "with_a_warning": round(counter["with a warning"] / total, 4),
                         "called": {key[7:]: counter[key] for key in counter if key.startswith("called ")},
                         "wrong": counter["wrong"], "wrong_with_a_warning": counter["wrong, with a warning"]}
    return table


def calibrate_demo_models(out: Path = Path("build/demo"), models_dir: Path = BUNDLED_DIR, seed: int = 0,
                          report_dir: Path | None = Path("docs/calibration"),
                          log: Callable[[str], None] = print, **budget: Any) -> dict[str, Any]:
    """Calibrate both demo models in ``models_dir`` on the demo corpus in ``out``; returns what was measured.

    ``budget`` goes to :func:`calibrate_models` (``modalities``, ``max_reference_files``, ``max_testing_files``,
    ``by_source``).
    """
    audio_dir, xray_dir = ensure_corpus(out.resolve(), seed, log)
    return calibrate_models(models_dir, audio_dir, xray_dir, seed, report_dir, log, **budget)


def calibrate_models(models_dir: Path, audio_dir: Path, xray_dir: Path, seed: int = 0,
                     report_dir: Path | None = None, log: Callable[[str], None] = print, *,
                     modalities: tuple[str, ...] = ("audio", "xray"), max_reference_files: int = 2000,
                     max_testing_files: int = 2000, by_source: tuple[str, ...] = ("audio", "xray"),
                     models: dict[str, str] | None = None) -> dict[str, Any]:
    """Calibrate the demo models in ``models_dir`` on the corpora; rewrite their cards; return the figures.

    Args:
        modalities: which of the two models.
        models: the model name per modality (default :data:`MODELS`).
        max_reference_files, max_testing_files: seeded subsets (see :func:`xaiscope.trust.fit.calibrate`).
        by_source: the modalities whose testing split is also classified file by file for the per-source table.
    """
    from xaiscope.models import load_model
    from xaiscope.trust.fit import calibrate

    report: dict[str, Any] = {}
    for modality, corpus in (("audio", audio_dir), ("xray", xray_dir)):
        if modality not in modalities:
            continue
        path = models_dir / f"{(models or MODELS)[modality]}.safetensors"
        model = load_model(str(path))
        _check_same_corpus(model.card, corpus)
        result = calibrate(model, corpus, seed=seed, report_dir=report_dir, log=log,
                           max_reference_files=max_reference_files, max_testing_files=max_testing_files)
        per_source = {}
        if modality in by_source:
            log(f"{model.name}: familiarity per source of the testing split")
            per_source = familiarity_by_source(load_model(str(path)), corpus)
        card = result.card.with_updates(familiarity={**result.familiarity, "testing_by_source": per_source})
        card.save(path.with_suffix(".json"))
        report[modality] = {"calibration": result.calibration, "familiarity": card.familiarity,
                            "input_range": result.input_range, "diagram": str(result.diagram)}
    return report
