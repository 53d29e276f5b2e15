"""No process-wide state: concurrent explanations get the maps they would get alone; library patches are undone."""

from __future__ import annotations

import threading

import numpy as np

from tests.explainers.test_methods import FAST
from xaiscope.explainers import explain


def test_two_threads_explaining_two_models_with_shap_get_the_maps_they_get_alone(
        xray_region_model, audio_region_model, xray_sample, speech_sample):
    jobs = [(xray_region_model, xray_sample, "shap"), (audio_region_model, speech_sample, "kernel_shap"),
            (xray_region_model, xray_sample, "kernel_shap"), (audio_region_model, speech_sample, "shap")]
    alone = [explain(model, sample, method, seed=3, **FAST[method]).attribution for model, sample, method in jobs]
    together: list[np.ndarray | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        model, sample, method = jobs[index]
        try:
            for _ in range(2):
                together[index] = explain(model, sample, method, seed=3, **FAST[method]).attribution
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not errors
    for index, (first, second) in enumerate(zip(alone, together, strict=True)):
        np.testing.assert_array_equal(first, second, err_msg=str(jobs[index][2]))


def test_library_progress_bars_are_restored_after_use(xray_region_model, xray_sample):
    from lime import lime_image
    from pytorch_grad_cam import score_cam

    lime_bar, score_cam_tqdm = lime_image.tqdm, score_cam.tqdm
    explain(xray_region_model, xray_sample, "lime", **FAST["lime"])
    explain(xray_region_model, xray_sample, "scorecam", **FAST["scorecam"])
    assert lime_image.tqdm is lime_bar and score_cam.tqdm is score_cam_tqdm
