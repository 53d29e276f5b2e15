"""Data-parallel training: the sampler deals every sample exactly once per epoch, and a real two-process
``torchrun`` run on the CPU (gloo) proves it end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.conftest import TINY, make_for_17
from xaiscope.training.distributed import ShardSampler


@pytest.mark.parametrize(("size", "world_size"), [(17, 2), (17, 3), (4, 4), (3, 4)])
def test_shards_cover_every_index_once_without_padding(size: int, world_size: int):
    for epoch in (1, 2):
        shards = []
        for rank in range(world_size):
            sampler = ShardSampler(size, rank, world_size, shuffle=True, seed=5)
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
            assert len(sampler) == len(shards[-1])
        seen = [index for shard in shards for index in shard]
        assert sorted(seen) == list(range(size))
        assert max(map(len, shards)) - min(map(len, shards)) <= 1
    first = ShardSampler(size, 0, world_size, seed=5)
    first.set_epoch(1)
    second = ShardSampler(size, 0, world_size, seed=5)
    second.set_epoch(2)
    assert size < 5 or list(first) != list(second)  # reshuffled every epoch


def test_torchrun_two_processes_see_each_sample_once_per_epoch(tmp_path: Path):
    data = make_for_17(tmp_path / "for")
    output = tmp_path / "run"
    flags = []
    for key, value in {**TINY, "epochs": 2, "data": str(data), "output": str(output)}.items():
        if isinstance(value, bool):
            flags.append(f"--{'' if value else 'no-'}{key.replace('_', '-')}")
        else:
            flags += [f"--{key.replace('_', '-')}", str(value)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    environment.pop("XAISCOPE_MODELS", None)
    completed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "xaiscope", "train", *flags, "--record-samples", "--device", "cpu"],
        cwd=tmp_path, capture_output=True, text=True, env=environment, timeout=240)
    assert completed.returncode == 0, completed.stderr[-3000:]
    for epoch in (1, 2):
        record = json.loads((output / "samples" / f"epoch_{epoch:03d}.json").read_text())
        ranks = record["ranks"]
        assert len(ranks) == 2 and sorted(map(len, ranks)) == [8, 9]  # 17 is not divisible by 2: no padding
        assert sorted(ranks[0] + ranks[1]) == list(range(17))  # every training sample exactly once
    log = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    assert [(entry["world_size"], entry["train_samples"], entry["train_unique"], entry["train_duplicates"])
            for entry in log] == [(2, 17, 17, 0), (2, 17, 17, 0)]
    card = json.loads((output / "audio_mobilenet_v3_small_for.json").read_text())
    assert card["provenance"]["training"]["world_size"] == 2 and card["provenance"]["training"]["backend"] == "gloo"
    assert card["provenance"]["metrics"]["testing"]["samples"] == 4
    # Only rank 0 writes: one state file, one log line per epoch, no per-rank leftovers.
    assert sorted(path.name for path in output.iterdir() if path.suffix in (".pt", ".jsonl", ".tmp")) == [
        "last.pt", "metrics.jsonl"]
