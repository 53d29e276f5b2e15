"""The inference precision policy: resolved from the hardware, applied inside the network's forward pass, pinned to
fp32 for methods not declared faithful at reduced precision, restored after a command, and stated in every record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from xaiscope.cli import main
from xaiscope.explainers import explain, get_method
from xaiscope.models import Model, seed_card
from xaiscope.models import precision as precision_module
from xaiscope.models.precision import PrecisionError, resolve_precision


@pytest.fixture
def model() -> Model:
    torch.manual_seed(0)
    return Model(seed_card("audio_mobilenetv2"), torchvision.models.mobilenet_v2(num_classes=1))


class DtypeSeen:
    """Records the dtype of the first convolution's output on every forward pass (a forward hook)."""

    def __init__(self, model: Model) -> None:
        self.dtypes: list[torch.dtype] = []
        self.handle = model.network.features[0][0].register_forward_hook(
            lambda _module, _inputs, output: self.dtypes.append(output.dtype))

    def __enter__(self) -> DtypeSeen:
        return self

    def __exit__(self, *_: object) -> None:
        self.handle.remove()


@pytest.fixture
def reduced_ok() -> Iterator[None]:
    """Grad-CAM declared faithful at reduced precision for the test, whatever the benchmark decided."""
    method = type(get_method("gradcam"))
    saved = method.reduced_precision_ok
    method.reduced_precision_ok = True
    yield
    method.reduced_precision_ok = saved


def test_fp16_on_a_cpu_is_refused_with_what_to_do():
    with pytest.raises(PrecisionError) as caught:
        resolve_precision("fp16", "cpu")
    assert "CUDA" in caught.value.problem and "bf16" in caught.value.hint


def test_auto_follows_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(precision_module, "cpu_bf16_flags", lambda: ("amx_bf16",))
    policy = resolve_precision("auto", "cpu")
    assert (policy.precision, policy.channels_last, policy.requested) == ("bf16", True, "auto")
    assert "amx_bf16" in policy.reason
    monkeypatch.setattr(precision_module, "cpu_bf16_flags", lambda: ())
    assert resolve_precision("auto", "cpu").precision == "fp32"
    assert resolve_precision("bf16", "cpu", picture_input=False).channels_last is False


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n")
    assert precision_module.cpu_bf16_flags.__wrapped__(info) == ("avx512_bf16",)
    assert precision_module.cpu_bf16_flags.__wrapped__(tmp_path / "missing") == ()


def test_bf16_runs_inside_the_forward_pass_and_the_prediction_says_so(model, speech_sample):
    with DtypeSeen(model) as seen:
        fp32 = model.predict(speech_sample)
        model.set_precision("bf16")
        bf16 = model.predict(speech_sample)
    assert seen.dtypes[0] == torch.float32 and seen.dtypes[-1] == torch.bfloat16
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert bf16.to_dict()["precision"] == "bf16"
    assert model.network.features[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert model.network.features[0][0].weight.dtype == torch.float32  # autocast: the weights stay float32
    assert abs(fp32.probabilities["real"] - bf16.probabilities["real"]) < 0.05
    model.set_precision("fp32")
    assert model.network.features[0][0].weight.is_contiguous()
    assert model.predict(speech_sample) is fp32  # the cache keeps one verdict per precision


def test_a_method_declared_faithful_runs_reduced_with_gradients(model, speech_sample, reduced_ok):
    model.set_precision("bf16")
    model.predict(speech_sample)  # the verdict first, as the app and the CLI do: the explanation's one forward pass
    with DtypeSeen(model) as seen:
        explanation = explain(model, speech_sample, "gradcam")
    assert seen.dtypes == [torch.bfloat16]
    assert explanation.record()["precision"] == "bf16"
    assert np.isfinite(explanation.attribution).all() and explanation.attribution.max() > 0


def test_a_method_not_declared_faithful_runs_at_fp32(model, speech_sample):
    method = type(get_method("gradcam"))
    saved = method.reduced_precision_ok
    method.reduced_precision_ok = False
    try:
        model.set_precision("bf16")
        model.predict(speech_sample)
        with DtypeSeen(model) as seen:
            explanation = explain(model, speech_sample, "gradcam")
    finally:
        method.reduced_precision_ok = saved
    assert seen.dtypes == [torch.float32]
    assert explanation.record()["precision"] == "fp32"


def test_the_audit_fingerprint_states_the_precision(model, reduced_ok):
    from xaiscope.evaluation.audit import AuditSource, audit_settings

    model.set_precision("bf16")
    source = AuditSource(inputs=[], description={}, ground_truth={})
    settings = audit_settings(model, source, {"gradcam": {}, "random": {}}, {}, seed=0, target=None)
    assert settings["precision"]["model"]["precision"] == "bf16"
    assert settings["precision"]["methods"]["gradcam"] == "bf16"
    assert settings["precision"]["methods"]["random"] == "fp32"


@pytest.fixture
def seed_weights(workdir: Path, seed_mobilenet_state) -> Path:
    (workdir / "weights").mkdir()
    torch.save(seed_mobilenet_state, workdir / "weights" / "audio_mobilenetv2.pt")
    return workdir


def test_the_cli_flag_overrides_and_the_model_is_restored_after(seed_weights: Path, capsys):
    from tests.conftest import audio_bytes, tone
    from xaiscope.models import load_model

    (seed_weights / "a.wav").write_bytes(audio_bytes(tone(2.0), 16000))
    for requested in ("fp32", "bf16"):
        assert main(["predict", "a.wav", "--model", "audio_mobilenetv2", "--json", "--precision", requested]) == 0
        assert json.loads(capsys.readouterr().out)[0]["precision"] == requested
        assert load_model("audio_mobilenetv2").precision == "fp32"  # the shared model is left as it was
    assert main(["predict", "a.wav", "--model", "audio_mobilenetv2", "--precision", "fp16"]) == 2
    assert "CUDA" in capsys.readouterr().err
