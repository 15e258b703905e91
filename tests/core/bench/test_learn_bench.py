"""`visionlab bench learn` end to end at a toy size: both halves run, score the frames they say they score,
and keep the test frames apart from the training ones."""

from __future__ import annotations

import numpy as np

from visionlab.bench import learn_bench


def test_a_tiny_run_scores_its_own_test_frames():
    figures = learn_bench.main(["--segment-budget", "1", "--detect-budget", "1", "--test-count", "3",
                                "--train-frames", "16", "--threads", "1"])
    assert figures["segment_test_frames"] == 3 and figures["detect_test_frames"] == 3
    assert 0.0 <= figures["miou"] <= 1.0 and 0.0 <= figures["map50"] <= 1.0
    assert figures["segment_status"] == figures["detect_status"] == "time budget"
    assert "detect_train_and_validate_cpu_seconds" in figures


def test_test_frames_are_none_of_the_training_or_validation_frames():
    from visionlab.core.training.scenes.events import SceneConfig

    config = SceneConfig(task="segment", train_frames=20, val_frames=5)
    train, val, test, _seconds = learn_bench._generate(config, 5)
    seen = {scene.image.tobytes() for scene in train + val}
    assert len(test) == 5 and not any(scene.image.tobytes() in seen for scene in test)
    assert not np.array_equal(test[0].image, val[0].image)
