"""The training config: TOML with grouping tables, flags over TOML, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from xaiscope.cli import build_parser
from xaiscope.errors import ConfigError
from xaiscope.preprocessing import AudioSpec, XraySpec
from xaiscope.training.config import build_spec, load_config, overrides_from_args


def test_toml_tables_group_flat_keys_and_flags_win(tmp_path: Path):
    path = tmp_path / "run.toml"
    path.write_text('data = "/d"\n[model]\narch = "vgg16"\nfreeze = "backbone"\n[optim]\nlr = 1\nepochs = 4\n'
                    '[preprocessing]\nimage_size = 128\nrenderer = "seed-notebook"\n')
    args = build_parser().parse_args(["train", str(path), "--epochs", "2", "--batch_size", "8", "--no-resume"])
    config = load_config(args.config, overrides_from_args(args))
    assert (config.arch, config.freeze, config.lr, config.epochs, config.batch_size) == ("vgg16", "backbone", 1.0, 2, 8)
    assert config.resume is False and config.data == "/d"
    spec = build_spec(config, "audio")
    assert isinstance(spec, AudioSpec) and spec.image_size == 128 and spec.renderer == "seed-notebook"
    xray = build_spec(config, "xray")
    assert isinstance(xray, XraySpec) and xray.image_size == 128


def test_starting_spec_is_kept_unless_overridden():
    base = AudioSpec(window_seconds=3.0, hop_seconds=1.5, pad="none")
    config = load_config(None, {"data": "/d", "image_size": 64})
    spec = build_spec(config, "audio", base)
    assert (spec.window_seconds, spec.pad, spec.image_size) == (3.0, "none", 64)


@pytest.mark.parametrize(("values", "message"), [
    ({"data": "/d", "batchsize": 4}, "Did you mean batch_size"),
    ({"data": "/d", "epochs": "3"}, "'epochs' must be an integer"),
    ({"data": "/d", "freeze": "all"}, "one of 'backbone', 'none'"),
    ({"data": "/d", "epochs": 0}, "'epochs' is out of range"),
    ({}, "no data folder"),
    ({"data": "/d", "window_seconds": -1.0}, "invalid spec"),
])
def test_bad_values_are_config_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        build_spec(load_config(None, values), "audio")


def test_bad_toml_and_duplicate_keys(tmp_path: Path):
    broken = tmp_path / "broken.toml"
    broken.write_text("data = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
    twice = tmp_path / "twice.toml"
    twice.write_text('lr = 1.0\n[optim]\nlr = 2.0\n')
    with pytest.raises(ConfigError, match="appears twice"):
        load_config(twice)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")
