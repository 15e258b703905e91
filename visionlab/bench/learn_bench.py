"""`visionlab bench learn`: do the scene tasks learn within their time budgets on this machine?

Segmentation half (`measure_segment`): generate the training and validation scenes (timed separately, as
`generate_seconds`: generation is not training), train the FCN with SceneConfig.time_budget_s = the budget
(the trainer itself stops at it; `segment_seconds` is its whole wall time, per-epoch validations included),
then score the best epoch's checkpoint on `test_count` held-out frames of a third seed that neither the
training nor the model-selecting validation saw. mIoU is pooled over all those frames, background included.
The machine is shared, so the load average before and after is reported with the figures.

Detection half (`measure_detect`): the same for Faster R-CNN, mAP@0.5 by pycocotools' COCOeval. `main` runs
both halves one after the other (`--task` picks one) and prints one JSON object.
"""

from __future__ import annotations

import argparse
import os
import time

TEST_SEED_OFFSET = 2_000_006  # != 0 and != the validation offset: frames no training decision saw


def _load_average() -> float:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else float("nan")


def default_threads() -> int:
    """torch's own thread count on a quiet machine; 1 when the cores are already oversubscribed (load average
    above the core count), where OpenMP threads that wait for each other at every op lose more than they gain
    (measured here under load 9 on 2 cores: 2 threads trained ≈4× slower than 1)."""
    import torch

    cores = os.cpu_count() or 1
    return 1 if _load_average() > cores else torch.get_num_threads()


def _generate(config, test_count: int) -> tuple[list, list, list, float]:
    """Training, model-selecting validation and test scenes (three seeds), and the seconds they took."""
    from visionlab.core.shapes.scenes import make_scenes
    from visionlab.core.training.scenes.scene_data import VALIDATION_SEED_OFFSET

    started = time.perf_counter()
    size = {"width": config.frame_width, "height": config.frame_height}
    train = make_scenes(config.train_frames, config.seed, **size)
    val = make_scenes(config.val_frames, config.seed + VALIDATION_SEED_OFFSET, **size)
    test = make_scenes(test_count, config.seed + TEST_SEED_OFFSET, **size)
    return train, val, test, time.perf_counter() - started


def measure_segment(budget_s: float = 300, test_count: int = 200, seed: int = 0, train_frames: int = 2000,
                    model_val_frames: int = 100, threads: int = 1, width: int = 16, batch_size: int = 8,
                    lr: float = 1.2e-2, device: str = "cpu") -> dict:
    """Train an FCN for `budget_s` seconds and measure its mIoU on `test_count` held-out frames."""
    import torch

    from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished
    from visionlab.core.training.scenes.scene_data import scenes_to_tensors
    from visionlab.core.training.scenes.segment import build_segmenter, evaluate_segmenter, train_segmenter

    threads = threads or default_threads()
    config = SceneConfig(task="segment", epochs=1000, batch_size=batch_size, lr=lr, width=width,
                         train_frames=train_frames, val_frames=model_val_frames, seed=seed,
                         time_budget_s=budget_s, device=device, threads=threads)
    load_before = _load_average()
    train, val, test, generate_s = _generate(config, test_count)
    epochs: list[dict] = []
    finished: SceneFinished | None = None
    for event in train_segmenter(config, train, val):
        if isinstance(event, SceneEpoch):
            epochs.append({"epoch": event.epoch, "val_miou": round(event.metric, 4),
                           "run_seconds": round(event.seconds, 1)})  # since training began, validations included
        elif isinstance(event, SceneFinished):
            finished = event
    if finished is None or finished.checkpoint is None:
        raise RuntimeError("the segmentation run ended without a checkpoint")
    checkpoint = finished.checkpoint
    model = build_segmenter(checkpoint["config"]["model"], len(checkpoint["config"]["class_names"]))
    model.load_state_dict(checkpoint["state_dict"])
    evaluated = time.perf_counter()
    result = evaluate_segmenter(model.to(device), scenes_to_tensors(test), device=device)
    names = checkpoint["config"]["class_names"]
    return {
        "segment_seconds": round(finished.seconds, 1),
        "segment_budget_s": budget_s,
        "miou": round(result["miou"], 4),
        "miou_target": 0.75,
        "per_class_iou": {name: round(value, 4) for name, value in zip(names, result["per_class_iou"], strict=True)},
        "pixel_accuracy": round(result["pixel_accuracy"], 4),
        "segment_status": finished.status,
        "segment_best_epoch": finished.best_epoch,
        "segment_epochs": epochs,
        "segment_steps": finished.extra.get("steps"),
        "segment_train_frames": len(train),
        "segment_test_frames": len(test),
        "segment_generate_seconds": round(generate_s, 1),
        "segment_test_seconds": round(time.perf_counter() - evaluated, 1),
        "segment_model": checkpoint["config"]["model"],
        "segment_batch_size": batch_size, "segment_lr": lr,
        "segment_bfloat16": finished.extra.get("bfloat16"),
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": _load_average(),
    }


def measure_detect(budget_s: float = 480, test_count: int = 200, seed: int = 0, train_frames: int = 2000,
                   model_val_frames: int = 100, threads: int = 1, width: int = 16, batch_size: int = 8,
                   lr: float = 2e-3, device: str = "cpu") -> dict:
    """Train the Faster R-CNN for `budget_s` seconds and measure its mAP@0.5 (pycocotools) on `test_count`
    held-out frames of the third seed, plus its forward time per frame at 160×120 and 320×240 (the live
    camera's budget). One torch thread unless told otherwise (0: default_threads()): the load of this shared
    machine changes during an 8-minute run, and two threads lose badly as soon as anyone else computes. Measured
    here: two threads from load 1.3 (3.9 at the end) trained on 3072 frames in 480 s at width 32, one thread at
    load 3.6 on 17776 at width 16, where a width-32 frame costs only 1.7× the CPU time; at load ≈12 a forward
    pass took 1.09 s on two threads, 85 ms on one."""
    import numpy as np
    import torch

    from visionlab.core.shapes.scenes import CLASSES
    from visionlab.core.training.scenes.detect import build_detector_model, predict_frames, train_detector
    from visionlab.core.training.scenes.detect_metrics import FrameBoxes, detection_map
    from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished

    config = SceneConfig(task="detect", epochs=1000, batch_size=batch_size, lr=lr, width=width,
                         weight_decay=1e-4, train_frames=train_frames, val_frames=model_val_frames, seed=seed,
                         time_budget_s=budget_s, device=device, threads=threads or default_threads())
    load_before = _load_average()
    train, val, test, generate_s = _generate(config, test_count)
    cpu_started = time.process_time()
    epochs: list[dict] = []
    finished: SceneFinished | None = None
    for event in train_detector(config, train, val):
        if isinstance(event, SceneEpoch):
            epochs.append({"epoch": event.epoch, "val_map50": round(event.metric, 4),
                           "train_loss": round(event.train_loss, 4), "run_seconds": round(event.seconds, 1)})
        elif isinstance(event, SceneFinished):
            finished = event
    train_cpu_s = time.process_time() - cpu_started
    if finished is None or finished.checkpoint is None:
        raise RuntimeError("the detection run ended without a checkpoint")
    checkpoint = finished.checkpoint
    model = build_detector_model(checkpoint["config"]["model"], len(checkpoint["config"]["class_names"]))
    model.load_state_dict(checkpoint["state_dict"])
    model.to(device).eval()
    images = torch.from_numpy(np.stack([scene.image for scene in test])).permute(0, 3, 1, 2).contiguous()
    evaluated = time.perf_counter()
    found = predict_frames(model, images, torch.device(device))
    truths = [FrameBoxes(scene.boxes, scene.labels) for scene in test]
    score = detection_map(truths, found, CLASSES)
    test_s = time.perf_counter() - evaluated
    return {
        "detect_seconds": round(finished.seconds, 1),
        "detect_budget_s": budget_s,
        "map50": round(score.map50, 4),
        "map50_target": 0.50,
        "map50_95": round(score.map50_95, 4),
        "per_class_ap50": {name: round(value, 4) for name, value in score.per_class_ap50.items()},
        "detect_status": finished.status,
        "detect_best_epoch": finished.best_epoch,
        "detect_epochs": epochs,
        "detect_steps": finished.extra.get("steps"),
        "detect_train_and_validate_cpu_seconds": round(train_cpu_s, 1),  # the epochs' validations included
        "detect_train_frames": len(train),
        "detect_test_frames": len(test),
        "detect_generate_seconds": round(generate_s, 1),
        "detect_test_seconds": round(test_s, 1),
        "detect_forward_ms": _forward_ms(model, torch.device(device), seed),
        "detect_model": checkpoint["config"]["model"],
        "detect_batch_size": batch_size, "detect_lr": lr,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": _load_average(),
    }


def _forward_ms(model, device, seed: int, repeats: int = 20) -> dict:
    """Median eval-mode forward time of one scene frame (what the live camera pays per frame), after a
    warm-up; a 320×240 frame goes through the model's own resize to its trained 160×120 first."""
    import statistics

    import torch

    from visionlab.core.shapes.scenes import make_scenes

    times = {}
    with torch.inference_mode():
        for width, height in ((160, 120), (320, 240)):
            image = make_scenes(1, seed + TEST_SEED_OFFSET + 1, width=width, height=height)[0].image
            frame = torch.from_numpy(image).permute(2, 0, 1).float().div(255).to(device)
            samples = []
            for index in range(repeats + 3):
                started = time.perf_counter()
                model([frame])
                if index >= 3:
                    samples.append(time.perf_counter() - started)
            times[f"{width}x{height}"] = round(1000 * statistics.median(samples), 1)
    return times


def _prefixed(figures: dict, prefix: str) -> dict:
    """One half's shared keys (threads, load) under its own name, so both halves fit one JSON object."""
    shared = ("torch_threads", "load_average_before", "load_average_after")
    return {(f"{prefix}_{key}" if key in shared else key): value for key, value in figures.items()}


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(prog="visionlab bench learn")
    parser.add_argument("--task", choices=["both", "segment", "detect"], default="both")
    parser.add_argument("--segment-budget", type=float, default=300.0, help="seconds of FCN training")
    parser.add_argument("--detect-budget", type=float, default=480.0, help="seconds of Faster R-CNN training")
    parser.add_argument("--test-count", type=int, default=200,
                        help="held-out test frames the metrics are measured on (neither trained nor validated on)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-frames", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads (0: segmentation 1 on an overloaded machine, else torch's default; "
                             "detection 1)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if min(args.segment_budget, args.detect_budget) <= 0 or args.test_count < 1 or args.train_frames < 16:
        raise ValueError("the budgets must be positive, --test-count at least 1, --train-frames at least 16")
    figures: dict = {}
    if args.task in ("both", "segment"):
        figures.update(_prefixed(measure_segment(args.segment_budget, args.test_count, args.seed,
                                                 train_frames=args.train_frames, threads=args.threads,
                                                 device=args.device), "segment"))
    if args.task in ("both", "detect"):
        figures.update(_prefixed(measure_detect(args.detect_budget, args.test_count, args.seed,
                                                train_frames=args.train_frames, threads=args.threads or 1,
                                                device=args.device), "detect"))
    return figures
