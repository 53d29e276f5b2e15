"""``evaluate``: explain every sample with every method, score each explanation with every metric that applies."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from xaiscope.errors import EvaluationError
from xaiscope.evaluation.base import Case, Metric
from xaiscope.evaluation.ground_truth import GroundTruth, region_for
from xaiscope.evaluation.registry import METRICS, get_metric
from xaiscope.evaluation.results import CurveRecord, EvaluationResult, ScoreRecord
from xaiscope.explainers.api import explain
from xaiscope.explainers.base import Method
from xaiscope.explainers.registry import get_method
from xaiscope.inputs.sample import Sample
from xaiscope.models.model import Model
from xaiscope.plugins import CallMeter, ProgressCallback
from xaiscope.preprocessing import count_windows, window_input

Choice = Sequence[str] | Mapping[str, Mapping[str, Any]]


def _named(choice: Choice | str | None, default: Sequence[str]) -> dict[str, dict[str, Any]]:
    if choice is None:
        return {name: {} for name in default}
    if isinstance(choice, str):
        choice = [part for part in choice.split(",") if part.strip()]
    if isinstance(choice, Mapping):
        return {str(name): dict(values) for name, values in choice.items()}
    return {str(name): {} for name in choice}


def _truths(samples: Sequence[Sample], ground_truth: Any) -> list[GroundTruth | None]:
    if ground_truth is None:
        return [None] * len(samples)
    if isinstance(ground_truth, Mapping):
        return [ground_truth.get(sample.name) for sample in samples]
    truths = list(ground_truth)
    if len(truths) != len(samples):
        raise EvaluationError(f"{len(truths)} ground-truth entries for {len(samples)} samples.",
                              "Give one entry (or None) per sample, or a mapping from sample names.")
    return truths


def evaluate(model: Model, samples: Sample | Sequence[Sample], methods: Choice | str,
             metrics: Choice | str | None = None, *,
             ground_truth: Mapping[str, GroundTruth] | Sequence[Any] | None = None,
             seed: int = 0, progress: ProgressCallback | None = None, target: int | str | None = None,
             ) -> EvaluationResult:
    """Score explanations of ``model`` on ``samples``.

    Args:
        model: a loaded :class:`~xaiscope.models.Model` (never modified: randomisation works on a copy).
        samples: inputs of the model's modality.
        methods: method names (``"gradcam,lime"``, a list, or ``{name: {param: value}}``); ``random`` adds the
            chance-level control.
        metrics: metric names (same forms; ``{name: {param: value}}`` sets metric parameters); None = all but those that
            repeat another by construction (:attr:`~xaiscope.evaluation.base.Metric.same_as`). A metric that does
            not apply to a sample (wrong modality, no ground truth) is skipped and listed in
            ``result.skipped``.
        ground_truth: per sample, a lesion mask ``(h, w)`` bool at the X-ray's resolution or a fake interval
            ``(start_s, end_s)``; a mapping from sample names or a sequence aligned with ``samples``.
        seed: seed of every random source (methods, metrics, bootstrap).
        progress: ``progress(model_calls_done, model_calls_expected)``; it may raise
            :class:`~xaiscope.errors.Stopped` to stop.
        target: class to explain (default: each sample's predicted class).

    Returns:
        An :class:`~xaiscope.evaluation.results.EvaluationResult` (per-sample scores, means, bootstrap 95% CIs,
        curves, seconds; writers for CSV, JSON, Markdown and PNG).
    """
    samples = [samples] if isinstance(samples, Sample) else list(samples)
    if not samples:
        raise EvaluationError("No samples to evaluate.", "Give at least one recording or X-ray.")
    chosen_methods = {get_method(name).name: (get_method(name), params)
                      for name, params in _named(methods, ()).items()}
    if not chosen_methods:
        raise EvaluationError("No methods to evaluate.", "Name at least one, e.g. gradcam,lime (`xaiscope methods`).")
    chosen_metrics = {get_metric(name).name: (get_metric(name), params)
                      for name, params in _named(metrics, [name for name in METRICS
                                                           if not get_metric(name).same_as]).items()}
    for method, _ in chosen_methods.values():
        reason = method.suits(model)
        if reason:
            raise EvaluationError(f"{method.label} cannot explain {model.name}: {reason}.",
                                  "Leave it out of the methods (`xaiscope methods --model NAME`).")
    method_values = {name: method.resolve_params(params) for name, (method, params) in chosen_methods.items()}
    metric_values = {name: metric.resolve_params(params) for name, (metric, params) in chosen_metrics.items()}
    truths = _truths(samples, ground_truth)
    spec = model.card.preprocessing

    expected = 0
    known = [model.known_prediction(sample) is not None for sample in samples]
    for sample, truth, verdict_known in zip(samples, truths, known, strict=True):
        # the verdict (which window decided it, the class probabilities), once per sample unless already known
        expected += 0 if verdict_known else count_windows(sample, spec)
        for name, (method, _) in chosen_methods.items():
            expected += method.model_calls(model, method_values[name])
            for metric_name, (metric, _) in chosen_metrics.items():
                if metric.suits(model, sample.modality, has_ground_truth=truth is not None,
                                space=method.output_space(model)) is None:
                    expected += metric.model_calls(model, method, method_values[name], metric_values[metric_name])
    meter = CallMeter(expected, progress)
    result = EvaluationResult(model=model.name, modality=model.card.modality, seed=seed, expected_model_calls=expected,
                              metrics={name: metric for name, (metric, _) in chosen_metrics.items()},
                              metric_params=metric_values, method_params=method_values,
                              method_labels={name: method.label for name, (method, _) in chosen_methods.items()})
    with model.lock:  # every forward pass of this evaluation, on the shared model, is ours alone
        for sample, truth, verdict_known in zip(samples, truths, known, strict=True):
            if sample.modality != model.card.modality:
                raise EvaluationError(f"'{sample.name}' is a {sample.modality} input; {model.name} takes "
                                      f"{model.card.modality}.", "Evaluate each modality with its own model.")
            if verdict_known and model.known_prediction(sample) is None:  # dropped from the cache since counted
                _expect_more(meter, result, count_windows(sample, spec))
            with meter.watch(model.class_view):  # every method explains the window that decided the verdict
                prediction = model.predict(sample)
            window = prediction.decisive_window or 0
            result.verdicts[sample.name] = {"label": prediction.label, "confidence": round(prediction.confidence, 6),
                                            "familiarity": prediction.familiarity.get("status", "not assessed"),
                                            "warnings": list(prediction.warnings)}
            for name, (method, _) in chosen_methods.items():
                case = _explain(model, sample, window, method, method_values[name], target, seed, meter, result)
                case.region = region_for(sample, spec, case.window_index, truth, case.plane)
                for metric_name, (metric, _) in chosen_metrics.items():
                    _score(metric, metric_values[metric_name], case, sample, name, truth is not None, result)
    result.model_calls = meter.done
    return result


def _expect_more(meter: CallMeter, result: EvaluationResult, calls: int) -> None:
    """Raise the expected count by ``calls`` (a verdict that was known when counting must be computed again)."""
    meter.expected += calls
    result.expected_model_calls += calls


def _explain(model: Model, sample: Sample, window: int, method: Method, params: dict[str, Any],
             target: int | str | None, seed: int, meter: CallMeter, result: EvaluationResult) -> Case:
    started = time.perf_counter()
    calls_before = meter.done
    with meter.watch(model.class_view):
        explanation = explain(model, sample, method.name, target, window=window, seed=seed, **params)
    inputs = window_input(sample, model.card.preprocessing, window).tensor
    if method.takes == "recording" and explanation.plane is not None:  # the method explained the window's samples
        inputs = torch.from_numpy(explanation.plane.clip)[None]
    attribution, target_index = explanation.attribution, explanation.target
    result.explanations.append({"sample": sample.name, "method": method.name, "target": model.classes[target_index],
                                "window": window, "seconds": time.perf_counter() - started,
                                "model_calls": meter.done - calls_before})
    return Case(model=model, sample=sample, method=method, method_params=params, inputs=inputs,
                attribution=np.asarray(attribution, np.float32), target=target_index, seed=seed, window_index=window,
                meter=meter, space=explanation.space, plane=explanation.plane)


def _score(metric: Metric, params: dict[str, Any], case: Case, sample: Sample, method: str, has_truth: bool,
           result: EvaluationResult) -> None:
    reason = metric.suits(case.model, sample.modality, has_ground_truth=has_truth, space=case.space)
    if reason is not None:
        result.skipped.append({"sample": sample.name, "method": method, "metric": metric.name, "reason": reason})
        return
    started = time.perf_counter()
    calls_before = case.meter.done
    value = metric.compute(case, params)
    seconds = time.perf_counter() - started
    if value.not_applicable:
        # An undefined score costs only the calls made before it was found undefined: the count expected shrinks.
        unspent = metric.model_calls(case.model, case.method, case.method_params, params) - (
            case.meter.done - calls_before)
        case.meter.expected -= unspent
        result.expected_model_calls -= unspent
        result.not_applicable.append({"sample": sample.name, "method": method, "metric": metric.name,
                                      "reason": value.not_applicable})
    for output in metric.outputs:
        result.scores.append(ScoreRecord(sample=sample.name, method=method, metric=metric.name, output=output,
                                         value=float(value.values.get(output, float("nan"))), seconds=seconds,
                                         model_calls=case.meter.done - calls_before))
    for curve_name, curve in value.curves.items():
        result.curves.append(CurveRecord(sample=sample.name, method=method, metric=curve_name,
                                         x=np.asarray(curve[0], np.float64), y=np.asarray(curve[1], np.float64)))
    if value.details:
        result.details.append({"sample": sample.name, "method": method, "metric": metric.name, **value.details})
