"""How a verdict's trust is worded, once, for every view (CLI text, app, HTML report, evaluate tables)."""

from __future__ import annotations

from typing import Any


def calibration_line(prediction: Any) -> str:
    """``probabilities calibrated (temperature 1.83, fitted on ...)`` or ``probabilities not calibrated``."""
    calibrated = getattr(prediction, "calibrated", None)
    if not calibrated:
        return "probabilities: not calibrated (the model card has no temperature; see `xaiscope calibrate`)"
    raw = ", ".join(f"P({k})={v:.4f}" for k, v in calibrated["uncalibrated"].items())
    return f"probabilities: calibrated by temperature {calibrated['temperature']:.3g} (uncalibrated: {raw})"


def familiarity_line(prediction: Any) -> str:
    """``familiarity: unusual (knn distance 0.61 > 0.48, the 95th percentile of the validation split)``."""
    record = getattr(prediction, "familiarity", None) or {}
    status = record.get("status", "not assessed")
    if status == "not assessed":
        reason = record.get("reason", "")
        return f"familiarity: not assessed{f' ({reason})' if reason else ''}"
    thresholds, percentiles = record["thresholds"], record.get("percentiles", {})
    score = record["score"]
    if status == "familiar":
        relation = f"<= {thresholds['unusual']:.4g}, the {percentiles.get('unusual', 95):g}th percentile"
    elif status == "unusual":
        relation = f"> {thresholds['unusual']:.4g}, the {percentiles.get('unusual', 95):g}th percentile"
    else:
        relation = f"> {thresholds['unlike']:.4g}, the {percentiles.get('unlike', 99.5):g}th percentile"
    return (f"familiarity: {status} ({record['method']} distance {score:.4g} {relation} of the validation split; "
            f"{record.get('combined_from', '')})")


def check_lines(prediction: Any) -> list[str]:
    """One line per input check: ``! speech share: 12% of 8.0 s (expected >= 25%)``."""
    lines = []
    for check in getattr(prediction, "checks", None) or []:
        if check["status"] == "not applicable":
            continue
        mark = "!" if check["status"] == "warning" else "ok"
        lines.append(f"{mark} {check['name']}: {check['value']} (expected {check['expected']})")
    return lines


def warnings_cell(prediction: Any) -> str:
    """Every warning of a verdict in one table cell (empty when there is none)."""
    return " | ".join(getattr(prediction, "warnings", None) or [])
