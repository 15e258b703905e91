"""`visionlab bench features`: how fast a new input becomes 64 drawn maps, and what the capture hook costs.

    visionlab bench features [--model resnet18] [--layer conv1] [--repeats 30] [--size 224] --json

- layer_ms: from a new input image (H×W×3 uint8) to all maps of the layer drawn in the real panel
  offscreen: resize + normalize, forward pass stopped at the layer, mosaic, upload, widget painted
  (grab). Median of `repeats` runs, each on a different image. Target ≤ 50 ms for ResNet-18's conv1.
- layer_with_predictions_ms: the same with trained-looking weights (a state dict saved to a local file and
  loaded back, so the panel treats the model as pretrained): the panel's own path, set_image → its JobRunner
  thread runs view_layer with one shared forward pass, top-5 and Grad-CAM (autograd.grad on the CAM layer,
  parameters frozen) → maps drawn. Median of `repeats`. Target ≤ 50 ms for ResNet-18's conv1.
- hook_overhead_ratio: a full forward pass that also captures the layer, over a bare full forward pass,
  interleaved pairs, median of the per-pair ratios. Target ≤ 1.10.
- stop_speedup: bare full forward over the stopped capture (what stopping at the layer saves).
Weights: the store's when present, else random init (timings do not depend on the weight values).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="visionlab bench features", exit_on_error=False)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--layer", default="conv1")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", type=int, default=224, help="input side in pixels (small: a quick check)")
    args = parser.parse_args(argv)
    if args.repeats < 3:
        raise ValueError("--repeats must be at least 3")
    if not 32 <= args.size <= 1024:
        raise ValueError("--size must be 32..1024 pixels")
    return args


def _local_state_dict_model(opened, folder: str):
    """The same architecture with weights from a state dict saved to and loaded from a local file."""
    import torch

    from visionlab.core.features.models import _untrained

    path = os.path.join(folder, f"{opened.loaded.name}-bench.pth")
    torch.save(opened.loaded.model.state_dict(), path)
    model = _untrained(opened.loaded.name)
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval()


def _with_predictions(app, panel, opened, images, args) -> list[float]:
    """Milliseconds from a new image to drawn maps, top-5 and Grad-CAM, through the panel's JobRunner."""
    import dataclasses
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        model = _local_state_dict_model(opened, folder)
    loaded = dataclasses.replace(opened.loaded, model=model, pretrained=True, weights_label="local state dict")
    panel.opened = dataclasses.replace(opened, loaded=loaded)
    panel.layer = args.layer

    def timed(image) -> float:
        before = panel.view
        start = time.perf_counter()
        panel.set_image(image)            # queues view_layer(predict=True) on the panel's job thread
        deadline = start + 60
        while (panel.view is before or panel.jobs.busy) and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.0002)
        if panel.view is before or not panel.view.predictions or panel.view.cam is None:
            raise RuntimeError("the panel did not show maps, top-5 and Grad-CAM within 60 s")
        panel.maps.grid.grab()
        return (time.perf_counter() - start) * 1000

    for index in range(args.warmup):
        timed(images[index % len(images)])
    return [timed(images[i % len(images)]) for i in range(args.repeats)]


def main(argv: list[str]) -> dict[str, Any]:
    args = _parse(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import torch

    from visionlab.core.features.capture import capture_activation, forward_with_capture
    from visionlab.core.features.viewer import model_input, open_model, view_layer
    from visionlab.qt.app import create_application
    from visionlab.qt.features.panel import FeaturesPanel

    app = create_application([])
    opened = open_model(args.model)
    loaded = opened.loaded
    if args.size != loaded.input_shape[1]:
        from visionlab.core.features.layers import analyze_model

        loaded.input_shape = (loaded.input_shape[0], args.size, args.size)
        opened.summary = analyze_model(loaded.model, loaded.input_shape)
    layer_info = opened.summary.by_name.get(args.layer)
    if layer_info is None or not layer_info.has_maps:
        maps = [layer.name for layer in opened.summary.layers if layer.has_maps and layer.is_leaf][:8]
        raise ValueError(f"--layer must be a layer of {args.model} with maps, e.g. {', '.join(maps)}")
    panel = FeaturesPanel()
    panel.resize(1400, 900)
    panel.show()
    panel.opened = opened
    panel.layer = args.layer
    app.processEvents()
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(8)]

    def new_input_to_drawn_maps(image) -> float:
        start = time.perf_counter()
        view = view_layer(loaded, image, args.layer)   # the job the panel runs in its worker
        panel._on_view(view)                            # what the panel does when the job is done
        panel.maps.grid.grab()                               # paint the maps widget now (offscreen)
        return (time.perf_counter() - start) * 1000

    for index in range(args.warmup):
        new_input_to_drawn_maps(images[index % len(images)])
    layer_times = [new_input_to_drawn_maps(images[i % len(images)]) for i in range(args.repeats)]
    channels = int(panel.view.activation.shape[0])

    _, batch = model_input(loaded, images[0])

    def bare() -> float:
        start = time.perf_counter()
        with torch.inference_mode():
            loaded.model(batch)
        return time.perf_counter() - start

    def hooked() -> float:
        start = time.perf_counter()
        forward_with_capture(loaded.model, args.layer, batch)
        return time.perf_counter() - start

    def stopped() -> float:
        start = time.perf_counter()
        capture_activation(loaded.model, args.layer, batch)
        return time.perf_counter() - start

    for _ in range(args.warmup):
        bare(), hooked(), stopped()
    ratios, bare_times, stopped_times = [], [], []
    for index in range(args.repeats):
        # Alternate the order so a slow moment of the shared machine hits both sides alike.
        if index % 2:
            hooked_time, bare_time = hooked(), bare()
        else:
            bare_time, hooked_time = bare(), hooked()
        ratios.append(hooked_time / bare_time)
        bare_times.append(bare_time)
        stopped_times.append(stopped())
    predictions_times = _with_predictions(app, panel, opened, images, args)
    panel.shutdown()
    panel.close()
    return {
        "model": args.model,
        "layer": args.layer,
        "weights": "pretrained" if loaded.pretrained else "random-init",
        "channels_drawn": channels,
        "repeats": args.repeats,
        "layer_ms": round(statistics.median(layer_times), 2),
        "layer_ms_min": round(min(layer_times), 2),   # the machine's quiet moments: what the code costs
        "layer_ms_p90": round(sorted(layer_times)[int(0.9 * (len(layer_times) - 1))], 2),
        "layer_target_ms": 50,
        "layer_with_predictions_ms": round(statistics.median(predictions_times), 2),
        "predictions_weights": "state dict saved to a local file and loaded back",
        "layer_with_predictions_ms_min": round(min(predictions_times), 2),
        "layer_with_predictions_target_ms": 50,
        "input_size": args.size,
        "hook_overhead_ratio": round(statistics.median(ratios), 4),
        "hook_overhead_target": 1.10,
        "full_forward_ms": round(statistics.median(bare_times) * 1000, 2),
        "stopped_forward_ms": round(statistics.median(stopped_times) * 1000, 2),
        "stop_speedup": round(statistics.median(bare_times) / statistics.median(stopped_times), 1),
        "torch_threads": torch.get_num_threads(),
    }
