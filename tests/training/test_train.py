"""Training runs end to end on tiny generated data sets: outputs, loss, resume, early stopping, freezing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import load_file

from tests.data.builders import make_chexpert, make_for
from tests.training.conftest import tiny_config
from xaiscope.cli import main
from xaiscope.errors import ResumeError, WeightsMismatchError
from xaiscope.inputs import load_input
from xaiscope.models import load_model
from xaiscope.training import evaluate_checkpoint, train


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory):
    """One two-epoch run on a FoR-like tree (with a corrupt clip), shared by the tests that read its outputs."""
    base = tmp_path_factory.mktemp("run")
    data = make_for(base / "for", {"training": 8, "validation": 3, "testing": 3}, corrupt=True)
    result = train(tiny_config(data, base / "out", epochs=2, cache_dir=str(base / "cache")))
    return data, result


def test_two_epoch_run_loss_falls_and_writes_everything(finished_run):
    _, result = finished_run
    first, second = result.history
    assert second["train_loss"] < first["train_loss"]
    assert first["train_samples"] == second["train_samples"] == 16 and first["train_unreadable"] == 1
    names = {path.name for path in result.output.iterdir()}
    stem = "audio_mobilenet_v3_small_for"
    assert {f"{stem}.safetensors", f"{stem}.json", "last.pt", "metrics.jsonl", "config.toml",
            f"{stem}.testing.metrics.json", f"{stem}.testing.roc.png"} <= names
    lines = (result.output / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    state = torch.load(result.output / "last.pt", weights_only=True)  # no code can run from it
    assert state["epoch"] == 2 and "optimizer" in state and "rng" in state


def test_card_states_labels_spec_data_and_metrics(finished_run):
    _, result = finished_run
    card = load_model(result.checkpoint).card
    assert card.classes == ("fake", "real") and card.num_outputs == 1 and card.alert_class == "fake"
    assert card.preprocessing.image_size == 64 and card.preprocessing.window_seconds == 1.0
    provenance = card.provenance
    splits = provenance["data"]["splits"]
    assert splits["training"]["per_class"] == {"fake": 9, "real": 8}  # broken.wav is indexed, then unreadable
    assert splits["validation"]["samples"] == 6 and splits["testing"]["samples"] == 6
    assert provenance["data"]["unreadable_files"] == 1
    assert provenance["hyperparameters"]["lr"] == 3e-3 and provenance["training"]["epochs_run"] == 2
    for split in ("validation", "testing"):
        metrics = provenance["metrics"][split]
        assert {"accuracy", "per_class", "roc_auc", "eer", "eer_threshold", "confusion_matrix"} <= set(metrics)
        assert set(metrics["per_class"]["fake"]) == {"precision", "recall", "f1", "support"}


def test_evaluation_matches_predict_verdicts(finished_run):
    data, result = finished_run
    model = load_model(result.checkpoint)
    evaluation = evaluate_checkpoint(str(result.checkpoint), str(data), split="testing", num_workers=0,
                                     progress=False, out=result.output / "eval")
    assert evaluation.metrics == {**evaluation.metrics, **{k: v for k, v in result.test_metrics.items()
                                                         if k in ("accuracy", "roc_auc", "eer", "confusion_matrix")}}
    report = json.loads(evaluation.report.read_text())
    assert report["metrics"]["samples"] == 6 and evaluation.roc_picture.is_file()
    # The evaluation's per-clip verdicts are the ones `predict` gives (every window, max aggregation).
    from xaiscope.data import ModelInputDataset, collate, open_split
    from xaiscope.training.loop import Precision, predict
    from xaiscope.training.progress import NullProgress

    split = open_split(data, "testing")
    loader = torch.utils.data.DataLoader(ModelInputDataset(split, model.card.preprocessing, mode="eval"),
                                         batch_size=4, collate_fn=collate)
    predictions = predict(model.network, loader, model.card, Precision(torch.device("cpu")), progress=NullProgress(),
                          task=0)
    for record, row in zip(split.records, predictions.probabilities, strict=True):
        verdict = model.predict(load_input(record.path))
        # Training calibrated the model: predict states the uncalibrated verdict beside the calibrated one.
        raw = verdict.calibrated["uncalibrated"] if verdict.calibrated else verdict.probabilities
        assert row == pytest.approx([raw[name] for name in model.classes], abs=1e-5)
        if verdict.calibrated:
            from xaiscope.trust import apply_temperature

            calibrated = apply_temperature(row[None], verdict.calibrated["temperature"])[0]
            assert calibrated == pytest.approx([verdict.probabilities[name] for name in model.classes], abs=1e-4)


def test_eval_model_command(finished_run, capsys):
    data, result = finished_run
    out = result.output / "cli-eval"
    assert main(["eval-model", str(result.checkpoint), str(data), "--split", "validation", "--num-workers", "0",
                 "--no-progress", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "EER" in text and "true \\ predicted" in text and "precision" in text
    name = result.card.name
    assert (out / f"{name}.validation.metrics.json").is_file()
    assert (out / f"{name}.validation.roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["eval-model", str(result.checkpoint), str(data.parent / "missing"), "--no-progress"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_resume_after_interruption_loses_no_epoch(for_data: Path, tmp_path: Path):
    straight = train(tiny_config(for_data, tmp_path / "straight", epochs=3, scheduler="constant"))

    def interrupt(epoch: int, entry: dict) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(for_data, tmp_path / "broken", epochs=3, scheduler="constant"), on_epoch_end=interrupt)
    saved = torch.load(tmp_path / "broken" / "last.pt", weights_only=True)
    assert saved["epoch"] == 1 and len((tmp_path / "broken" / "metrics.jsonl").read_text().splitlines()) == 1

    epochs_run: list[int] = []
    resumed = train(tiny_config(for_data, tmp_path / "broken", epochs=3, scheduler="constant"),
                    on_epoch_end=lambda epoch, entry: epochs_run.append(epoch))
    assert epochs_run == [2, 3]  # epoch 1 was not trained again
    assert [entry["train_loss"] for entry in resumed.history] == pytest.approx(
        [entry["train_loss"] for entry in straight.history])
    final = torch.load(tmp_path / "broken" / "last.pt", weights_only=True)["network"]
    reference = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)["network"]
    assert all(torch.equal(final[key], reference[key]) for key in reference)  # bit-identical to no interruption

    with pytest.raises(ResumeError, match="lr"):
        train(tiny_config(for_data, tmp_path / "broken", epochs=4, scheduler="constant", lr=0.1))
    fresh = train(tiny_config(for_data, tmp_path / "broken", epochs=1, scheduler="constant", resume=False))
    assert [entry["epoch"] for entry in fresh.history] == [1]


def test_early_stopping(for_data: Path, tmp_path: Path):
    result = train(tiny_config(for_data, tmp_path / "out", epochs=5, monitor="accuracy", min_delta=1.0, patience=1,
                               eval_test=False))
    assert result.stopped_early and len(result.history) == 2 and result.best_epoch == 1
    assert result.test_metrics is None


def test_freeze_backbone_from_local_imagenet_style_weights(for_data: Path, tmp_path: Path):
    torch.manual_seed(1)
    imagenet_like = torchvision.models.mobilenet_v3_small(num_classes=1000).state_dict()
    torch.save(imagenet_like, tmp_path / "imagenet.pth")
    result = train(tiny_config(for_data, tmp_path / "out", epochs=1, freeze="backbone",
                               init=str(tmp_path / "imagenet.pth"), eval_test=False))
    trained = load_file(str(result.checkpoint))
    backbone = [key for key in trained if not key.startswith("classifier.3.")]
    assert all(torch.equal(trained[key], imagenet_like[key]) for key in backbone)  # weights and BN statistics
    assert trained["classifier.3.weight"].shape == (1, 1024)
    assert result.card.provenance["training"]["start"]["head"].startswith("random")

    torch.save(torchvision.models.resnet18(num_classes=1).state_dict(), tmp_path / "resnet.pt")
    with pytest.raises(WeightsMismatchError, match="do not fit mobilenet_v3_small"):
        train(tiny_config(for_data, tmp_path / "other", epochs=1, init=str(tmp_path / "resnet.pt")))


def test_chexpert_run_from_a_toml_file_counts_the_corrupt_image(tmp_path: Path, capsys):
    root = make_chexpert(tmp_path)
    config = tmp_path / "run.toml"
    config.write_text(f'data = "{root}"\n[data_options]\nval_fraction = 0.3\nsplit_seed = 4\n'
                      '[model]\narch = "squeezenet1_1"\n[preprocessing]\nimage_size = 64\n')
    assert main(["train", str(config), "--epochs", "1", "--batch-size", "4", "--num-workers", "0", "--no-progress",
                 "--output", str(tmp_path / "out"), "--freeze", "backbone"]) == 0
    card = load_model(tmp_path / "out" / "xray_squeezenet1_1_chexpert.safetensors").card
    assert card.classes == ("no_opacity", "opacity") and card.alert_class == "opacity"
    data = card.provenance["data"]
    assert data["unreadable_files"] == 1 and "patient00007" in data["unreadable_examples"][0]
    assert data["splits"]["validation"]["per_class"] == {"no_opacity": 1, "opacity": 3}
    assert data["splits"]["testing"]["samples"] == 4 and data["rules"]["uncertainty"] == "U-Ignore"
    assert "eer" not in card.provenance["metrics"]["testing"]  # EER is reported for audio
