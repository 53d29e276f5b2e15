#!/usr/bin/env bash
# The GPU figures of issue 15, in one go, on a machine with a CUDA device:
#   1. batch Grad-CAM throughput on ResNet50 (images/s, fp32 and the auto precision, batches of 32);
#   2. LIME and SHAP seconds on ResNet50 (this issue's defaults and the earlier tool's 1000 calls);
#   3. AMP training samples/s (a plain loop: ResNet50, SGD, batches of 32, autocast bf16 or fp16 with a grad scaler);
#   4. bf16 and fp16 fidelity against fp32 for every method on the two demo models (benchmarks/fidelity_calls.py
#      --part precision, a few inputs each).
# Usage: benchmarks/gpu_check.sh [PYTHON]   (default: .venv/bin/python, else python3). Stops at once without CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
export PYTHONPATH="${PWD}/src:${PWD}${PYTHONPATH:+:$PYTHONPATH}"

"$PYTHON" - <<'EOF' || { echo "gpu_check: no CUDA device visible to torch; this script needs a GPU machine." >&2; exit 3; }
import sys
import torch
if not torch.cuda.is_available():
    sys.exit(1)
print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, bf16 supported: "
      f"{torch.cuda.is_bf16_supported()}", flush=True)
EOF

"$PYTHON" - <<'EOF'
"""Grad-CAM throughput, LIME and SHAP seconds, AMP training samples/s on ResNet50 (random weights)."""
import time

import numpy as np
import torch
import torchvision

from xaiscope.explainers import get_method
from xaiscope.models import Model, seed_card


def synchronise() -> None:
    torch.cuda.synchronize()


torch.manual_seed(0)
card = seed_card("audio_resnet50")
network = torchvision.models.resnet50(num_classes=1).cuda().eval()
gradcam = get_method("gradcam")
for requested in ("fp32", "auto", "fp16"):
    model = Model(card, network)
    policy = model.set_precision(requested)
    batch = torch.randn(32, 3, 224, 224, device="cuda")
    with torch.inference_mode(), model.forward_precision():  # bare forward throughput for scale
        model.class_view(model.prepare_inputs(batch))
        synchronise()
        started = time.perf_counter()
        for _ in range(5):
            model.class_view(model.prepare_inputs(batch))
        synchronise()
    forward = 5 * 32 / (time.perf_counter() - started)
    params = gradcam.resolve_params({})
    with model.lock, model.forward_precision(reduced_ok=True):
        gradcam.attribute(model, batch[:1], 1, params, 0)  # warm-up
        synchronise()
        started = time.perf_counter()
        for row in range(32):  # one explanation per image: the product explains one input at a time
            gradcam.attribute(model, batch[row:row + 1], 1, params, 0)
        synchronise()
    print(f"ResNet50 {policy.precision}: bare forward {forward:.0f} images/s (batches of 32); "
          f"Grad-CAM {32 / (time.perf_counter() - started):.1f} images/s", flush=True)

model = Model(card, network)
model.set_precision("auto")
picture_input = torch.randn(1, 3, 224, 224, device="cuda")
for name, presets in (("lime", (None, "earlier-tool")), ("shap", (None, "earlier-tool"))):
    method = get_method(name)
    for preset in presets:
        params = method.resolve_params({}, preset)
        with model.lock:
            started = time.perf_counter()
            result = method.attribute(model, picture_input, 1, params, 0)
            synchronise()
        print(f"{method.label} ({preset or 'defaults'}, {method.model_calls(model, params)} calls, "
              f"{result.extras.get('precision')}): {time.perf_counter() - started:.2f} s", flush=True)

training = torchvision.models.resnet50(num_classes=2).cuda().train()
optimiser = torch.optim.SGD(training.parameters(), lr=0.01, momentum=0.9)
dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
images = torch.randn(32, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
labels = torch.randint(0, 2, (32,), device="cuda")
training = training.to(memory_format=torch.channels_last)
for step in range(25):
    if step == 5:
        synchronise()
        started = time.perf_counter()
    with torch.autocast("cuda", dtype=dtype):
        loss = torch.nn.functional.cross_entropy(training(images), labels)
    optimiser.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimiser)
    scaler.update()
synchronise()
print(f"AMP training ({str(dtype).split('.')[-1]}, ResNet50, batches of 32): "
      f"{20 * 32 / (time.perf_counter() - started):.0f} samples/s", flush=True)
print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB; numpy {np.__version__}")
EOF

# Fidelity at reduced precision against fp32, every method, both demo models (the demo models run on the GPU here).
for precision in bf16 fp16; do
  echo "== $precision against fp32"
  XAISCOPE_BENCH_DEVICE=cuda "$PYTHON" benchmarks/fidelity_calls.py --part precision --precision "$precision" \
    --precision-inputs 4 --inputs 4
done
