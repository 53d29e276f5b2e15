"""The app's display panels: the input, the verdict, and the Result / Compare / Downloads views."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from xaiscope.app.banner import show_banner, show_trust_facts
from xaiscope.app.logic import LruCache, cached_prediction, cached_recording_picture, rank_agreement
from xaiscope.app.text import plain
from xaiscope.inputs import AudioSample
from xaiscope.preprocessing.spec import XraySpec
from xaiscope.views import AudioView, overlay
from xaiscope.views.audio import compare_figure_png, models_figure_png
from xaiscope.views.export import explanation_files
from xaiscope.views.overlay import to_gray
from xaiscope.views.report import html_report


def show_input(sample: Any) -> None:
    """Audio player and whole-recording spectrogram, or the radiograph (DICOM already windowed)."""
    with st.expander("Input", expanded=True):
        facts = sample.describe()
        st.caption(plain(", ".join(f"{key}: {value}" for key, value in facts.items() if value not in ("", None))))
        if isinstance(sample, AudioSample):
            st.audio(_wav_bytes(sample.waveform, sample.sample_rate), format="audio/wav")
            st.image(cached_recording_picture(sample), caption="mel spectrogram of the whole recording",
                     width="stretch")
        else:
            st.image(sample.display, caption=f"{sample.size[0]} x {sample.size[1]} pixels", width=480)


def show_prediction(model: Any, sample: Any) -> Any:
    """Verdict, every class's probability and, for a long recording, the per-window timeline."""
    with st.spinner("Classifying..."):
        bar = st.progress(0.0)
        prediction = cached_prediction(model, sample,
                                       progress=lambda done, total: bar.progress(done / max(total, 1)))
        bar.empty()
    colour = "red" if prediction.label == model.card.alert_class else "green"
    show_banner(prediction, "verdict")
    st.subheader(f"Verdict: :{colour}[{plain(prediction.label)}] (P = {prediction.confidence:.3f})")
    for column, (label, value) in zip(st.columns(len(prediction.probabilities)), prediction.probabilities.items(),
                                      strict=True):
        column.metric(f"P({plain(label)})", f"{value:.4f}")
    show_trust_facts(prediction)
    if len(prediction.windows) > 1:
        import pandas as pd

        st.caption(f"{len(prediction.windows)} windows; combined by {prediction.combined_by}.")
        frame = pd.DataFrame([{"start s": w.start_s, "end s": w.end_s, **{f"P({k})": v for k, v in
                                                                          w.probabilities.items()}}
                              for w in prediction.windows])
        st.line_chart(frame.set_index("start s")[[f"P({model.card.alert_class})"]])
        with st.expander("Per-window timeline"):
            st.dataframe(frame, hide_index=False)
    return prediction


@dataclass(frozen=True)
class Across:
    """Compare across models: the second model, its verdict on the same input and its explanations."""

    model: Any
    prediction: Any
    explanations: list[Any]


def compact_prediction(model: Any, sample: Any) -> Any:
    """The second model's verdict in one line, with its warnings (Compare across models)."""
    with st.spinner(f"Classifying with {model.name}..."):
        prediction = cached_prediction(model, sample)
    colour = "red" if prediction.label == model.card.alert_class else "green"
    st.markdown(f"**{plain(model.name)}**: :{colour}[{plain(prediction.label)}] (P = {prediction.confidence:.3f})")
    show_banner(prediction, "verdict")
    return prediction


def _wav_bytes(waveform: np.ndarray, rate: int) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(waveform, -1, 1), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _files(cache: LruCache, explanation: Any, sample: Any, spec: Any, opacity: float, keep: float) -> dict[str, bytes]:
    key = (id(explanation), sample.sha256, opacity, keep)
    files = cache.get(key)
    if files is None:
        files = explanation_files(explanation, sample, spec, opacity=opacity, keep=keep)
        cache.put(key, files)
    return files


def _zoomed(image: np.ndarray, zoom: float, centre_x: float, centre_y: float) -> np.ndarray:
    """Crop ``image`` around a centre (fractions of width and height) by ``zoom``."""
    if zoom <= 1:
        return image
    height, width = image.shape[:2]
    crop_h, crop_w = max(int(height / zoom), 8), max(int(width / zoom), 8)
    top = int(np.clip(centre_y * height - crop_h / 2, 0, height - crop_h))
    left = int(np.clip(centre_x * width - crop_w / 2, 0, width - crop_w))
    return image[top:top + crop_h, left:left + crop_w]


def show_explanations(model: Any, sample: Any, prediction: Any, explanations: list[Any], files_cache: LruCache,
                      chosen: dict[str, dict[str, Any]], seed: int, truth: Any, across: Across | None = None) -> None:
    """The Result, Compare, Downloads and Trust views of the computed explanations (and, with ``across``, the
    second model's beside them in Compare)."""
    from xaiscope.app.trust import show_trust

    result_tab, compare_tab, downloads_tab, trust_tab = st.tabs(["Result", "Compare", "Downloads", "Trust"])
    spec = model.card.preprocessing
    with result_tab:
        show_banner(prediction, "explanation")
        _result(model, sample, explanations, files_cache)
    with compare_tab:
        show_banner(prediction, "explanation")
        _compare(model, sample, explanations)
        if across is not None:
            _compare_models(model, sample, explanations, across)
    with downloads_tab:
        show_banner(prediction, "explanation")
        _downloads(model, sample, prediction, explanations, files_cache, spec)
    with trust_tab:
        show_banner(prediction, "explanation")
        computed = {e.method: e.params for e in explanations}
        show_trust(model, sample, {m: p for m, p in chosen.items() if m in computed}, seed, truth)


def _base_image(sample: Any, explanation: Any) -> np.ndarray:
    return to_gray(explanation.picture) if isinstance(sample, AudioSample) else sample.display


def _result(model: Any, sample: Any, explanations: list[Any], files_cache: LruCache) -> None:
    labels = [e.label for e in explanations]
    chosen = explanations[labels.index(st.selectbox("Method", labels, key="result-method"))]
    spec = model.card.preprocessing
    if isinstance(sample, AudioSample):
        files = _audio_result(chosen, sample, spec, files_cache)
    else:
        controls = st.columns(4)
        opacity = controls[0].slider("Opacity", 0.0, 1.0, 0.6, 0.05, key="opacity")
        show_map = controls[1].toggle("Show explanation", value=True, key="show-map",
                                      help="Off: the original input, to compare.")
        zoom = controls[2].slider("Zoom", 1.0, 8.0, 1.0, 0.5, key="zoom")
        centre_x = controls[3].slider("Zoom centre x", 0.0, 1.0, 0.5, 0.05, key="zoom-x", disabled=zoom <= 1)
        centre_y = controls[3].slider("Zoom centre y", 0.0, 1.0, 0.5, 0.05, key="zoom-y", disabled=zoom <= 1)
        base = sample.display if isinstance(spec, XraySpec) else to_gray(chosen.picture)
        shown = overlay(base, chosen.attribution, opacity=opacity) if show_map else np.asarray(base)
        st.image(_zoomed(shown, zoom, centre_x, centre_y), caption=f"{chosen.label} — {chosen.target_class}",
                 width="stretch")
        files = _files(files_cache, chosen, sample, spec, opacity, 0.2)
        st.info(plain(_record(files)["summary"]))
    for extra, caption in (("lime.png", "LIME: top superpixels"), ("shap.png", "SHAP: red = for, green = against")):
        if extra in files:
            st.image(files[extra], caption=caption, width=448)
    st.caption(f"{chosen.seconds:.2f} s, {chosen.model_calls} model calls, seed {chosen.seed}, "
               f"parameters {chosen.params}")


def _record(files: dict[str, bytes]) -> dict[str, Any]:
    import json

    return dict(json.loads(files["record.json"]))


#: Width in pixels of a time-frequency figure on the page: its own size, never stretched to the page.
FIGURE_WIDTH = 900


def _audio_result(chosen: Any, sample: Any, spec: Any, files_cache: LruCache) -> dict[str, bytes]:
    """One audio explanation on the time-frequency plane (seconds, Hz, colour bar), its summary and listen.wav;
    returns its files."""
    keep = st.slider("Kept fraction for listening", 0.05, 1.0, 0.2, 0.05, key="keep",
                     help="listen.wav keeps this fraction of the time-frequency cells with the highest attribution.")
    files = _files(files_cache, chosen, sample, spec, 0.5, keep)
    st.info(plain(_record(files)["summary"]))
    if "timefreq.png" not in files:  # a feature extractor of unknown geometry: no plane
        st.warning("This map is over the model's own features, whose time and frequency layout is not known, so "
                   "it cannot be drawn in seconds and Hz. The tile methods explain any audio model on the plane.")
        if "overlay.png" in files:
            st.image(files["overlay.png"], caption=f"{chosen.label} over the model's input", width=448)
        return files
    st.image(files["timefreq.png"], width=FIGURE_WIDTH,
             caption=f"{chosen.label} on the time-frequency plane: red = for '{chosen.target_class}', blue = "
                     f"against; gray = the window's energy per band (dB). Map origin: {chosen.plane.origin}.")
    st.caption("What the model relied on (listen.wav)")
    st.audio(files["listen.wav"], format="audio/wav")
    for name, caption in (("overlay.png", "the same map over the model's input picture, as the model saw it"),
                          ("time.png", "the same map over the samples of the window")):
        if name in files:
            with st.expander(f"Model input view: {caption}"):
                st.image(files[name], width=448)
    return files


def _compare(model: Any, sample: Any, explanations: list[Any]) -> None:
    """The chosen methods side by side on one colour scale, with their cost, and how far each pair agrees."""
    planes = [e for e in explanations if e.plane is not None] if isinstance(sample, AudioSample) else []
    if planes:
        st.caption("Each map on the time-frequency plane of its window, divided by its largest magnitude: one colour "
                   "scale, red = for the explained class, blue = against.")
        views = [(e.label, AudioView.build(e)) for e in planes]
        st.image(compare_figure_png(views), width=min(1300, 560 * min(len(views), 2) + 80))
        st.caption("  \n".join(f"{e.label}: {e.seconds:.2f} s · {e.model_calls} model calls" for e in planes))
    else:
        st.caption("Each map is scaled by its own 99.5th percentile of |attribution| into [-1, 1] and drawn with "
                   "the same colour map: red = for the explained class, blue = against.")
        per_row = 3
        for start in range(0, len(explanations), per_row):
            columns = st.columns(per_row)
            for column, explanation in zip(columns, explanations[start:start + per_row], strict=False):
                with column:
                    st.image(overlay(_base_image(sample, explanation), explanation.attribution, opacity=0.6),
                             caption=explanation.label, width="stretch")
                    st.caption(f"{explanation.seconds:.2f} s · {explanation.model_calls} model calls")
    if len(explanations) > 1:
        _agreement(rank_agreement(explanations))


def _agreement(agreement: dict[tuple[str, str], float]) -> None:
    import pandas as pd

    st.markdown("**Agreement** (Spearman rank correlation of the maps, for recordings on the time-frequency plane over "
                "the frames both windows cover; 1 = same ranking, 0 = unrelated; undefined when a map is flat or two "
                "windows share no frame)")
    st.dataframe(pd.DataFrame([{"map A": a, "map B": b, "rho": "undefined (flat map)" if math.isnan(v) else f"{v:.3f}"}
                               for (a, b), v in agreement.items()]), hide_index=True)


def _compare_models(model: Any, sample: Any, explanations: list[Any], across: Across) -> None:
    """Compare across models: each method's map for both models side by side, one colour scale."""
    st.subheader(plain(f"Across models: {model.name} and {across.model.name}"))
    other = plain(across.model.name)
    st.caption(f"{other} says {plain(across.prediction.label)} (P = {across.prediction.confidence:.3f}); each model "
               "explains its own decisive window and, unless a class is chosen, the class it predicts (in each title).")
    theirs = {e.method: e for e in across.explanations}
    pairs = [(mine, theirs[mine.method]) for mine in explanations if mine.method in theirs]
    missing = [e.label for e in explanations if e.method not in theirs]
    if missing:
        st.caption(f"Not computed for {other} (the method does not suit it, or Explain was not pressed): "
                   + ", ".join(missing))
    if not pairs:
        return
    audio = isinstance(sample, AudioSample)
    if audio and all(a.plane is not None and b.plane is not None for a, b in pairs):
        figure = models_figure_png([e for pair in pairs for e in pair])
        if figure is not None:
            st.image(figure, width=1200)
    else:
        for a, b in pairs:
            columns = st.columns(2)
            for column, explanation in zip(columns, (a, b), strict=True):
                column.image(overlay(_base_image(sample, explanation), explanation.attribution, opacity=0.6),
                             caption=f"{explanation.model} · {explanation.label}", width="stretch")
    _agreement(rank_agreement([e for pair in pairs for e in pair]))


def _downloads(model: Any, sample: Any, prediction: Any, explanations: list[Any], files_cache: LruCache,
               spec: Any) -> None:
    stem = sample.name.rsplit(".", 1)[0]
    bundles = []
    for explanation in explanations:
        files = _files(files_cache, explanation, sample, spec, 0.5, 0.2)
        bundles.append((explanation, files))
        st.markdown(f"**{explanation.label}**")
        columns = st.columns(len(files))
        for column, (name, content) in zip(columns, files.items(), strict=True):
            column.download_button(name, content, file_name=f"{stem}_{explanation.method}_{name}",
                                   key=f"download-{explanation.method}-{name}", on_click="ignore")
    report = html_report(prediction, model.card, bundles, rank_agreement(explanations) if len(explanations) > 1
                         else None)
    st.download_button("HTML report (everything above)", report.encode(), file_name=f"{stem}_xaiscope.html",
                       mime="text/html", type="primary", key="download-report", on_click="ignore")
