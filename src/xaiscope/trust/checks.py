"""What one input check found: :class:`Check`, shared by the audio and X-ray checks and by familiarity.

A check never changes a verdict. It states what it measured, what the model's training data looked like, and,
when the two disagree, a sentence saying what is wrong and what to do; that sentence travels with the verdict
into every view (CLI text and JSON, the app, the HTML report, ``evaluate``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

CheckStatus = Literal["ok", "warning", "not applicable"]


@dataclass(frozen=True)
class Check:
    """One measured property of an input.

    Attributes:
        name: what was checked, e.g. ``speech share`` or ``DICOM modality``.
        status: ``ok``, ``warning`` (outside what the model learned from), or ``not applicable`` (the input does
            not say, e.g. a PNG has no DICOM modality).
        value: the measurement, in words with its unit (``"23 % of 6.0 s"``).
        expected: what the model's training data had (``">= 50 %"``).
        message: for a warning, what is wrong and what to do; empty otherwise.
    """

    name: str
    status: CheckStatus
    value: str
    expected: str
    message: str = ""

    @property
    def warns(self) -> bool:
        return self.status == "warning"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One line for text output: ``name: value (expected ...)``."""
        mark = "!" if self.warns else "·"
        return f"{mark} {self.name}: {self.value} (expected {self.expected})"


def ok(name: str, value: str, expected: str) -> Check:
    return Check(name, "ok", value, expected)


def warning(name: str, value: str, expected: str, message: str) -> Check:
    return Check(name, "warning", value, expected, message)


def not_applicable(name: str, value: str, expected: str) -> Check:
    return Check(name, "not applicable", value, expected)
