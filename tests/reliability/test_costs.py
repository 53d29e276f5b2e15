"""Cost estimates come from recent runs of the same model and method on this server, and are right within 2x."""

from __future__ import annotations

import pytest

from xaiscope.app.costs import CostBook, model_identity
from xaiscope.explainers import explain, get_method


class FakeModel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.weights_path = None


def test_the_average_follows_recent_runs_of_that_model_and_method():
    book = CostBook(recent_weight=0.5)
    model, other = FakeModel("m"), FakeModel("m")
    book.record(model, "lime", "perturbation", seconds=99.0, calls=1000)  # first in the process: replaced next
    book.record(model, "lime", "perturbation", seconds=10.0, calls=1000)  # 10 ms per call
    assert book.estimate(model, "lime", "perturbation", 500).seconds == pytest.approx(5.0)
    book.record(model, "lime", "perturbation", seconds=30.0, calls=1000)  # 30 ms: the average moves halfway
    estimate = book.estimate(model, "lime", "perturbation", 1000)
    assert estimate.seconds == pytest.approx(20.0) and "run" in estimate.basis
    # another method of the family borrows the family's average until it has run itself
    assert book.estimate(model, "shap", "perturbation", 100).seconds == pytest.approx(2.0)
    assert "perturbation" in book.estimate(model, "shap", "perturbation", 100).basis
    # another model (same name, another object) shares nothing
    assert model_identity(model) != model_identity(other)
    assert book._per_call.get((*model_identity(other), "method", "lime")) is None


def test_the_first_run_in_the_process_is_replaced_by_the_next():
    book = CostBook()
    model = FakeModel("m")
    book.record(model, "shap", "perturbation", seconds=14.0, calls=100)  # includes start-up work
    assert "start-up" in book.estimate(model, "shap", "perturbation", 100).basis
    book.record(model, "shap", "perturbation", seconds=3.0, calls=100)
    estimate = book.estimate(model, "shap", "perturbation", 100)
    assert estimate.seconds == pytest.approx(3.0) and "start-up" not in estimate.basis
    second_model = FakeModel("n")
    book.record(second_model, "shap", "perturbation", seconds=5.0, calls=100)  # not the first in the process
    assert "start-up" not in book.estimate(second_model, "shap", "perturbation", 100).basis


def test_runs_without_calls_or_time_are_ignored():
    book = CostBook()
    model = FakeModel("m")
    book.record(model, "gradcam", "cam", seconds=0.0, calls=1)
    book.record(model, "gradcam", "cam", seconds=1.0, calls=0)
    assert not book._per_call


@pytest.mark.parametrize(("method", "first", "second", "third"), [
    ("lime", {"samples": 60}, {"samples": 120}, {"samples": 300}),
    ("shap", {"max_evals": 100}, {"max_evals": 200}, {"max_evals": 400}),
    ("integrated_gradients", {"steps": 8}, {"steps": 16}, {"steps": 32}),
])
def test_the_estimate_from_recent_runs_is_within_a_factor_of_two(audio_region_model, speech_sample, method, first,
                                                                 second, third):
    """As in the app: runs are recorded (the first of the process marked as start-up), then a bigger run of the same
    method is estimated and timed."""
    book = CostBook()
    model = audio_region_model
    family = get_method(method).family
    for params in (first, first, second):  # the first run of the process is start-up, then two sizes
        done = explain(model, speech_sample, method, **params)
        book.record(model, method, family, done.seconds, done.model_calls)
    assert "here" in book.estimate(model, method, family, 1).basis  # learnt from the runs, not a bare timing
    estimate = book.estimate(model, method, family, get_method(method).model_calls(model, get_method(method)
                                                                                    .resolve_params(third)))
    actual = explain(model, speech_sample, method, **third)
    ratio = estimate.seconds / actual.seconds
    print(f"{method} {third}: estimated {estimate.seconds:.2f} s, took {actual.seconds:.2f} s, ratio {ratio:.2f}")
    assert 0.5 <= ratio <= 2.0, f"{method}: estimated {estimate.seconds:.2f} s, took {actual.seconds:.2f} s"


def test_a_busy_model_is_not_waited_for(audio_region_model):
    """While another session holds the model (a long explanation), the page gets a rough estimate at once."""
    import threading

    book = CostBook()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with audio_region_model.lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        estimate = book.estimate(audio_region_model, "gradcam", "cam", 1)
        assert "busy" in estimate.basis
    finally:
        release.set()
        holder.join()
    assert "timing of the model" in book.estimate(audio_region_model, "gradcam", "cam", 1).basis
