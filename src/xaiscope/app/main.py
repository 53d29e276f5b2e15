"""The xaiscope Streamlit app: input, verdict, explanations (Result, Compare, Downloads).

Run with ``xaiscope app`` (or ``make app``). The page only arranges widgets: loading, predicting, explaining and
drawing are the library's (``xaiscope.inputs``, ``xaiscope.models``, ``xaiscope.explainers``,
``xaiscope.views``, ``xaiscope.app.logic``). Inputs come only from uploads or the bundled samples: no widget
reads a path on the server.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from xaiscope.app import panels
from xaiscope.app.costs import COSTS
from xaiscope.app.errors import guarded, show_error
from xaiscope.app.logic import EXPLANATIONS, FILES, cached_explain, cached_sample
from xaiscope.app.text import plain
from xaiscope.errors import XaiscopeError
from xaiscope.explainers import ExplanationStopped, get_method, methods
from xaiscope.inputs import EXTENSIONS
from xaiscope.inputs.bundled import bundled_samples
from xaiscope.inputs.sample import Modality, Sample
from xaiscope.models import discover, load_model
from xaiscope.models.card import NOT_FOR_DECISIONS
from xaiscope.models.precision import PRECISION_CHOICES

#: Largest upload accepted, in megabytes (a 10-minute 48 kHz stereo WAV is about 110 MB; radiographs are smaller).
MAX_UPLOAD_MB = 200
KINDS: dict[str, Modality] = {"Speech": "audio", "Chest X-ray": "xray"}
AUDIO_TYPES = list(EXTENSIONS["audio"])
XRAY_TYPES = list(EXTENSIONS["xray"])


def choose_input(modality: Modality) -> tuple[Sample | None, Any]:
    """Upload or bundled sample -> ``(sample, ground truth)`` (``(None, None)`` while nothing usable is chosen).

    Ground truth (a fake interval or a lesion mask) exists only for bundled samples that ship it.
    """
    samples = bundled_samples(modality)
    source = st.radio("Input", ["Upload a file", "Bundled sample"] if samples else ["Upload a file"],
                      horizontal=True, key="source")
    if source == "Bundled sample":
        titles = {f"{s.title}": s for s in samples}
        chosen = titles[st.selectbox("Sample", list(titles), key="bundled")]
        if chosen.description:
            st.caption(plain(chosen.description))
        return cached_sample(chosen.path.read_bytes(), chosen.path.name, modality), chosen.truth()
    upload = st.file_uploader(
        f"Upload a {'recording' if modality == 'audio' else 'radiograph'} (at most {MAX_UPLOAD_MB} MB)",
        type=AUDIO_TYPES if modality == "audio" else XRAY_TYPES, key=f"upload-{modality}",
        max_upload_size=MAX_UPLOAD_MB)
    if upload is None:
        if not samples:
            st.info("No bundled samples in this installation: upload a file.")
        return None, None
    return cached_sample(upload.getvalue(), upload.name, modality), None


def model_label(card: Any) -> str:
    """``name (source architecture; input kind -> output kind)`` for the model selectbox."""
    return f"{card.name} ({card.source} {card.architecture}; {card.input_kind} -> {card.output_kind})"


def choose_model(modality: str) -> Any:
    """A selectbox of the present models of this modality, the card one click away."""
    entries = [entry for entry in discover()[0] if entry.present and entry.card.modality == modality]
    if not entries:
        st.warning(f"No {modality} model has its weights here. Put the earlier tool's weights in ./weights, "
                   "or a folder named by XAISCOPE_MODELS (`xaiscope app --models DIR`), then reload.")
        return None
    names = [entry.card.name for entry in entries]
    name = st.selectbox("Model", names, key=f"model-{modality}",
                        format_func=lambda n: model_label(next(e.card for e in entries if e.card.name == n)))
    model = load_model(name)
    requested = st.sidebar.selectbox(
        "Precision", PRECISION_CHOICES, index=0, key="precision",
        help="Number format of the forward passes. auto: bf16 on GPUs and on CPUs with AMX or AVX-512 BF16, else "
             "fp32; fp16 runs on CUDA GPUs only. Methods not measured faithful at a reduced precision run at fp32; "
             "every record states the precision used. The setting applies to the model, for every session.")
    policy = model.set_precision(requested)
    st.sidebar.caption(f"Forward passes at {policy.precision} ({policy.reason}).")
    with st.expander("Model card"):
        st.warning(plain(model.card.intended_use))
        st.json(model.card.to_dict(), expanded=1)
    return model


def parameter_widgets(method_name: str) -> dict[str, Any]:
    """Advanced settings of one method, generated from its declared parameters and presets."""
    method = get_method(method_name)
    with st.expander(f"Advanced: {method.label}"):
        st.caption(method.summary)
        preset_names = ["defaults", *method.presets]
        preset = st.selectbox("Preset", preset_names, key=f"{method.name}-preset",
                              help="'earlier-tool' reproduces the earlier prototype's settings.")
        base = method.resolve_params({}, None if preset == "defaults" else preset)
        values: dict[str, Any] = {}
        for param in method.params:
            label = f"{method.label} · {param.name}"
            key = f"{method.name}-{param.name}-{preset}"
            if param.choices:
                values[param.name] = st.selectbox(label, param.choices, index=param.choices.index(base[param.name]),
                                                  key=key, help=param.help)
            elif param.kind is int:
                values[param.name] = int(st.number_input(label, min_value=int(param.minimum or 0),
                                                         max_value=int(param.maximum or 10**6),
                                                         value=int(base[param.name]), step=1, key=key, help=param.help))
            elif param.kind is float:
                values[param.name] = float(st.number_input(label, min_value=float(param.minimum or 0.0),
                                                           max_value=float(param.maximum or 1e6),
                                                           value=float(base[param.name]), key=key, help=param.help))
            elif param.kind is bool:
                values[param.name] = st.checkbox(label, value=bool(base[param.name]), key=key, help=param.help)
            else:
                values[param.name] = st.text_input(label, value=str(base[param.name]), key=key, help=param.help)
    return method.resolve_params(values)


def choose_methods(model: Any) -> dict[str, dict[str, Any]]:
    """Checkboxes of the methods that suit this input and model; the others listed with the reason."""
    choices = methods(model.card.modality, model, controls=False)
    chosen: dict[str, dict[str, Any]] = {}
    st.subheader("Explanation methods")
    columns = st.columns(3)
    families = ("cam", "gradient", "perturbation")
    for column, family in zip(columns, families, strict=True):
        with column:
            st.markdown(f"**{family.upper() if family == 'cam' else family.capitalize()}**")
            for choice in (c for c in choices if c.plugin.family == family):
                method = choice.plugin
                if not choice.available:
                    st.caption(f"~~{method.label}~~ — {choice.reason}")
                    continue
                if st.checkbox(method.label, value=method.name == "gradcam", key=f"use-{method.name}",
                               help=method.summary):
                    chosen[method.name] = {}
    for name in chosen:
        chosen[name] = parameter_widgets(name)
    return chosen


def run_explanations(model: Any, sample: Any, chosen: dict[str, dict[str, Any]], seed: int, window: int | None,
                     also: Any = None) -> tuple[list[Any], list[Any]]:
    """Explain with every chosen method (cached ones at once), with a progress bar and a Stop button.

    Args:
        also: a second model to compare with (Compare across models): the chosen methods that suit it explain it
            too, each on its own decisive window.

    Returns:
        The explanations of ``model`` and those of ``also`` (empty without one).
    """
    second = {name: params for name, params in chosen.items() if also is not None and not get_method(name).suits(also)}
    plan = [(model, name, params, window) for name, params in chosen.items()]
    plan += [(also, name, params, None) for name, params in second.items()]
    estimates = [COSTS.estimate(m, name, get_method(name).family, get_method(name).model_calls(m, params))
                 for m, name, params, _ in plan]
    total_calls = sum(estimate.calls for estimate in estimates)
    total_seconds = sum(estimate.seconds for estimate in estimates)
    bases = "; ".join(f"{m.name} {get_method(name).label} {e.per_call * 1000:.0f} ms per call {e.basis}"
                      for (m, name, _, _), e in zip(plan, estimates, strict=True))
    st.caption(f"Cost: {total_calls} model calls, about {_duration(total_seconds)} on this server now ({bases}); "
               "results already computed come from the cache.")
    start, stop = st.columns([1, 1])
    clicked = start.button("Explain", type="primary", key="explain")
    if stop.button("Stop", key="stop"):
        st.info("Stopped. Nothing already computed is lost.")
    done: dict[int, list[Any]] = {id(model): [], id(also): []}
    for explained, name, params, at in plan:
        key = EXPLANATIONS.key(explained, sample, name, params, seed, None, at)
        found = EXPLANATIONS.get(key)
        if found is not None:
            done[id(explained)].append(found)
        elif clicked:
            label = f"{explained.name} · {get_method(name).label}"
            bar = st.progress(0.0, text=f"{label}: starting")

            def report(calls: int, total: int, bar: Any = bar, label: str = label) -> None:
                bar.progress(min(calls / max(total, 1), 1.0), text=f"{label}: {calls}/{total} model calls")

            try:
                explanation, _ = cached_explain(EXPLANATIONS, explained, sample, name, params, seed=seed, window=at,
                                                progress=report)
            except ExplanationStopped:
                st.info("Stopped.")
                break
            bar.empty()
            COSTS.record(explained, name, explanation.family, explanation.seconds, explanation.model_calls)
            done[id(explained)].append(explanation)
    if chosen and not done[id(model)] and not clicked:
        st.info("Press **Explain** to compute the chosen methods.")
    return done[id(model)], done[id(also)] if also is not None else []


def choose_second_model(model: Any) -> Any:
    """Compare across models: another present model of the same modality, or None."""
    others = [entry.card.name for entry in discover()[0]
              if entry.present and entry.card.modality == model.card.modality and entry.card.name != model.name]
    if not others:
        return None
    name = st.selectbox("Compare across models", ["(none)", *others], key=f"compare-{model.card.modality}",
                        help="Explain the same input with a second model: both verdicts and their maps side by "
                             "side (for recordings on one time-frequency plane and one colour scale).")
    return None if name == "(none)" else load_model(name)


def main() -> None:
    st.set_page_config(page_title="xaiscope", layout="wide")
    st.title("xaiscope")
    st.caption("Why did the network call this recording a deepfake, or this chest X-ray abnormal? "
               f"{NOT_FOR_DECISIONS}")
    kind = st.radio("Kind of input", list(KINDS), horizontal=True, key="kind")
    modality = KINDS[kind]
    try:
        sample, truth = choose_input(modality)
    except XaiscopeError as error:
        show_error(error)
        return
    if sample is None:
        return
    panels.show_input(sample)
    try:
        model = choose_model(modality)
        if model is None:
            return
        prediction = panels.show_prediction(model, sample)
    except XaiscopeError as error:
        show_error(error)
        return
    chosen = choose_methods(model)
    try:
        second = choose_second_model(model)
        second_prediction = panels.compact_prediction(second, sample) if second is not None else None
    except XaiscopeError as error:
        show_error(error)
        second, second_prediction = None, None
    settings = st.columns(2)
    seed = int(settings[0].number_input("Seed (every random source)", min_value=0, value=0, step=1, key="seed"))
    window = None
    if len(prediction.windows) > 1:
        default = prediction.decisive_window or 0
        window = int(settings[1].number_input("Window to explain", min_value=0, max_value=len(prediction.windows) - 1,
                                              value=default, step=1, key="window",
                                              help="Default: the window that decided the verdict."))
    try:
        explanations, second_explanations = run_explanations(model, sample, chosen, seed, window, second)
    except XaiscopeError as error:
        show_error(error)
        return
    if explanations:
        across = panels.Across(second, second_prediction, second_explanations) if second is not None else None
        panels.show_explanations(model, sample, prediction, explanations, FILES, chosen, seed, truth, across)


def _duration(seconds: float) -> str:
    """``3.2`` -> ``"3 s"``, ``0.04`` -> ``"under 1 s"``, ``150`` -> ``"2.5 min"``."""
    if seconds < 1:
        return "under 1 s"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


if __name__ == "__main__":
    guarded(main)
