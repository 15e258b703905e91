"""The per-epoch preview: it draws what the model predicts (checked with an argmax computed here), leaves the
model as the trainer had it, and finds the trainer's own model in a real training generator."""

import numpy as np
import torch

from visionlab.core.shapes.scenes import CLASSES, make_scenes
from visionlab.core.training.scenes.events import SceneConfig, SceneEpoch, SceneFinished
from visionlab.core.training.scenes.run_preview import CLASS_COLOURS, MASK_OPACITY, SCALE, draw_preview
from visionlab.core.training.scenes.segment import build_segmenter, train_segmenter

NAMES = ["background", *CLASSES]


class Oracle(torch.nn.Module):
    """A "segmenter" that returns the scenes' true label maps as logits: what it draws is known exactly."""

    def __init__(self, scenes) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.register_buffer("truth", torch.from_numpy(np.stack([scene.semantic() for scene in scenes])))

    def forward(self, images):
        logits = torch.nn.functional.one_hot(self.truth, len(NAMES)).permute(0, 3, 1, 2).float()
        return {"out": self.scale * logits}


def test_masks_are_drawn_in_each_class_colour_where_the_model_predicts_it():
    scenes = make_scenes(3, seed=11, width=64, height=64)
    preview = draw_preview(Oracle(scenes), "segment", scenes, NAMES, epoch=3)
    for scene, drawn in zip(scenes, preview.images, strict=True):
        enlarged = scene.image.repeat(SCALE, 0).repeat(SCALE, 1)
        labels = scene.semantic().repeat(SCALE, 0).repeat(SCALE, 1)
        background = labels == 0
        assert drawn.shape == enlarged.shape
        assert (drawn[background] == enlarged[background]).all()
        # The colour says the class: what was laid over each shape pixel is nearest its class's colour.
        overlay = (drawn[~background] - (1 - MASK_OPACITY) * enlarged[~background].astype(float)) / MASK_OPACITY
        distances = ((overlay[:, None, :] - np.array(CLASS_COLOURS[:len(NAMES)])[None]) ** 2).sum(-1)
        assert (distances.argmin(1) == labels[~background]).mean() > 0.95
    assert preview.captions == ["100% of pixels right"] * 3
    assert preview.epoch == 3 and [name for name, _ in preview.legend] == list(CLASSES)


def test_the_preview_leaves_the_model_in_the_mode_the_trainer_had_it():
    torch.manual_seed(0)
    model = build_segmenter({"name": "fcn", "width": 4}, len(NAMES))
    model.train()
    scenes = make_scenes(2, seed=11, width=64, height=64)
    preview = draw_preview(model, "segment", scenes, NAMES, epoch=1)
    assert all(module.training for module in model.modules())  # the trainer's next step still trains
    assert len(preview.images) == 2


def test_the_model_found_in_the_generator_is_the_one_being_trained():
    config = SceneConfig(task="segment", epochs=1, batch_size=4, width=4, frame_width=64, frame_height=64,
                         train_frames=8, val_frames=4, threads=1)
    scenes = make_scenes(8, seed=1, width=64, height=64), make_scenes(4, seed=2, width=64, height=64)
    generator = train_segmenter(config, *scenes)
    found = None
    for event in generator:
        if isinstance(event, SceneEpoch):
            found = event.model
        if isinstance(event, SceneFinished):
            finished = event
    assert found is not None
    # One epoch: the best epoch's weights in the checkpoint are the weights the found model ended with.
    for name, tensor in found.state_dict().items():
        torch.testing.assert_close(tensor, finished.checkpoint["state_dict"][name])
