"""The app's Trust view: scores of the current explanations, each with what it means and which way is better."""

from __future__ import annotations

from typing import Any

import streamlit as st

from xaiscope.app.errors import show_error
from xaiscope.app.logic import LruCache
from xaiscope.errors import XaiscopeError
from xaiscope.explainers import ExplanationStopped

#: Cheap metrics ticked by default; randomisation and robustness re-run the method several times.
DEFAULT_METRICS = ("deletion", "insertion", "sparseness", "pointing_game", "relevance_mass", "silence_shortcut")
_RESULTS: LruCache[Any] = LruCache(capacity=32)


def show_audit_download() -> None:
    """A download button for the HTML report of a data-set audit (``xaiscope evaluate --out FOLDER``)."""
    from pathlib import Path

    with st.expander("Audit report of a whole data set"):
        st.caption("`xaiscope evaluate --model M --data DIR [--split testing] --out FOLDER` scores every input and "
                   "compares each method with the random control; give FOLDER to download its report.")
        folder = st.text_input("Audit folder", key="trust-audit-folder").strip()
        report = Path(folder).expanduser() / "audit.html" if folder else None
        if report is not None and report.is_file():
            st.download_button("Download audit.html", report.read_bytes(), file_name="audit.html", mime="text/html",
                               key="trust-audit-download")
        elif report is not None:
            st.warning(f"No audit.html in {folder}.")


def show_trust(model: Any, sample: Any, chosen: dict[str, dict[str, Any]], seed: int, truth: Any) -> None:
    from xaiscope.evaluation import METRICS, evaluate

    show_audit_download()

    applicable = []
    for metric in METRICS.values():
        reason = metric.suits(model, sample.modality, has_ground_truth=truth is not None)
        if reason:
            st.caption(f"~~{metric.label}~~ — {reason}")
        else:
            applicable.append(metric)
    names = st.multiselect("Metrics", [m.name for m in applicable],
                           default=[m.name for m in applicable if m.name in DEFAULT_METRICS], key="trust-metrics",
                           format_func=lambda name: next(m.label for m in applicable if m.name == name))
    metrics = [m for m in applicable if m.name in names]
    from xaiscope.explainers import get_method

    cost = sum(metric.model_calls(model, get_method(method), get_method(method).resolve_params(params),
                                  metric.resolve_params({}))
               for metric in metrics for method, params in chosen.items())
    st.caption(f"Scores the window that decided the verdict. Cost beyond the explanations: about {cost} model calls.")
    key = (sample.sha256, model.name, tuple(sorted((m, tuple(sorted(p.items()))) for m, p in chosen.items())),
           tuple(names), seed, truth is not None)
    result = _RESULTS.get(key)
    if result is None and st.button("Score the explanations", key="trust-run"):
        bar = st.progress(0.0, text="Scoring")

        def report(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"Scoring: {done}/{total} model calls")

        try:
            result = evaluate(model, [sample], chosen, names, ground_truth=[truth], seed=seed, progress=report)
        except ExplanationStopped:
            st.info("Stopped.")
            return
        except XaiscopeError as error:
            show_error(error)
            return
        bar.empty()
        _RESULTS.put(key, result)
    if result is None:
        return
    import pandas as pd

    rows = []
    for row in result.summary():
        metric = result.metrics[row.metric]
        rows.append({"method": row.method, "metric": row.label, "output": row.output,
                     "score": round(row.mean, 4), "better": "↑ higher" if row.direction == "higher" else "↓ lower",
                     "seconds": round(row.seconds, 2), "what it means": metric.summary})
    st.dataframe(pd.DataFrame(rows), hide_index=True)
