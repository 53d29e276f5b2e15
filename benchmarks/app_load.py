"""Load on one server: N simulated users at once on one shared model, through the library as the app calls it.

Usage: .venv/bin/python benchmarks/app_load.py [--users 1,3,8] [--seconds 40] [--design lock,replicas]

Each simulated user is a thread doing what a session of the app does (``xaiscope.app.logic``): it decodes a
recording (``cached_sample``: the bundled real speech, 2 s, or the partially fake clip, 5 s), classifies it
(``Model.predict``, every window), then explains it with Grad-CAM, LIME (50 samples) and SHAP (60 evaluations)
through ``cached_explain`` with a fresh cache (so nothing is served from memory), over and over, for a bounded
time. The model is the bundled ``demo_audio_mobilenet_v2`` (a real MobileNetV2).

Before the load, every (recording, request) is computed once alone, in a process of its own: under load, a
result counts as an **error** when it raised, or when its verdict, map or model-call count differs from the lone
run's (maps compared with a relative tolerance of 1e-4; a map computed through another session's hooks differs by
far more).

Designs (``--design``): ``lock`` shares one model among all users, every forward pass under ``model.lock`` (what
xaiscope does); ``replicas`` gives each user its own copy of the network (per-session replicas, the alternative);
``unlocked`` is the code before issue 11 (forward passes outside explanations not under the lock), to show what
went wrong.
Each (design, N) runs in a fresh process, so the peak resident memory it reports is that run's.

Reported per run: requests served, requests per minute, latency percentiles (p50, p95, max) per request kind and
overall, errors, peak resident memory (MB).
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "demo_audio_mobilenet_v2"
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("predict", {}),
    ("gradcam", {}),
    ("lime", {"samples": 50}),
    ("shap", {"max_evals": 60}),
]


def _load() -> tuple[Any, list[Any]]:
    from xaiscope.app.logic import cached_sample
    from xaiscope.inputs.bundled import bundled_samples
    from xaiscope.models import load_model

    model = load_model(MODEL)
    chosen = [s for s in bundled_samples("audio") if s.path.name in ("real_speech.wav", "partially_fake.wav")]
    samples = [cached_sample(s.path.read_bytes(), s.path.name, "audio") for s in chosen]
    return model, samples


def _run(model: Any, sample: Any, kind: str, params: dict[str, Any], cache: Any, seed: int) -> Any:
    """One request as the app makes it; returns a comparable result."""
    from xaiscope.app.logic import cached_explain

    if kind == "predict":
        prediction = model.predict(sample)
        return ("predict", prediction.label, tuple(round(v, 5) for v in prediction.probabilities.values()),
                tuple(tuple(w.probabilities.values()) for w in prediction.windows))
    explanation, _ = cached_explain(cache, model, sample, kind, params, seed=seed)
    return (kind, explanation.model_calls, explanation.attribution)


def _same(result: Any, reference: Any) -> bool:
    if result[0] == "predict":
        return result == reference
    return result[1] == reference[1] and np.allclose(result[2], reference[2], rtol=1e-4,
                                                     atol=1e-4 * float(np.abs(reference[2]).max() or 1.0))


def compute_references(path: Path) -> None:
    """Every (recording, request) computed alone, written to ``path`` (a pickle this script reads back)."""
    from xaiscope.app.logic import ExplanationCache

    model, samples = _load()
    references = {(s.sha256, kind): _run(model, s, kind, params, ExplanationCache(), 0)
                  for s in samples for kind, params in REQUESTS}
    path.write_bytes(pickle.dumps(references))


def run_once(users: int, seconds: float, design: str, references_path: Path) -> dict[str, Any]:
    """Run the load in this process and return its figures."""
    import torch

    from xaiscope.app.logic import ExplanationCache

    if design == "unlocked":  # the code before issue 11: Model.probabilities without the lock
        from xaiscope.models import Model

        def probabilities(self: Any, inputs: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return torch.softmax(self.class_logits(inputs).float(), dim=1)

        Model.probabilities = probabilities  # type: ignore[method-assign]
    model, samples = _load()
    references = pickle.loads(references_path.read_bytes())
    # Warm up once alone (library imports, SHAP's compiled kernels), as a server that has served a request is.
    for kind, params in REQUESTS:
        _run(model, samples[0], kind, params, ExplanationCache(), 0)
    latencies: dict[str, list[float]] = {kind: [] for kind, _ in REQUESTS}
    errors: list[str] = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def user(index: int) -> None:
        mine = model
        if design == "replicas":
            from xaiscope.models import Model

            mine = Model(model.card, copy.deepcopy(model.network), model.weights_path)
        step = index
        while time.monotonic() < stop:
            sample = samples[step % len(samples)]
            kind, params = REQUESTS[step % len(REQUESTS)]
            step += 1
            started = time.perf_counter()
            try:
                result = _run(mine, sample, kind, params, ExplanationCache(), 0)
                wrong = not _same(result, references[(sample.sha256, kind)])
            except Exception as error:  # counted, never hidden
                result, wrong = None, True
                with lock:
                    errors.append(f"{kind}: {type(error).__name__}: {error}")
            elapsed = time.perf_counter() - started
            with lock:
                latencies[kind].append(elapsed)
                if wrong and result is not None:
                    errors.append(f"{kind} on {sample.name}: differs from the lone run")

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    every = [x for values in latencies.values() for x in values]

    def percentiles(values: list[float]) -> dict[str, float]:
        if not values:
            return {"n": 0}
        return {"n": len(values), "p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
                "max": float(max(values))}

    return {"design": design, "users": users, "seconds": round(wall, 1), "torch_threads": torch.get_num_threads(),
            "served": len(every), "per_minute": round(len(every) / wall * 60, 1), "errors": len(errors),
            "error_examples": errors[:3], "latency": percentiles(every),
            "by_kind": {kind: percentiles(values) for kind, values in latencies.items()},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="1,3,8")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--design", default="lock")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--references", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.users == "0":
            compute_references(args.references)
        else:
            print(json.dumps(run_once(int(args.users), args.seconds, args.design, args.references)))
        return
    folder = Path(tempfile.mkdtemp(prefix="xaiscope-load-"))
    references = folder / "references.pickle"
    began = time.monotonic()
    subprocess.run([sys.executable, __file__, "--child", "--users", "0", "--references", str(references)], check=True)
    print(f"lone references: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    rows = []
    for design in args.design.split(","):
        for users in (int(n) for n in args.users.split(",")):
            done = subprocess.run([sys.executable, __file__, "--child", "--users", str(users), "--seconds",
                                   str(args.seconds), "--design", design, "--references", str(references)],
                                  stdout=subprocess.PIPE, text=True, check=True)
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print("| design | users | seconds | requests served | per minute | p50 s | p95 s | max s | "
          "p50 predict / gradcam / lime / shap s | errors | peak memory MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        kinds = " / ".join(f"{row['by_kind'][k].get('p50', float('nan')):.2f}" for k, _ in REQUESTS)
        latency = row["latency"]
        print(f"| {row['design']} | {row['users']} | {row['seconds']} | {row['served']} | {row['per_minute']} | "
              f"{latency.get('p50', 0):.2f} | {latency.get('p95', 0):.2f} | {latency.get('max', 0):.2f} | {kinds} | "
              f"{row['errors']} | {row['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
