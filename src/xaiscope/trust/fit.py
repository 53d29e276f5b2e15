"""Compute a model's trust entries from a labelled data set: temperature, familiarity reference, input range.

Used by ``xaiscope calibrate MODEL DATA`` (imported models), at the end of ``xaiscope train`` and by the demo
builder. Reads the data through :func:`xaiscope.data.open_split` and every file through
:func:`xaiscope.inputs.load_input`, and builds each model input through the same preprocessing as ``predict``.

* the **reference**: penultimate embeddings of every window of (at most ``max_reference_files``, seeded)
  training files;
* the **temperature** and the familiarity **thresholds**: from the validation split's verdicts (each file
  classified as ``predict`` does: every window, the card's aggregation);
* the **comparison** of familiarity methods: the share of the validation and (when present) testing splits that
  each method calls familiar, and which of the built-in probes (:mod:`.probes`) it flags. The method chosen is
  the one with the larger balanced accuracy (see :data:`CHOICE_RULE`);
* the **input range**: measurements of the training files for the cheap audio checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from xaiscope.errors import CardError, XaiscopeError
from xaiscope.inputs import load_input
from xaiscope.inputs.sample import AudioSample, Sample
from xaiscope.preprocessing import iter_model_inputs
from xaiscope.trust.calibration import (
    apply_temperature,
    fit_temperature,
    negative_log_likelihood,
    reliability,
    reliability_diagram,
)
from xaiscope.trust.embeddings import penultimate_features
from xaiscope.trust.familiarity import (
    DEFAULT_K,
    DEFAULT_PERCENTILES,
    METHODS,
    SIDECAR_SUFFIX,
    Reference,
    combine_window_scores,
    status_of,
    thresholds_at,
)
from xaiscope.trust.probes import probes_for

Log = Callable[[str], None]


@dataclass
class Outputs:
    """A model's outputs on one sample: ``probabilities (W, C)``, ``features (W, D)``, the combined verdict
    ``(C,)`` and the decisive window (``max`` aggregation) or None."""

    probabilities: np.ndarray
    features: np.ndarray
    combined: np.ndarray
    decisive: int | None


def decisive_window(probabilities: np.ndarray, card: Any) -> int | None:
    """The window a ``max``-aggregated verdict comes from (as ``Model.predict`` picks it), else None."""
    if len(probabilities) == 1 or getattr(card.preprocessing, "aggregation", "mean") != "max":
        return None
    return int(np.argmax(probabilities[:, card.classes.index(card.alert_class)]))


def model_outputs(model: Any, sample: Sample, batch_size: int = 16) -> Outputs:
    """Classify ``sample`` window by window exactly as ``predict`` does, keeping the embeddings (uncalibrated)."""
    rows: list[torch.Tensor] = []
    with penultimate_features(model) as captured:
        for batch in iter_model_inputs(sample, model.card.preprocessing, batch_size=batch_size):
            rows.append(model.probabilities(batch.tensor))
    probabilities = torch.cat(rows).double().numpy()
    decisive = decisive_window(probabilities, model.card)
    if decisive is not None:
        combined = probabilities[decisive]
    elif len(probabilities) == 1:
        combined = probabilities[0]
    else:
        combined = probabilities.mean(axis=0)
    return Outputs(probabilities, torch.cat(captured).numpy(), combined, decisive)


@dataclass
class SplitOutputs:
    """Outputs of every readable file of one split."""

    labels: list[int] = field(default_factory=list)
    outputs: list[Outputs] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def combined(self) -> np.ndarray:
        return np.stack([o.combined for o in self.outputs])


def _records(data: str | Path, split: str, card: Any, options: dict[str, Any], limit: int, seed: int,
             required: bool = True) -> list[Any]:
    from xaiscope.data import open_split
    from xaiscope.training.evaluate import align_classes, data_options_for

    labelled = align_classes(open_split(data, split, data_options_for(card, options), require_samples=required),
                             card)
    records = list(labelled.records)
    if limit and len(records) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(records), limit, replace=False))
        records = [records[i] for i in keep]
    return records


def _run_split(model: Any, records: list[Any], keep_samples: bool, log: Log, name: str) -> SplitOutputs:
    result = SplitOutputs()
    started = time.perf_counter()
    for index, record in enumerate(records):
        try:
            sample = load_input(record.path)
        except XaiscopeError as error:
            result.unreadable.append(f"{record.path}: {error.problem}")
            continue
        result.outputs.append(model_outputs(model, sample))
        result.labels.append(int(record.label))
        if keep_samples:
            result.samples.append(sample)
        if (index + 1) % 100 == 0:
            log(f"  {name}: {index + 1}/{len(records)} files ({time.perf_counter() - started:.0f} s)")
    return result


def _clip_scores(reference: Reference, split: SplitOutputs, method: str) -> np.ndarray:
    return np.asarray([combine_window_scores(reference.scores(o.features, method), o.decisive)[0]  # type: ignore[arg-type]
                       for o in split.outputs])


def audio_range(samples: list[Sample]) -> dict[str, Any]:
    """The training range for the cheap audio checks, from training recordings (see :mod:`.audio_checks`)."""
    from xaiscope.trust.audio_checks import DEFAULT_AUDIO_RANGE, audio_measurements

    found = [audio_measurements(s) for s in samples if isinstance(s, AudioSample)]
    if not found:
        return dict(DEFAULT_AUDIO_RANGE)

    def column(key: str) -> np.ndarray:
        return np.asarray([row[key] for row in found], np.float64)

    return {
        "min_speech_share": round(float(min(column("speech_share").min(), DEFAULT_AUDIO_RANGE["min_speech_share"])),
                                  3),
        "min_bandwidth_hz": round(float(np.percentile(column("bandwidth_hz"), 1)), 1),
        "sample_rate_hz": [int(column("sample_rate_hz").min()), int(column("sample_rate_hz").max())],
        "duration_s": [round(float(column("duration_s").min()), 3), round(float(column("duration_s").max()), 3)],
        "max_clipped_share": round(float(max(np.percentile(column("clipped_share"), 99), 0.001)), 6),
        "source": f"measured on {len(found)} training recordings (speech share: the smallest, at most the "
                  f"default {DEFAULT_AUDIO_RANGE['min_speech_share']:g}; "
                  "bandwidth: 1st percentile; sample rate and duration: min to max; clipping: 99th percentile, at "
                  "least 0.1 %)",
    }


CHOICE_RULE = ("the larger balanced accuracy of telling held-out data (testing split, else validation) from the "
               "built-in probes, averaged over both thresholds: at 'unusual', (share of held-out data familiar + "
               "share of probes flagged) / 2; at 'unlike', (share of held-out data not unlike + share of probes "
               "unlike) / 2; a tie goes to knn")


def _balanced_accuracy(entry: dict[str, Any], probes: int) -> float:
    """See :data:`CHOICE_RULE`."""
    familiar = entry.get("testing_familiar_share", entry["validation_familiar_share"])
    not_unlike = 1.0 - entry.get("testing_unlike_share", 0.0)
    at_unusual = (familiar + entry["probes_flagged"] / max(probes, 1)) / 2
    at_unlike = (not_unlike + entry["probes_unlike"] / max(probes, 1)) / 2
    return round((at_unusual + at_unlike) / 2, 4)


@dataclass
class CalibrationResult:
    """What :func:`calibrate` computed and wrote."""

    card: Any
    calibration: dict[str, Any]
    familiarity: dict[str, Any]
    input_range: dict[str, Any] | None
    card_path: Path | None
    sidecar: Path | None
    diagram: Path | None


def calibrate(model: Any, data: str | Path, *, options: dict[str, Any] | None = None,
              max_reference_files: int = 2000, max_validation_files: int = 5000, max_testing_files: int = 2000,
              percentiles: dict[str, float] | None = None, k: int = DEFAULT_K, seed: int = 0, method: str = "auto",
              write: bool = True, report_dir: Path | None = None, measure_range: bool = True,
              log: Log = print) -> CalibrationResult:
    """Fit the temperature and the familiarity reference of ``model`` on a labelled data set; write them.

    Args:
        model: a loaded :class:`~xaiscope.models.Model` whose weights are a product checkpoint (a card to write).
        data: the data set folder (FoR, CheXpert or folder-per-class, with training and validation splits).
        options: data option overrides (as for ``eval-model``).
        percentiles: ``{"unusual": 95, "unlike": 99.5}`` by default.
        method: ``auto`` (by measurement, see the module docstring), ``knn`` or ``mahalanobis``.
        write: write the sidecar and the updated card beside the weights.
        report_dir: where the reliability diagram goes (default: beside the weights).
        measure_range: store the training range of the audio checks (audio models).

    Raises:
        CardError: the model has no card file to write into (an earlier-tool ``.pt``: import it first).
        XaiscopeError subclasses for missing or mismatched data.
    """
    card = model.card
    percentiles = percentiles or dict(DEFAULT_PERCENTILES)
    weights = Path(model.weights_path) if model.weights_path is not None else None
    if write and (weights is None or weights.suffix != ".safetensors"):
        raise CardError(f"Model '{card.name}' has no card file to store a calibration in (its weights are "
                        f"'{weights}').",
                        "Convert it to a product checkpoint first: `xaiscope import FILE.pt --arch ... --modality "
                        "... --classes ...`, then calibrate the new .safetensors.")
    options = options or {}
    log(f"{card.name}: training split (reference embeddings)")
    training = _run_split(model, _records(data, "training", card, options, max_reference_files, seed),
                          keep_samples=measure_range and card.modality == "audio", log=log, name="training")
    if not training.outputs:
        raise CardError("No training file could be read, so there is no reference.", "Check the data folder.")
    features = np.concatenate([o.features for o in training.outputs])
    labels = np.concatenate([[label] * len(o.features) for label, o in zip(training.labels, training.outputs,
                                                                          strict=True)])
    reference = Reference.from_features(features, labels, k=k, seed=seed)
    log(f"{card.name}: validation split (temperature, thresholds)")
    validation = _run_split(model, _records(data, "validation", card, options, max_validation_files, seed),
                            keep_samples=True, log=log, name="validation")
    if len(validation.outputs) < 2:
        raise CardError("The validation split has fewer than two readable files; nothing to calibrate on.",
                        "Give a data set with a validation split (folders training/ and validation/).")
    testing = SplitOutputs()
    try:
        test_records = _records(data, "testing", card, options, max_testing_files, seed, required=False)
    except XaiscopeError:
        test_records = []
    if test_records:
        log(f"{card.name}: testing split (familiar share on held-out data)")
        testing = _run_split(model, test_records, keep_samples=False, log=log, name="testing")

    # --- calibration -----------------------------------------------------------------------------------------
    valid_labels = np.asarray(validation.labels)
    before = validation.combined
    temperature = fit_temperature(before, valid_labels)
    after = apply_temperature(before, temperature)
    table_before, table_after = reliability(before, valid_labels), reliability(after, valid_labels)
    calibration: dict[str, Any] = {
        "method": "temperature", "temperature": round(temperature, 5),
        "fitted_on": f"validation split of {Path(data).name} ({len(valid_labels)} files), minimising the NLL of the "
                     "verdicts (windows combined by the card's aggregation)",
        "validation": {"files": len(valid_labels),
                       "nll": {"before": round(negative_log_likelihood(before, valid_labels), 4),
                               "after": round(negative_log_likelihood(after, valid_labels), 4)},
                       "ece": {"before": round(table_before.ece, 4), "after": round(table_after.ece, 4)},
                       "ece_bins": len(table_before.counts)},
    }
    if testing.outputs:
        test_labels = np.asarray(testing.labels)
        test_before = testing.combined
        test_after = apply_temperature(test_before, temperature)
        calibration["testing"] = {
            "files": len(test_labels),
            "accuracy": round(float(np.mean(test_before.argmax(axis=1) == test_labels)), 4),
            "nll": {"before": round(negative_log_likelihood(test_before, test_labels), 4),
                    "after": round(negative_log_likelihood(test_after, test_labels), 4)},
            "ece": {"before": round(reliability(test_before, test_labels).ece, 4),
                    "after": round(reliability(test_after, test_labels).ece, 4)}}

    # --- familiarity -----------------------------------------------------------------------------------------
    speech = next((s for s, label in zip(validation.samples, validation.labels, strict=True)
                   if isinstance(s, AudioSample) and card.classes[label] != card.alert_class), None)
    probes = probes_for(card.modality, speech)
    probe_outputs = [model_outputs(model, probe) for probe in probes]
    thresholds: dict[str, dict[str, float]] = {}
    comparison: dict[str, Any] = {}
    for name in METHODS:
        valid_scores = _clip_scores(reference, validation, name)
        limits = thresholds_at(valid_scores, percentiles)
        thresholds[name] = {key: round(value, 5) for key, value in limits.items()}
        probe_scores = [combine_window_scores(reference.scores(o.features, name), o.decisive)[0]
                        for o in probe_outputs]
        entry: dict[str, Any] = {
            "validation_familiar_share": round(float(np.mean(valid_scores <= limits["unusual"])), 4),
            "probes": {probe.name: {"score": round(score, 4), "status": status_of(score, limits)}
                       for probe, score in zip(probes, probe_scores, strict=True)},
        }
        entry["probes_flagged"] = sum(p["status"] != "familiar" for p in entry["probes"].values())
        entry["probes_unlike"] = sum(p["status"] == "unlike the training data" for p in entry["probes"].values())
        if testing.outputs:
            test_scores = _clip_scores(reference, testing, name)
            entry["testing_familiar_share"] = round(float(np.mean(test_scores <= limits["unusual"])), 4)
            entry["testing_unlike_share"] = round(float(np.mean(test_scores > limits["unlike"])), 4)
        comparison[name] = entry
    for name in METHODS:
        comparison[name]["balanced_accuracy"] = _balanced_accuracy(comparison[name], len(probes))
    if method == "auto":
        chosen = max(METHODS, key=lambda m: (comparison[m]["balanced_accuracy"], m == "knn"))
    elif method in METHODS:
        chosen = method
    else:
        raise CardError(f"Unknown familiarity method '{method}'.", f"Use auto or one of {list(METHODS)}.")
    sidecar_name = f"{card.name}{SIDECAR_SUFFIX}"
    familiarity: dict[str, Any] = {
        "method": chosen, "reference": sidecar_name, "sha256": "", "k": k,
        "embedding": f"input of the classification head ({features.shape[1]} features)",
        "reference_embeddings": len(reference.embeddings),
        "reference_from": f"training split of {Path(data).name}: {len(training.outputs)} files, every window, "
                          f"at most {len(reference.embeddings)} embeddings kept (seeded)",
        "percentiles": percentiles, "thresholds": thresholds,
        "choice_rule": CHOICE_RULE,
        "comparison": comparison,
    }
    if measure_range and card.modality == "audio":
        input_range = audio_range(training.samples)
    else:
        from xaiscope.trust.xray_checks import DEFAULT_XRAY_RANGE

        input_range = card.input_range or (dict(DEFAULT_XRAY_RANGE) if card.modality == "xray" else {})

    # --- write -----------------------------------------------------------------------------------------------
    card_path = sidecar = diagram = None
    directory = report_dir or (weights.parent if weights is not None else Path.cwd())
    directory.mkdir(parents=True, exist_ok=True)
    diagram = reliability_diagram(table_before, table_after, directory / f"{card.name}.validation.reliability.png",
                                  f"{card.name}: validation split ({len(valid_labels)} files)", temperature)
    if write and weights is not None:
        sidecar = weights.parent / sidecar_name
        familiarity["sha256"] = reference.save(sidecar)
    new_card = card.with_updates(calibration=calibration, familiarity=familiarity, input_range=input_range)
    if write and weights is not None:
        card_path = weights.with_suffix(".json")
        new_card.save(card_path)
        model.card = new_card
    return CalibrationResult(new_card, calibration, familiarity, input_range, card_path, sidecar, diagram)
