"""The warning banner that travels with a verdict: above the verdict and above every explanation view."""

from __future__ import annotations

from typing import Any

import streamlit as st

from xaiscope.views.trust import calibration_line, check_lines, familiarity_line


def show_banner(prediction: Any, context: str = "verdict") -> None:
    """One ``st.warning`` listing every warning of ``prediction`` (nothing when there is none).

    Args:
        context: what the banner sits above (``verdict``, ``explanation``), said in its first line.
    """
    warnings = getattr(prediction, "warnings", None) or []
    if not warnings:
        return
    lead = ("Read before trusting this verdict:" if context == "verdict" else
            "The verdict explained here comes with warnings:")
    st.warning(f"**{lead}**\n\n" + "\n".join(f"- {warning}" for warning in warnings), icon="⚠️")


def show_trust_facts(prediction: Any) -> None:
    """Calibration and familiarity in one caption each, and the input checks, below the verdict."""
    st.caption(calibration_line(prediction))
    st.caption(familiarity_line(prediction))
    lines = check_lines(prediction)
    if lines:
        st.caption("Input checks: " + "; ".join(lines))
