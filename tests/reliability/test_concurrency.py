"""One shared model, several threads at once (as the app's sessions share a loaded model).

Explanations and predictions running side by side must give exactly what each gives alone: the same maps, the same
model-call counts, the same verdicts; progress callbacks run only on the thread that asked for them; and a cache
filled while other threads work holds only results equal to a lone run's.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from tests.conftest import audio_bytes, tone
from xaiscope.app.logic import ExplanationCache, cached_explain
from xaiscope.explainers import explain
from xaiscope.inputs import load_input

#: Methods with hooks (Grad-CAM), gradients (Integrated Gradients) and many batched calls (LIME, SHAP).
METHODS: dict[str, dict[str, Any]] = {
    "gradcam": {},
    "integrated_gradients": {"steps": 8, "batch_size": 4},
    "lime": {"samples": 40, "batch_size": 10},
    "shap": {"max_evals": 60, "batch_size": 8},
}
ROUNDS = 3
PREDICTORS = 3


@pytest.fixture(scope="module")
def long_recording():
    """A 12-second recording: predicting it makes many batched forward passes while explanations run."""
    signal = tone(12.0, 16000, 350, seed=5) + tone(12.0, 16000, 1800, seed=6)
    return load_input(audio_bytes(signal.astype(np.float32), 16000), name="long.wav")


def _lone(model: Any, sample: Any) -> dict[str, Any]:
    return {name: explain(model, sample, name, **params) for name, params in METHODS.items()}


def test_explanations_and_predictions_from_many_threads_equal_a_lone_run(audio_region_model, speech_sample,
                                                                          long_recording):
    model = audio_region_model
    alone = _lone(model, speech_sample)
    alone_verdict = model.predict(long_recording)
    results: dict[str, list[Any]] = defaultdict(list)
    verdicts: list[Any] = []
    foreign_progress: list[str] = []
    errors: list[BaseException] = []
    explaining = threading.Event()

    def explainer(name: str) -> None:
        asking = threading.get_ident()

        def progress(done: int, total: int) -> None:
            if threading.get_ident() != asking:
                foreign_progress.append(name)

        try:
            explaining.set()
            for _ in range(ROUNDS):
                results[name].append(explain(model, speech_sample, name, progress=progress, **METHODS[name]))
        except BaseException as error:
            errors.append(error)

    done = threading.Event()

    def predictor() -> None:
        asking = threading.get_ident()

        def progress(done_windows: int, total: int) -> None:
            if threading.get_ident() != asking:
                foreign_progress.append("predict")

        try:
            explaining.wait(10)
            while not done.is_set():
                verdicts.append(model.predict(long_recording, batch_size=2, progress=progress))
        except BaseException as error:
            errors.append(error)

    explainers = [threading.Thread(target=explainer, args=(name,)) for name in METHODS]
    predictors = [threading.Thread(target=predictor) for _ in range(PREDICTORS)]
    for thread in (*predictors, *explainers):
        thread.start()
    for thread in explainers:
        thread.join(timeout=600)
    done.set()
    for thread in predictors:
        thread.join(timeout=120)

    assert not errors, errors
    assert not foreign_progress, f"progress callbacks ran on another thread: {foreign_progress[:5]}"
    assert verdicts, "the predicting threads never ran"
    for name, reference in alone.items():
        assert len(results[name]) == ROUNDS
        for explanation in results[name]:
            assert explanation.model_calls == reference.model_calls, (name, explanation.model_calls)
            assert np.ptp(explanation.attribution) > 0, f"{name}: empty map"
            np.testing.assert_allclose(explanation.attribution, reference.attribution, rtol=1e-5,
                                       atol=1e-6 * float(np.abs(reference.attribution).max()), err_msg=name)
    for verdict in verdicts:
        assert verdict.probabilities == pytest.approx(alone_verdict.probabilities, abs=1e-6)
        assert [w.probabilities for w in verdict.windows] == [w.probabilities for w in alone_verdict.windows]


def test_a_cache_filled_while_others_work_holds_only_lone_results(audio_region_model, speech_sample, long_recording):
    """Explanations cached from several threads (while predictions run) equal a lone run's, entry by entry."""
    model = audio_region_model
    alone = _lone(model, speech_sample)
    cache = ExplanationCache(capacity=64)
    errors: list[BaseException] = []
    done = threading.Event()

    def fill(names: list[str], seed: int) -> None:
        try:
            for name in names:
                cached_explain(cache, model, speech_sample, name, METHODS[name], seed=seed)
        except BaseException as error:
            errors.append(error)

    def predict() -> None:
        try:
            while not done.is_set():
                model.predict(long_recording, batch_size=2)
        except BaseException as error:
            errors.append(error)

    fillers = [threading.Thread(target=fill, args=(list(METHODS)[i::2], 0)) for i in range(2)]
    predictors = [threading.Thread(target=predict) for _ in range(2)]
    for thread in (*predictors, *fillers):
        thread.start()
    for thread in fillers:
        thread.join(timeout=600)
    done.set()
    for thread in predictors:
        thread.join(timeout=120)
    assert not errors, errors
    for name, params in METHODS.items():
        cached, was_cached = cached_explain(cache, model, speech_sample, name, params, seed=0)
        assert was_cached, name
        assert cached.model_calls == alone[name].model_calls, name
        np.testing.assert_allclose(cached.attribution, alone[name].attribution, rtol=1e-5,
                                   atol=1e-6 * float(np.abs(alone[name].attribution).max()), err_msg=name)
