"""Fidelity against model calls for LIME, SHAP (Partition), KernelSHAP and Occlusion on the two demo models, and
fidelity of every method at reduced precision (bf16) against fp32.

Usage: .venv/bin/python benchmarks/fidelity_calls.py [--inputs 20] [--models demo_audio_mobilenet_v2,...]
           [--part calls,precision] [--precision-inputs 8] [--markdown FILE]

Part ``calls``: for each method and call budget in :data:`BUDGETS`, the maps of ``--inputs`` inputs per model
(:func:`fidelity.demo_inputs`: the bundled samples and deterministic variants, never downloaded) are compared with a
reference run of the same method and settings at 4x the calls (Occlusion: half the stride, about 4x the calls):
mean Spearman rank correlation with the reference map, mean deletion AUC (the ``deletion`` metric's defaults, scored
at fp32) and its mean difference from the reference's. A budget is *at the knee* when the rank correlation is
>= 0.9 and the deletion AUC within 0.02 of the reference; the methods' defaults are the cheapest such budget on both
models. Maps are computed under ``--precision`` (default bf16 where the CPU has it, for candidate and reference alike).

Part ``precision``: every method at its default parameters, once at fp32 and once at the model's reduced precision
(``--precision-inputs`` inputs per model): rank correlation with the fp32 map and deletion-AUC difference. A method
is declared ``reduced_precision_ok`` when the mean rank correlation is >= 0.95 and the AUC difference <= 0.02 on both
models.

Extension point: :data:`BUDGETS` lists, per method, ``(label, params, reference params)``; a new method adds a row
there.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fidelity import (
    BenchInput,
    Fidelity,
    attribution,
    compare,
    deletion_auc,
    demo_inputs,
    reduced_allowed,
    summarise,
)

from xaiscope.explainers import REGISTRY, get_method
from xaiscope.models import Model, load_model

#: ``method -> [(label, params, reference params)]``: each budget is compared with a reference run of the same
#: method and settings at 4x the calls (for Occlusion, half the stride). The earlier defaults were LIME 1000 samples
#: (quickshift), SHAP 1000 evaluations, KernelSHAP 500 coalitions, Occlusion stride 16.
_SLIC50 = {"segmentation": "slic", "segments": 50}
BUDGETS: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {
    "lime": [("200 samples, quickshift", {"samples": 200}, {"samples": 800}),
             ("200 samples, SLIC 50", {"samples": 200, **_SLIC50}, {"samples": 800, **_SLIC50}),
             ("400 samples, quickshift", {"samples": 400}, {"samples": 1600})],
    "shap": [("200 evals", {"max_evals": 200}, {"max_evals": 800}),
             ("400 evals", {"max_evals": 400}, {"max_evals": 1600})],
    "kernel_shap": [("200 coalitions", {"samples": 200}, {"samples": 800})],
    "occlusion": [("patch 32 stride 32", {"patch": 32, "stride": 32}, {"patch": 32, "stride": 16})],
}

RANK_BOUND, AUC_BOUND = 0.9, 0.02
PRECISION_RANK_BOUND = 0.95


def calls_part(model: Model, inputs: list[BenchInput], methods: list[str]) -> list[str]:
    """One table row per method and budget (reference rows included)."""
    rows = []
    for name in methods:
        method = get_method(name)
        references: dict[str, list[tuple[np.ndarray, float]]] = {}
        for label, params, reference_params in BUDGETS[name]:
            with reduced_allowed(name, True):
                key = repr(sorted(reference_params.items()))
                if key not in references:
                    references[key] = []
                    started = time.perf_counter()
                    for item in inputs:
                        reference, _, precision = attribution(model, name, item, reference_params)
                        references[key].append((reference, deletion_auc(model, name, item, reference)))
                    seconds = (time.perf_counter() - started) / len(inputs)
                    calls = method.model_calls(model, method.resolve_params(dict(reference_params)))
                    mean_auc = float(np.mean([auc for _, auc in references[key]]))
                    rows.append(f"| {model.name} | {method.label} | reference: {_describe(reference_params)} | "
                                f"{calls} | 1.000 | {mean_auc:.3f} | 0.000 | {seconds:.2f} | {precision} | |")
                    print(rows[-1], flush=True)
                fidelities: list[Fidelity] = []
                seconds = 0.0
                for item, (reference, reference_auc) in zip(inputs, references[key], strict=True):
                    candidate, spent, precision = attribution(model, name, item, params)
                    seconds += spent
                    fidelities.append(compare(model, name, item, candidate, reference, reference_auc))
            summary = summarise(fidelities)
            calls = method.model_calls(model, method.resolve_params(dict(params)))
            knee = summary["rank"] >= RANK_BOUND and abs(summary["auc_difference"]) <= AUC_BOUND
            rows.append(f"| {model.name} | {method.label} | {label} | {calls} | {summary['rank']:.3f} "
                        f"(min {summary['rank_min']:.2f}) | {summary['auc']:.3f} | "
                        f"{summary['auc_difference']:+.3f} | {seconds / len(inputs):.2f} | {precision} | "
                        f"{'yes' if knee else 'no'} |")
            print(rows[-1], flush=True)
    return rows


def precision_part(model: Model, inputs: list[BenchInput], skip: set[str]) -> list[str]:
    """One row per method: its default map at the model's reduced precision against its fp32 map."""
    rows = []
    for name, method in REGISTRY.items():
        if method.family == "control" or name in skip or method.suits(model) is not None:
            continue
        fidelities = []
        seconds = {"fp32": 0.0, "reduced": 0.0}
        reduced = model.precision
        try:
            for item in inputs:
                with reduced_allowed(name, False):
                    full, spent, _ = attribution(model, name, item)
                    seconds["fp32"] += spent
                with reduced_allowed(name, True):
                    low, spent, reduced = attribution(model, name, item)
                    seconds["reduced"] += spent
                fidelities.append(compare(model, name, item, low, full))
        except Exception as error:  # a library that cannot run reduced: recorded, not hidden
            rows.append(f"| {model.name} | {method.label} | {reduced} | fails: {type(error).__name__}: "
                        f"{str(error)[:60]} | | | | no |")
            print(rows[-1], flush=True)
            continue
        summary = summarise(fidelities)
        ok = summary["rank"] >= PRECISION_RANK_BOUND and summary["auc_abs_difference"] <= AUC_BOUND
        rows.append(f"| {model.name} | {method.label} | {reduced} | {summary['rank']:.3f} (min "
                    f"{summary['rank_min']:.2f}) | {summary['auc_difference']:+.3f} "
                    f"(mean abs {summary['auc_abs_difference']:.3f}) | {seconds['fp32'] / len(inputs):.2f} | "
                    f"{seconds['reduced'] / len(inputs):.2f} | {'yes' if ok else 'no'} |")
        print(rows[-1], flush=True)
    return rows


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in params.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="demo_audio_mobilenet_v2,demo_xray_mobilenet_v2")
    parser.add_argument("--inputs", type=int, default=20)
    parser.add_argument("--methods", default=",".join(BUDGETS))
    parser.add_argument("--part", default="calls,precision")
    parser.add_argument("--precision", default="auto", help="model precision (default auto)")
    parser.add_argument("--precision-inputs", type=int, default=8)
    parser.add_argument("--precision-skip", default="", help="methods left out of the precision part")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this file")
    args = parser.parse_args()
    torch.manual_seed(0)
    parts = args.part.split(",")
    calls_rows = ["| model | method | setting | model calls | rank corr vs reference (min) | deletion AUC | "
                  "AUC - reference AUC | s/input | precision | at the knee |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
    precision_rows = ["| model | method | reduced precision | rank corr vs fp32 (min) | deletion AUC - fp32's | "
                      "s/input fp32 | s/input reduced | within bounds |", "|---|---|---|---|---|---|---|---|"]
    for name in args.models.split(","):
        model = load_model(name)
        if os.environ.get("XAISCOPE_BENCH_DEVICE", "cpu") != "cpu":  # gpu_check.sh: the demo models on the GPU
            model.network.to(os.environ["XAISCOPE_BENCH_DEVICE"])
        model.set_precision(args.precision)
        print(f"{name}: forward passes at {model.precision} ({model.precision_policy.reason})", flush=True)
        inputs = demo_inputs(model, max(args.inputs, args.precision_inputs))
        print(f"{name}: {len(inputs)} inputs, classes explained: "
              f"{np.bincount([item.target for item in inputs], minlength=len(model.classes)).tolist()}", flush=True)
        if "calls" in parts:
            calls_rows += calls_part(model, inputs[:args.inputs], args.methods.split(","))
        if "precision" in parts:
            precision_rows += precision_part(model, inputs[:args.precision_inputs],
                                             set(filter(None, args.precision_skip.split(","))))
        model.set_precision("fp32")
    tables = []
    if "calls" in parts:
        tables.append("\n".join(calls_rows))
    if "precision" in parts:
        tables.append("\n".join(precision_rows))
    print()
    print("\n\n".join(tables))
    if args.markdown:
        args.markdown.write_text("\n\n".join(tables) + "\n")


if __name__ == "__main__":
    main()
